package build

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/containerd/v2/pkg/archive/compression"
	cfs "github.com/containerd/continuity/fs"
	"github.com/moby/sys/user"

	"github.com/berth/berth/fscopy"
)

// Owner is the numeric owner files are written with.
type Owner struct{ UID, GID int }

// copier writes files into a mounted root filesystem for COPY and ADD.
// Every write goes through an fscopy.Root: paths are resolved inside root
// (a symlink in the image, even an absolute one, or one an archive just
// made, never leads a write out of it), and the file written is never
// followed: a symlink there is replaced, not written through.
type copier struct {
	root string
	// r is root, opened while a copy runs (see withRoot).
	r *fscopy.Root
	// owner is --chown's owner; nil keeps root (COPY) or the archive's (ADD).
	owner *Owner
	// mode is --chmod's mode for files and directories, or nil.
	mode *fs.FileMode
	// dirTimes are the directories whose times are set once written.
	dirTimes []dirTime
	// linked maps a source file with several links to where the copy
	// wrote it first: its other names become hard links to that.
	linked map[fileID]string
}

type fileID struct{ dev, ino uint64 }

type dirTime struct {
	// path is the directory's path in the image.
	path  string
	mtime time.Time
}

// withRoot runs fn with the root open (opening it for fn alone unless a
// caller further up did).
func (c *copier) withRoot(fn func() error) error {
	if c.r != nil {
		return fn()
	}
	r, err := fscopy.OpenRoot(c.root)
	if err != nil {
		return err
	}
	c.r = r
	defer func() {
		r.Close()
		c.r = nil
	}()
	return fn()
}

// destination resolves COPY's destination: relative to the working
// directory, and a directory when it ends in "/" or several sources are
// copied.
func destination(dest, workdir string, sources int) (string, bool) {
	dir := strings.HasSuffix(dest, "/") || strings.HasSuffix(dest, "/.") || dest == "." || sources > 1
	if !path.IsAbs(dest) {
		if workdir == "" {
			workdir = "/"
		}
		dest = path.Join(workdir, dest)
	}
	return path.Clean(dest), dir
}

// isDir reports whether the image path p is a directory (following links
// inside the image).
func (c *copier) isDir(p string) bool {
	var dir bool
	c.withRoot(func() error { //nolint:errcheck // an error is "not a directory"
		st, err := c.r.Stat(p)
		dir = err == nil && st.IsDir()
		return err
	})
	return dir
}

// mkdirAll makes the image directory p and its missing parents (following
// symlinks inside the image), owned by the copy's owner (root by
// default), mode 0755.
func (c *copier) mkdirAll(p string) error {
	return c.withRoot(func() error {
		made, err := c.r.MkdirAll(p, 0o755)
		if err == nil {
			o := c.ownerOr(Owner{})
			for _, d := range made {
				if err = c.r.Lchown(d, o.UID, o.GID); err != nil {
					break
				}
			}
		}
		if err != nil {
			return fmt.Errorf("make directory %s in the image: %w", path.Clean("/"+p), err)
		}
		return nil
	})
}

func (c *copier) ownerOr(def Owner) Owner {
	if c.owner != nil {
		return *c.owner
	}
	return def
}

// copyFiles copies files selected from src to dest (an image path; a
// directory when destDir). A selected directory's contents go into dest;
// a selected file goes to dest, or into it when dest is a directory.
func (c *copier) copyFiles(src *Context, files []File, dest string, destDir bool) error {
	return c.withRoot(func() error {
		if !destDir && c.isDir(dest) {
			destDir = true
		}
		rootIsDir := map[string]bool{}
		for _, f := range files {
			if f.Rel == f.Root && f.Info.IsDir() {
				rootIsDir[f.Root] = true
			}
		}
		for _, f := range files {
			var target string
			switch {
			case rootIsDir[f.Root] && f.Rel == f.Root:
				// A directory source gives its contents; the destination
				// directory is made if missing and otherwise left as it is.
				if err := c.mkdirAll(dest); err != nil {
					return fmt.Errorf("copy %s to %s: %w", f.Rel, dest, err)
				}
				continue
			case rootIsDir[f.Root]:
				if f.Root == "." {
					target = path.Join(dest, f.Rel)
				} else {
					target = path.Join(dest, strings.TrimPrefix(f.Rel, f.Root+"/"))
				}
			case destDir:
				target = path.Join(dest, path.Base(f.Rel))
			default:
				target = dest
			}
			if err := c.mkdirAll(path.Dir(target)); err != nil {
				return err
			}
			if err := c.writeFile(filepath.Join(src.Root, filepath.FromSlash(f.Rel)), f, target); err != nil {
				return fmt.Errorf("copy %s to %s: %w", f.Rel, target, err)
			}
		}
		return c.finish()
	})
}

