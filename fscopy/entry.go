package fscopy

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// entry is one file of a copy, whether read from a tree or from a tar
// stream.
type entry struct {
	// name is its path in the copy, slash-separated and clean: the top
	// entry's name, or below it ("." is the destination directory itself).
	name string
	// mode holds the type and permission bits (setuid, setgid, sticky too).
	mode     fs.FileMode
	uid, gid int
	mtime    time.Time
	size     int64
	// link is a symlink's target, or for a hard link (hard set) the name
	// of the entry it is a link to.
	link string
	hard bool
	// rdev is a device node's number.
	rdev uint64
	// body is a regular file's content.
	body io.Reader
}

// sink receives a copy's entries, parents before children.
type sink interface {
	put(e *entry) error
	// finish completes what could only be done once all entries were put
	// (the times of directories).
	finish() error
}

type fileID struct{ dev, ino uint64 }

// walker reads a tree's files into a sink, a directory's entries in name
// order. It never follows a symlink (it copies it), and it gives a file
// with several names inside the copy one body and hard links.
type walker struct {
	t    *tree
	to   sink
	seen map[fileID]string
}

func (w *walker) walk(rel, name string) error {
	fi, err := w.t.root.Lstat(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // gone since its directory was read
	}
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("/%s: no file owner information", rel)
	}
	e := &entry{name: name, mode: fi.Mode(), uid: int(st.Uid), gid: int(st.Gid), mtime: fi.ModTime(), size: fi.Size()}
	switch mode := fi.Mode(); {
	case mode.IsRegular():
		id := fileID{uint64(st.Dev), st.Ino}
		if first, ok := w.seen[id]; ok && st.Nlink > 1 {
			e.link, e.hard, e.size = first, true, 0
			return w.to.put(e)
		}
		if st.Nlink > 1 {
			w.seen[id] = name
		}
		f, err := w.t.root.Open(rel)
		if err != nil {
			return err
		}
		defer f.Close()
		if now, err := f.Stat(); err != nil || !now.Mode().IsRegular() || now.Sys().(*syscall.Stat_t).Ino != st.Ino {
			return fmt.Errorf("/%s %s changed while it was copied", rel, w.t.where)
		}
		e.body = io.LimitReader(f, e.size)
	case mode&fs.ModeSymlink != 0:
		if e.link, err = w.t.root.Readlink(rel); err != nil {
			return err
		}
	case mode.IsDir():
		if err := w.to.put(e); err != nil {
			return err
		}
		d, err := w.t.root.Open(rel)
		if err != nil {
			return err
		}
		if kernelFS(d) {
			d.Close()
			return nil // /proc, /sys and the like: no files to copy
		}
		names, err := d.Readdirnames(-1)
		d.Close()
		if err != nil {
			return fmt.Errorf("/%s %s: %w", rel, w.t.where, err)
		}
		slices.Sort(names)
		for _, n := range names {
			if err := w.walk(path.Join(rel, n), path.Join(name, n)); err != nil {
				return err
			}
		}
		return nil
	case mode&fs.ModeSocket != 0:
		return nil // as docker cp: a socket is no file to copy
	case mode&(fs.ModeDevice|fs.ModeNamedPipe) != 0:
		e.rdev = uint64(st.Rdev)
	default:
		return fmt.Errorf("/%s %s: cannot copy a file of type %s", rel, w.t.where, mode.Type())
	}
	return w.to.put(e)
}

// kernelFS reports whether a directory is on a filesystem the kernel
// makes up (proc, sysfs, cgroup, ...), whose contents are no files to
// copy: a running container's / has them mounted.
func kernelFS(d *os.File) bool {
	var st unix.Statfs_t
	if unix.Fstatfs(int(d.Fd()), &st) != nil {
		return false
	}
	// Statfs_t.Type is an int32 on 32-bit ARM, where BPF_FS_MAGIC
	// (0xcafe4a11) is negative: compare the 32 bits the kernel gives.
	switch uint32(st.Type) { //nolint:gosec // the magic numbers are 32 bits
	case unix.PROC_SUPER_MAGIC, unix.SYSFS_MAGIC, unix.CGROUP_SUPER_MAGIC, unix.CGROUP2_SUPER_MAGIC,
		unix.DEBUGFS_MAGIC, unix.TRACEFS_MAGIC, unix.SECURITYFS_MAGIC, unix.BPF_FS_MAGIC:
		return true
	}
	return false
}
