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
	"golang.org/x/sys/unix"
)

// Owner is the numeric owner files are written with.
type Owner struct{ UID, GID int }

// copier writes files into a mounted root filesystem for COPY and ADD.
// Every path is resolved inside root, so a symlink in the image (even an
// absolute one) never leads a write out of it.
type copier struct {
	root string
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
	path  string
	mtime time.Time
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

// hostPath is where the image path p is on the host: its parent resolved
// inside root, its last element not followed (it is what gets replaced).
func (c *copier) hostPath(p string) (string, error) {
	p = path.Clean("/" + p)
	if p == "/" {
		return c.root, nil
	}
	parent, err := cfs.RootPath(c.root, path.Dir(p))
	if err != nil {
		return "", err
	}
	return filepath.Join(parent, path.Base(p)), nil
}

// isDir reports whether the image path p is a directory (following links).
func (c *copier) isDir(p string) bool {
	real, err := cfs.RootPath(c.root, p)
	if err != nil {
		return false
	}
	st, err := os.Stat(real)
	return err == nil && st.IsDir()
}

// mkdirAll makes the image directory p and its missing parents, owned by
// the copy's owner (root by default), mode 0755.
func (c *copier) mkdirAll(p string) error {
	p = path.Clean("/" + p)
	if p == "/" {
		return nil
	}
	if err := c.mkdirAll(path.Dir(p)); err != nil {
		return err
	}
	host, err := cfs.RootPath(c.root, p)
	if err != nil {
		return err
	}
	st, err := os.Stat(host)
	if err == nil {
		if !st.IsDir() {
			return fmt.Errorf("%s exists in the image and is not a directory", p)
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	// host may lie below directories that do not exist yet (a symlink in
	// the image pointed to them): make them all, inside root.
	var made []string
	for d := host; d != c.root; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil {
			break
		}
		made = append(made, d)
	}
	if err := os.MkdirAll(host, 0o755); err != nil {
		return err
	}
	o := c.ownerOr(Owner{})
	for _, d := range made {
		if err := os.Lchown(d, o.UID, o.GID); err != nil {
			return err
		}
	}
	return nil
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
}

// writeFile writes one file, directory or symlink at the image path target.
func (c *copier) writeFile(srcPath string, f File, target string) error {
	host, err := c.hostPath(target)
	if err != nil {
		return err
	}
	mode := f.Info.Mode()
	perm := mode.Perm() | mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)
	if c.mode != nil {
		perm = *c.mode
	}
	o := c.ownerOr(Owner{})
	switch {
	case mode.IsDir():
		if st, err := os.Lstat(host); err == nil && !st.IsDir() {
			if err := os.Remove(host); err != nil {
				return err
			}
		}
		if err := os.Mkdir(host, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		if err := os.Lchown(host, o.UID, o.GID); err != nil {
			return err
		}
		if err := os.Chmod(host, perm); err != nil {
			return err
		}
		c.dirTimes = append(c.dirTimes, dirTime{host, f.Info.ModTime()})
		return nil
	case mode&fs.ModeSymlink != 0:
		if err := removeNonDir(host); err != nil {
			return err
		}
		if err := os.Symlink(f.Link, host); err != nil {
			return err
		}
		if err := os.Lchown(host, o.UID, o.GID); err != nil {
			return err
		}
		return lutimes(host, f.Info.ModTime())
	case mode.IsRegular():
		var id fileID
		if st, ok := f.Info.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
			id = fileID{uint64(st.Dev), st.Ino}
			if first, ok := c.linked[id]; ok {
				if err := removeNonDir(host); err != nil {
					return err
				}
				return os.Link(first, host)
			}
			if c.linked == nil {
				c.linked = map[fileID]string{}
			}
			c.linked[id] = host
		}
		in, err := os.Open(srcPath)
		if err != nil {
			return err
		}
		defer in.Close()
		return c.writeRegular(host, in, perm, o, f.Info.ModTime())
	}
	return fmt.Errorf("%s is not a regular file, directory or symlink", f.Rel)
}

// writeRegular writes a regular file at host from r.
func (c *copier) writeRegular(host string, r io.Reader, perm fs.FileMode, o Owner, mtime time.Time) error {
	if err := removeNonDir(host); err != nil {
		return err
	}
	out, err := os.OpenFile(host, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if err := os.Lchown(host, o.UID, o.GID); err != nil {
		return err
	}
	if err := os.Chmod(host, perm); err != nil { // after chown, which clears setuid bits
		return err
	}
	return os.Chtimes(host, mtime, mtime)
}

// removeNonDir removes what is at host unless it is a directory (a file
// replaces a file; it cannot replace a directory).
func removeNonDir(host string) error {
	st, err := os.Lstat(host)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.IsDir() {
		return fmt.Errorf("a directory is in the way")
	}
	return os.Remove(host)
}

// finish sets directory times, deepest first, once their contents are in.
func (c *copier) finish() error {
	sort.SliceStable(c.dirTimes, func(i, j int) bool { return len(c.dirTimes[i].path) > len(c.dirTimes[j].path) })
	for _, d := range c.dirTimes {
		if err := os.Chtimes(d.path, d.mtime, d.mtime); err != nil {
			return err
		}
	}
	c.dirTimes = nil
	return nil
}

func lutimes(p string, t time.Time) error {
	ts := []unix.Timespec{unix.NsecToTimespec(t.UnixNano()), unix.NsecToTimespec(t.UnixNano())}
	return unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW)
}

// writeContent writes a file given inline (COPY heredoc, ADD URL) at the
// image path target with mode perm.
func (c *copier) writeContent(target string, r io.Reader, perm fs.FileMode, mtime time.Time) error {
	if c.mode != nil {
		perm = *c.mode
	}
	if err := c.mkdirAll(path.Dir(target)); err != nil {
		return err
	}
	host, err := c.hostPath(target)
	if err != nil {
		return err
	}
	return c.writeRegular(host, r, perm, c.ownerOr(Owner{}), mtime)
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

// extract unpacks a tar stream into the image directory dest. Entries keep
// their owners (unless --chown), modes and times; an entry whose name or
// link climbs out of dest is refused, and symlinks already in the image
// cannot lead a write out of the root.
func (c *copier) extract(r io.Reader, dest, name string) error {
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
		rel, ok := inside(hdr.Name)
		if !ok {
			return fmt.Errorf("%s: entry %q points outside the destination: refusing to unpack it", name, hdr.Name)
		}
		if rel == "." {
			continue
		}
		target := path.Join(dest, rel)
		if err := c.mkdirAll(path.Dir(target)); err != nil {
			return fmt.Errorf("%s: %s: %w", name, hdr.Name, err)
		}
		host, err := c.hostPath(target)
		if err != nil {
			return err
		}
		o := c.ownerOr(Owner{hdr.Uid, hdr.Gid})
		perm := hdr.FileInfo().Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
		if c.mode != nil {
			perm = *c.mode
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.Mkdir(host, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
			if err := os.Lchown(host, o.UID, o.GID); err != nil {
				return err
			}
			if err := os.Chmod(host, perm); err != nil {
				return err
			}
			c.dirTimes = append(c.dirTimes, dirTime{host, hdr.ModTime})
		case tar.TypeReg:
			if err := c.writeRegular(host, tr, perm, o, hdr.ModTime); err != nil {
				return fmt.Errorf("%s: %s: %w", name, hdr.Name, err)
			}
		case tar.TypeSymlink:
			if err := removeNonDir(host); err != nil {
				return err
			}
			if err := os.Symlink(hdr.Linkname, host); err != nil {
				return err
			}
			if err := os.Lchown(host, o.UID, o.GID); err != nil {
				return err
			}
			if err := lutimes(host, hdr.ModTime); err != nil {
				return err
			}
		case tar.TypeLink:
			lrel, ok := inside(hdr.Linkname)
			if !ok {
				return fmt.Errorf("%s: hard link %q -> %q points outside the destination: refusing to unpack it", name, hdr.Name, hdr.Linkname)
			}
			old, err := c.hostPath(path.Join(dest, lrel))
			if err != nil {
				return err
			}
			if err := removeNonDir(host); err != nil {
				return err
			}
			if err := os.Link(old, host); err != nil {
				return fmt.Errorf("%s: %s: %w", name, hdr.Name, err)
			}
		default:
			return fmt.Errorf("%s: entry %q is a device, fifo or other special file, which ADD does not unpack", name, hdr.Name)
		}
	}
	return c.finish()
}

// inside cleans a tar entry name relative to the destination and reports
// whether it stays inside it.
func inside(name string) (string, bool) {
	name = strings.TrimPrefix(filepath.ToSlash(name), "./")
	if path.IsAbs(name) {
		name = strings.TrimLeft(name, "/")
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", false
		}
	}
	return path.Clean("./" + name), true
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