// writeFile writes one file, directory or symlink at the image path
// target. What is there is replaced unless both are directories (then
// the directory takes the source's owner and mode); a directory is not
// replaced by a file.
func (c *copier) writeFile(srcPath string, f File, target string) error {
	mode := f.Info.Mode()
	perm := mode.Perm() | mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)
	if c.mode != nil {
		perm = *c.mode
	}
	o := c.ownerOr(Owner{})
	switch {
	case mode.IsDir():
		return c.writeDir(target, perm, o, f.Info.ModTime())
	case mode&fs.ModeSymlink != 0:
		return c.writeSymlink(target, f.Link, o, f.Info.ModTime())
	case mode.IsRegular():
		var id fileID
		if st, ok := f.Info.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
			id = fileID{uint64(st.Dev), st.Ino}
			if first, ok := c.linked[id]; ok {
				if err := c.clear(target, false); err != nil {
					return err
				}
				return c.r.Link(first, target)
			}
			if c.linked == nil {
				c.linked = map[fileID]string{}
			}
			c.linked[id] = target
		}
		in, err := os.Open(srcPath)
		if err != nil {
			return err
		}
		defer in.Close()
		return c.writeRegular(target, in, perm, o, f.Info.ModTime())
	}
	return fmt.Errorf("%s is not a regular file, directory or symlink", f.Rel)
}

// clear makes room for a file at the image path target: a non-directory
// there is removed (a symlink itself, never its target); a directory is
// removed with all it holds when replaceDir (as an archive's entry
// replaces one), and is otherwise an error.
func (c *copier) clear(target string, replaceDir bool) error {
	st, err := c.r.Lstat(target)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case !st.IsDir():
		return c.r.Remove(target)
	case replaceDir:
		return c.r.RemoveAll(target)
	}
	return fmt.Errorf("a directory is in the way")
}

// writeDir makes the directory target, or gives an existing one (not a
// symlink to one: that is replaced) the owner, mode and time.
func (c *copier) writeDir(target string, perm fs.FileMode, o Owner, mtime time.Time) error {
	st, err := c.r.Lstat(target)
	switch {
	case err == nil && !st.IsDir():
		if err := c.r.Remove(target); err != nil {
			return err
		}
		fallthrough
	case errors.Is(err, fs.ErrNotExist):
		if err := c.r.Mkdir(target, 0o700); err != nil {
			return err
		}
	case err != nil:
		return err
	}
	if err := c.r.Lchown(target, o.UID, o.GID); err != nil {
		return err
	}
	if err := c.r.Lchmod(target, perm); err != nil { // after chown, which clears setuid bits
		return err
	}
	c.dirTimes = append(c.dirTimes, dirTime{target, mtime})
	return nil
}

// writeSymlink makes target a symlink to link, written as it is: it is
// resolved inside the container whenever it is followed.
func (c *copier) writeSymlink(target, link string, o Owner, mtime time.Time) error {
	if err := c.clear(target, false); err != nil {
		return err
	}
	if err := c.r.Symlink(link, target); err != nil {
		return err
	}
	if err := c.r.Lchown(target, o.UID, o.GID); err != nil {
		return err
	}
	return c.r.Lchtimes(target, mtime)
}

// writeRegular writes a regular file at the image path target from r.
func (c *copier) writeRegular(target string, r io.Reader, perm fs.FileMode, o Owner, mtime time.Time) error {
	if err := c.clear(target, false); err != nil {
		return err
	}
	out, err := c.r.Create(target)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, r)
	if err == nil {
		err = out.Chown(o.UID, o.GID)
	}
	if err == nil {
		err = out.Chmod(perm) // after chown, which clears setuid bits
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return c.r.Lchtimes(target, mtime)
}

