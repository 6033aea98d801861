package fscopy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strconv"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// Root is a directory tree written as if it were "/": a container's or
// an image's root filesystem. It is the one way berth writes into such a
// tree (berth cp, COPY, ADD).
//
// Every path is resolved inside the tree: the directory holding the file
// is opened with openat2(RESOLVE_IN_ROOT), so symlinks, absolute ones
// included, and ".." are taken as they would be in the container and
// never lead out (on a kernel without openat2, the path is resolved the
// same way in user space and then opened one element at a time, never
// following a link). The last element of a path is never followed: it is
// the file made, changed or replaced, so a symlink there is what is
// removed, chowned or given times, never its target.
//
// Paths are slash-separated, absolute or relative to the top, which is
// "/" (or ".").
type Root struct {
	f *os.File // O_PATH
	// walk is set when the kernel has no openat2.
	walk bool
}

// OpenRoot opens dir as the top of a tree.
func OpenRoot(dir string) (*Root, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	r := &Root{f: os.NewFile(uintptr(fd), dir)}
	probe, err := unix.Openat2(fd, ".", &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT})
	switch {
	case err == nil:
		unix.Close(probe)
	case errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EPERM): // no openat2, or a seccomp filter refusing it
		r.walk = true
	default:
		r.f.Close()
		return nil, &fs.PathError{Op: "openat2", Path: dir, Err: err}
	}
	return r, nil
}

// Close closes the tree.
func (r *Root) Close() error { return r.f.Close() }

// openDir opens the directory p, every element of it resolved inside the
// tree.
func (r *Root) openDir(p string) (*os.File, error) {
	p = relative(p)
	if r.walk {
		resolved, err := r.Resolve(p)
		if err != nil {
			return nil, err
		}
		return r.walkNoFollow(relative(resolved))
	}
	var err error
	for range 64 {
		var fd int
		fd, err = unix.Openat2(int(r.f.Fd()), p, &unix.OpenHow{
			Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
		})
		if err == nil {
			return os.NewFile(uintptr(fd), "/"+p), nil
		}
		if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) {
			break // EAGAIN: a rename elsewhere raced the lookup; try again
		}
	}
	return nil, &fs.PathError{Op: "open", Path: "/" + p, Err: err}
}