// finish sets directory times, deepest first, once their contents are
// in. A directory replaced meanwhile by a symlink gets the times itself.
func (c *copier) finish() error {
	sort.SliceStable(c.dirTimes, func(i, j int) bool { return len(c.dirTimes[i].path) > len(c.dirTimes[j].path) })
	for _, d := range c.dirTimes {
		if err := c.r.Lchtimes(d.path, d.mtime); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	c.dirTimes = nil
	return nil
}

// writeContent writes a file given inline (COPY heredoc, ADD URL) at the
// image path target with mode perm.
func (c *copier) writeContent(target string, r io.Reader, perm fs.FileMode, mtime time.Time) error {
	if c.mode != nil {
		perm = *c.mode
	}
	return c.withRoot(func() error {
		if err := c.mkdirAll(path.Dir(target)); err != nil {
			return err
		}
		return c.writeRegular(target, r, perm, c.ownerOr(Owner{}), mtime)
	})
}

// openArchive returns a reader of the tar archive in file, decompressed,
// or nil when the file is not a (possibly compressed) tar: ADD copies such
// files as they are.
func openArchive(file string) (io.ReadCloser, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReader(f)
	magic, _ := br.Peek(6)
	var r io.Reader = br
	var closer io.Closer = f
	switch {
	case bytes.HasPrefix(magic, []byte{0x42, 0x5a, 0x68}):
		r = bzip2.NewReader(br)
	case bytes.HasPrefix(magic, []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}):
		f.Close()
		return nil, fmt.Errorf("%s is an xz archive, which berth cannot unpack: recompress it with gzip, bzip2 or zstd", filepath.Base(file))
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}), bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		ds, err := compression.DecompressStream(br)
		if err != nil {
			f.Close()
			return nil, err
		}
		r, closer = ds, multiCloser{ds, f}
	}
	tr := bufio.NewReaderSize(r, 1024)
	head, err := tr.Peek(512)
	if err != nil || len(head) < 512 || !isTarHeader(head) {
		closer.Close()
		return nil, nil
	}
	return readCloser{tr, closer}, nil
}

// isTarHeader reports whether b starts with a tar header: the ustar magic,
// or (old v7 archives) a valid header checksum.
func isTarHeader(b []byte) bool {
	if string(b[257:262]) == "ustar" {
		return true
	}
	sum, err := strconv.ParseInt(strings.TrimRight(strings.TrimSpace(string(b[148:156])), "\x00"), 8, 64)
	if err != nil {
		return false
	}
	var s int64
	for i, c := range b[:512] {
		if i >= 148 && i < 156 {
			c = ' '
		}
		s += int64(c)
	}
	return s == sum
}

type readCloser struct {
	io.Reader
	io.Closer
}

type multiCloser []io.Closer

func (m multiCloser) Close() error {
	var errs []error
	for _, c := range m {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// extract unpacks a tar stream into the image directory dest, as Docker
// does. Entries keep their owners (unless --chown), modes and times; a
// leading "/" of a name is dropped, and an entry whose name or hard link
// climbs out of dest with ".." is refused. An entry replaces what is
// there unless both are directories (then the directory takes the
// entry's owner, mode and time), never writing through a symlink; and
// symlinks, in the image or made by the archive, lead a later entry
// nowhere but inside the root. Devices and fifos are refused.
func (c *copier) extract(r io.Reader, dest, name string) error {
	return c.withRoot(func() error {
		if err := c.mkdirAll(dest); err != nil {
			return err
		}
		tr := tar.NewReader(r)
		for {
			hdr, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if err := c.extractEntry(tr, hdr, dest, name); err != nil {
				return err
			}
		}
		return c.finish()
	})
}

func (c *copier) extractEntry(tr io.Reader, hdr *tar.Header, dest, name string) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil // PAX defaults, which the entries that follow carry
	}
	rel, ok := inside(hdr.Name)
	if !ok {
		return fmt.Errorf("%s: entry %q points outside the destination: refusing to unpack it", name, hdr.Name)
	}
	if rel == "." {
		return nil
	}
	target := path.Join(dest, rel)
	o := c.ownerOr(Owner{hdr.Uid, hdr.Gid})
	perm := hdr.FileInfo().Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
	if c.mode != nil {
		perm = *c.mode
	}
	var err error
	switch hdr.Typeflag {
	case tar.TypeDir, tar.TypeReg, tar.TypeRegA, tar.TypeSymlink, tar.TypeLink:
	default:
		return fmt.Errorf("%s: entry %q is a device, fifo or other special file, which ADD does not unpack", name, hdr.Name)
	}
	if err := c.mkdirAll(path.Dir(target)); err != nil {
		return fmt.Errorf("%s: %s: %w", name, hdr.Name, err)
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		err = c.writeDir(target, perm, o, hdr.ModTime)
	case tar.TypeReg, tar.TypeRegA:
		if err = c.clear(target, true); err == nil {
			err = c.writeRegular(target, tr, perm, o, hdr.ModTime)
		}
	case tar.TypeSymlink:
		if err = c.clear(target, true); err == nil {
			err = c.writeSymlink(target, hdr.Linkname, o, hdr.ModTime)
		}
	case tar.TypeLink:
		lrel, ok := inside(hdr.Linkname)
		if !ok {
			return fmt.Errorf("%s: hard link %q -> %q points outside the destination: refusing to unpack it", name, hdr.Name, hdr.Linkname)
		}
		if err = c.clear(target, true); err == nil {
			err = c.r.Link(path.Join(dest, lrel), target)
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %s: %w", name, hdr.Name, err)
	}
	return nil
}

// inside cleans a tar entry name relative to the destination, as Docker
// does: a leading "/" is dropped, and the name must not climb out with
// "..".
func inside(name string) (string, bool) {
	clean := path.Clean(strings.TrimLeft(filepath.ToSlash(name), "/"))
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", false
	}
	return clean, true
}

// resolveOwner turns --chown's user[:group] into ids, looking names up in
// the image's /etc/passwd and /etc/group. A user without a group gets the
// user's primary group when the user is named, else the same number.
func resolveOwner(root, chown string) (*Owner, error) {
	if chown == "" {
		return nil, nil
	}
	usr, grp, hasGroup := strings.Cut(chown, ":")
	o := Owner{}
	var err error
	if o.UID, err = strconv.Atoi(usr); err != nil {
		u, err := lookup(root, "/etc/passwd", func(r io.Reader) (int, int, bool, error) {
			users, err := user.ParsePasswdFilter(r, func(u user.User) bool { return u.Name == usr })
			if err != nil || len(users) == 0 {
				return 0, 0, false, err
			}
			return users[0].Uid, users[0].Gid, true, nil
		})
		if err != nil {
			return nil, fmt.Errorf("--chown=%s: %w", chown, err)
		}
		if u == nil {
			return nil, fmt.Errorf("--chown=%s: no user %q in the image's /etc/passwd", chown, usr)
		}
		o.UID, o.GID = u[0], u[1]
	} else {
		o.GID = o.UID
	}
	if !hasGroup {
		return &o, nil
	}
	if o.GID, err = strconv.Atoi(grp); err != nil {
		g, err := lookup(root, "/etc/group", func(r io.Reader) (int, int, bool, error) {
			groups, err := user.ParseGroupFilter(r, func(g user.Group) bool { return g.Name == grp })
			if err != nil || len(groups) == 0 {
				return 0, 0, false, err
			}
			return groups[0].Gid, 0, true, nil
		})
		if err != nil {
			return nil, fmt.Errorf("--chown=%s: %w", chown, err)
		}
		if g == nil {
			return nil, fmt.Errorf("--chown=%s: no group %q in the image's /etc/group", chown, grp)
		}
		o.GID = g[0]
	}
	return &o, nil
}

func lookup(root, file string, find func(io.Reader) (int, int, bool, error)) ([]int, error) {
	p, err := cfs.RootPath(root, file)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a, b, ok, err := find(f)
	if err != nil || !ok {
		return nil, err
	}
	return []int{a, b}, nil
}

// parseChmod reads --chmod's octal mode.
func parseChmod(s string) (*fs.FileMode, error) {
	if s == "" {
		return nil, nil
	}
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil || n > 0o7777 {
		return nil, fmt.Errorf("--chmod=%s: give an octal mode such as 755 or 0644", s)
	}
	m := fs.FileMode(n & 0o777)
	if n&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if n&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if n&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return &m, nil
}