// walkNoFollow opens the directory p, which must hold no symlink, one
// element at a time: a symlink anywhere makes it fail.
func (r *Root) walkNoFollow(p string) (*os.File, error) {
	fd, err := unix.Openat(int(r.f.Fd()), ".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: "/", Err: err}
	}
	if p != "." {
		for _, elem := range splitPath(p) {
			next, err := unix.Openat(fd, elem, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			unix.Close(fd)
			if err != nil {
				return nil, &fs.PathError{Op: "open", Path: "/" + p, Err: err}
			}
			fd = next
		}
	}
	return os.NewFile(uintptr(fd), "/"+p), nil
}

func splitPath(p string) []string {
	var out []string
	for p != "." && p != "/" && p != "" {
		out = append([]string{path.Base(p)}, out...)
		p = path.Dir(p)
	}
	return out
}

// at runs fn on the directory holding p (resolved inside the tree) and
// p's last element, which fn must not follow. The top itself is ("." of
// the top).
func (r *Root) at(op, p string, fn func(dirfd int, base string) error) error {
	p = relative(p)
	dir, base := path.Dir(p), path.Base(p)
	if p == "." {
		dir = "."
	}
	d, err := r.openDir(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := fn(int(d.Fd()), base); err != nil {
		return &fs.PathError{Op: op, Path: "/" + p, Err: err}
	}
	return nil
}

// Lstat describes the file at p, not following a symlink there.
func (r *Root) Lstat(p string) (fs.FileInfo, error) {
	var fi fs.FileInfo
	err := r.at("lstat", p, func(dirfd int, base string) error {
		fd, err := unix.Openat(dirfd, base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		f := os.NewFile(uintptr(fd), base)
		defer f.Close()
		fi, err = f.Stat()
		return err
	})
	return fi, err
}

// Stat describes the file p leads to, following symlinks inside the tree.
func (r *Root) Stat(p string) (fs.FileInfo, error) {
	resolved, err := r.Resolve(p)
	if err != nil {
		return nil, err
	}
	return r.Lstat(resolved)
}

// Readlink reads the symlink at p.
func (r *Root) Readlink(p string) (string, error) {
	var target string
	err := r.at("readlink", p, func(dirfd int, base string) error {
		buf := make([]byte, unix.PathMax)
		n, err := unix.Readlinkat(dirfd, base, buf)
		target = string(buf[:n])
		return err
	})
	return target, err
}

// Resolve turns p into the path it leads to, with no symlink left in it:
// each symlink is read and followed as if the tree were "/", and ".."
// never climbs above the top. Elements that do not exist are kept as they
// are (a dangling symlink leads to its target). The result is absolute.
func (r *Root) Resolve(p string) (string, error) {
	clean := path.Clean("/" + p)
	if clean == "/" {
		return "/", nil
	}
	out, err := securejoin.SecureJoinVFS("/", clean, resolveVFS{r})
	if err != nil {
		return "", fmt.Errorf("%s: %w", p, err)
	}
	return path.Clean("/" + out), nil
}

// resolveVFS lets securejoin look at the tree: the paths it asks about
// have their directories resolved already, so they are opened without
// following any link (and, on a kernel without openat2, without asking
// Resolve again).
type resolveVFS struct{ r *Root }

func (v resolveVFS) Lstat(name string) (os.FileInfo, error) {
	var fi fs.FileInfo
	err := v.atResolved("lstat", name, func(dirfd int, base string) error {
		var st unix.Stat_t
		if err := unix.Fstatat(dirfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
		fi = statInfo{name: base, st: st}
		return nil
	})
	return fi, err
}

func (v resolveVFS) Readlink(name string) (string, error) {
	var target string
	err := v.atResolved("readlink", name, func(dirfd int, base string) error {
		buf := make([]byte, unix.PathMax)
		n, err := unix.Readlinkat(dirfd, base, buf)
		target = string(buf[:n])
		return err
	})
	return target, err
}

func (v resolveVFS) atResolved(op, name string, fn func(dirfd int, base string) error) error {
	p := relative(name)
	d, err := v.r.walkNoFollow(path.Dir(p))
	if err != nil {
		return err
	}
	defer d.Close()
	if err := fn(int(d.Fd()), path.Base(p)); err != nil {
		return &fs.PathError{Op: op, Path: "/" + p, Err: err}
	}
	return nil
}

// statInfo is the fs.FileInfo of a unix.Stat_t (what securejoin needs:
// the type).
type statInfo struct {
	name string
	st   unix.Stat_t
}

func (s statInfo) Name() string { return s.name }
func (s statInfo) Size() int64  { return s.st.Size }
func (s statInfo) Mode() fs.FileMode {
	m := fs.FileMode(s.st.Mode & 0o777)
	switch s.st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		m |= fs.ModeDir
	case unix.S_IFLNK:
		m |= fs.ModeSymlink
	case unix.S_IFIFO:
		m |= fs.ModeNamedPipe
	case unix.S_IFSOCK:
		m |= fs.ModeSocket
	case unix.S_IFCHR:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		m |= fs.ModeDevice
	}
	return m
}
func (s statInfo) ModTime() time.Time { return time.Unix(s.st.Mtim.Unix()) }
func (s statInfo) IsDir() bool        { return s.Mode().IsDir() }
func (s statInfo) Sys() any           { return &s.st }

// Mkdir makes the directory p.
func (r *Root) Mkdir(p string, perm fs.FileMode) error {
	return r.at("mkdir", p, func(dirfd int, base string) error {
		return unix.Mkdirat(dirfd, base, unixMode(perm))
	})
}

// MkdirAll makes the directory p and its missing parents, following
// symlinks inside the tree (a dangling one leads to the directory made),
// and returns the directories it made, parents first. A non-directory on
// the way is an error.
func (r *Root) MkdirAll(p string, perm fs.FileMode) ([]string, error) {
	if d, err := r.openDir(p); err == nil {
		d.Close()
		return nil, nil // the common case: it is there
	}
	resolved, err := r.Resolve(p)
	if err != nil {
		return nil, err
	}
	var made []string
	cur := "/"
	for _, elem := range splitPath(relative(resolved)) {
		cur = path.Join(cur, elem)
		fi, err := r.Lstat(cur)
		switch {
		case err == nil && fi.IsDir():
			continue
		case err == nil:
			return made, fmt.Errorf("%s exists and is not a directory", cur)
		case !errors.Is(err, fs.ErrNotExist):
			return made, err
		}
		if err := r.Mkdir(cur, perm); err != nil {
			return made, err
		}
		made = append(made, cur)
	}
	return made, nil
}

// OpenFile opens the file p with flag (os.O_*), never following a
// symlink there.
func (r *Root) OpenFile(p string, flag int, perm fs.FileMode) (*os.File, error) {
	var f *os.File
	err := r.at("open", p, func(dirfd int, base string) error {
		fd, err := unix.Openat(dirfd, base, flag|unix.O_NOFOLLOW|unix.O_CLOEXEC, unixMode(perm))
		if err != nil {
			return err
		}
		f = os.NewFile(uintptr(fd), "/"+relative(p))
		return nil
	})
	return f, err
}

// Create makes the regular file p, mode 0600, which must not exist.
func (r *Root) Create(p string) (*os.File, error) {
	return r.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
}

// Symlink makes p a symlink to target, written as it is (it is resolved
// inside the tree whenever it is followed).
func (r *Root) Symlink(target, p string) error {
	return r.at("symlink", p, func(dirfd int, base string) error {
		return unix.Symlinkat(target, dirfd, base)
	})
}

// Link makes p a hard link to the file at oldp, both resolved inside the
// tree; a symlink at oldp is linked itself, not followed.
func (r *Root) Link(oldp, p string) error {
	return r.at("link", oldp, func(olddir int, oldbase string) error {
		return r.at("link", p, func(dirfd int, base string) error {
			return unix.Linkat(olddir, oldbase, dirfd, base, 0)
		})
	})
}

// Mknod makes a device node or fifo at p (mode holds the type bits,
// unix.S_IF*).
func (r *Root) Mknod(p string, mode uint32, dev uint64) error {
	return r.at("mknod", p, func(dirfd int, base string) error {
		return unix.Mknodat(dirfd, base, mode, int(dev))
	})
}

// Lchown sets the owner of p itself.
func (r *Root) Lchown(p string, uid, gid int) error {
	return r.at("lchown", p, func(dirfd int, base string) error {
		return unix.Fchownat(dirfd, base, uid, gid, unix.AT_SYMLINK_NOFOLLOW)
	})
}

// Lchmod sets the mode (permission, setuid, setgid and sticky bits) of p
// itself; a symlink's mode cannot be set.
func (r *Root) Lchmod(p string, mode fs.FileMode) error {
	return r.at("chmod", p, func(dirfd int, base string) error {
		err := unix.Fchmodat(dirfd, base, unixMode(mode), unix.AT_SYMLINK_NOFOLLOW)
		if !errors.Is(err, unix.EOPNOTSUPP) {
			return err
		}
		// No fchmodat2 (before Linux 6.6), or p is a symlink: chmod
		// what an O_PATH descriptor of p holds, unless it is a symlink.
		fd, err := unix.Openat(dirfd, base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return err
		}
		if st.Mode&unix.S_IFMT == unix.S_IFLNK {
			return unix.EOPNOTSUPP
		}
		return unix.Chmod("/proc/self/fd/"+strconv.Itoa(fd), unixMode(mode))
	})
}

// Lchtimes sets the access and modification times of p itself to mtime.
func (r *Root) Lchtimes(p string, mtime time.Time) error {
	ts := unix.NsecToTimespec(mtime.UnixNano())
	return r.at("utimes", p, func(dirfd int, base string) error {
		return unix.UtimesNanoAt(dirfd, base, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
	})
}

// Remove removes the file or empty directory p (a symlink itself).
func (r *Root) Remove(p string) error {
	if relative(p) == "." {
		return &fs.PathError{Op: "remove", Path: "/", Err: unix.EBUSY}
	}
	return r.at("remove", p, func(dirfd int, base string) error {
		err := unix.Unlinkat(dirfd, base, 0)
		if errors.Is(err, unix.EISDIR) || errors.Is(err, unix.EPERM) {
			if derr := unix.Unlinkat(dirfd, base, unix.AT_REMOVEDIR); !errors.Is(derr, unix.ENOTDIR) {
				return derr
			}
		}
		return err
	})
}

// RemoveAll removes p and, if it is a directory, everything in it,
// following no symlink.
func (r *Root) RemoveAll(p string) error {
	if relative(p) == "." {
		return &fs.PathError{Op: "remove", Path: "/", Err: unix.EBUSY}
	}
	return r.at("remove", p, removeAllAt)
}

func removeAllAt(dirfd int, base string) error {
	err := unix.Unlinkat(dirfd, base, 0)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.EPERM) {
		return err
	}
	fd, err := unix.Openat(dirfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	d := os.NewFile(uintptr(fd), base)
	names, err := d.Readdirnames(-1)
	if err == nil {
		for _, n := range names {
			if err = removeAllAt(fd, n); err != nil {
				break
			}
		}
	}
	d.Close()
	if err != nil {
		return err
	}
	return unix.Unlinkat(dirfd, base, unix.AT_REMOVEDIR)
}

// unixMode is a FileMode's permission, setuid, setgid and sticky bits as
// the system calls take them.
func unixMode(m fs.FileMode) uint32 {
	v := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		v |= unix.S_ISUID
	}
	if m&fs.ModeSetgid != 0 {
		v |= unix.S_ISGID
	}
	if m&fs.ModeSticky != 0 {
		v |= unix.S_ISVTX
	}
	return v
}
