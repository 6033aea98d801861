package fscopy

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// Owner is a numeric file owner.
type Owner struct{ UID, GID int }

// writer is the sink that makes the entries in a tree, below dir.
type writer struct {
	t *tree
	// dir is the resolved directory the entries go into.
	dir string
	// owner owns what is written; nil keeps the entries' own owners.
	owner *Owner
	// written maps entry names to where they were written, for hard links.
	written map[string]string
	// madeDirs maps the names of entries written as directories to where
	// they are: their children's parent needs no resolving again.
	madeDirs map[string]string
	// dirs are the directories whose times are set once all is written
	// (writing into a directory changes its mtime).
	dirs []dirTime
}

type dirTime struct {
	rel   string
	mtime time.Time
}

func newWriter(t *tree, dir string, owner *Owner) *writer {
	return &writer{t: t, dir: dir, owner: owner, written: map[string]string{}, madeDirs: map[string]string{}}
}

func (w *writer) put(e *entry) error {
	if e.name == "." {
		return nil // the destination directory itself: left as it is
	}
	// A parent this copy wrote as a directory is one still: make never
	// replaces a directory, and the Root keeps a symlink swapped in
	// meanwhile from leading out. Any other parent is resolved, as an
	// existing directory of the destination may be a symlink, followed
	// inside the tree. Reusing spares resolving every element of every
	// path again (securejoin's Lstat and Readlink calls), quadratic in
	// the depth of the tree.
	parent, ok := w.madeDirs[path.Dir(e.name)]
	if !ok {
		var err error
		if parent, err = w.t.resolve(path.Join(w.dir, path.Dir(e.name)), true); err != nil {
			return err
		}
	}
	target := path.Join(parent, path.Base(e.name))
	if err := w.make(e, target); err != nil {
		return fmt.Errorf("write /%s %s: %w", target, w.t.where, err)
	}
	w.written[e.name] = target
	if e.mode.IsDir() && !e.hard {
		w.madeDirs[e.name] = target
	}
	return nil
}

// make writes one entry at target. What it created is removed again if a
// later step fails (a truncated tar stream, a refused chown), so a failed
// copy leaves no half-written file behind; a file rewritten in place
// keeps its name, since it could not be removed in the first place.
func (w *writer) make(e *entry, target string) (retErr error) {
	old, err := w.t.wlstat(target)
	if err != nil {
		return err
	}
	isDir := e.mode.IsDir() && !e.hard
	switch {
	case old != nil && old.IsDir() && isDir:
		return w.meta(e, target)
	case old != nil && old.IsDir():
		return errors.New("a directory is there: it cannot be replaced by a file")
	case old != nil && isDir:
		return errors.New("a file is there: it cannot be replaced by a directory")
	}
	inPlace := false
	if old != nil {
		if err := w.t.w.Remove(target); err != nil {
			// A file bind-mounted into the container (such as
			// /etc/hosts) cannot be removed; it is rewritten instead.
			if !errors.Is(err, unix.EBUSY) || !old.Mode().IsRegular() || !e.mode.IsRegular() || e.hard {
				return err
			}
			inPlace = true
		}
	}
	created := false
	defer func() {
		if retErr != nil && created {
			w.t.w.Remove(target) //nolint:errcheck // the error being returned says more
		}
	}()
	o := w.ownerOf(e)
	switch {
	case e.hard:
		from, ok := w.written[e.link]
		if !ok {
			if from, err = w.t.resolve(path.Join(w.dir, e.link), false); err != nil {
				return err
			}
		}
		return w.t.w.Link(from, target)
	case isDir:
		if err := w.t.w.Mkdir(target, 0o700); err != nil {
			return err
		}
		created = true
		return w.meta(e, target)
	case e.mode.IsRegular():
		flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
		if inPlace {
			flags = os.O_WRONLY | os.O_TRUNC
		}
		f, err := w.t.w.OpenFile(target, flags, 0o600)
		if err != nil {
			return err
		}
		created = !inPlace
		_, err = io.Copy(f, e.body)
		if err == nil {
			err = f.Chown(o.UID, o.GID)
		}
		if err == nil {
			err = f.Chmod(e.mode & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky))
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	case e.mode&fs.ModeSymlink != 0:
		if err := w.t.w.Symlink(e.link, target); err != nil {
			return err
		}
		created = true
		if err := w.t.w.Lchown(target, o.UID, o.GID); err != nil {
			return err
		}
	case e.mode&(fs.ModeDevice|fs.ModeNamedPipe) != 0:
		typ := uint32(unix.S_IFIFO)
		switch {
		case e.mode&fs.ModeCharDevice != 0:
			typ = unix.S_IFCHR
		case e.mode&fs.ModeDevice != 0:
			typ = unix.S_IFBLK
		}
		if err := w.t.w.Mknod(target, typ|uint32(e.mode.Perm()), e.rdev); err != nil {
			return err
		}
		created = true
		if err := w.t.w.Lchown(target, o.UID, o.GID); err != nil {
			return err
		}
		if err := w.t.w.Lchmod(target, e.mode.Perm()); err != nil {
			return err
		}
	default:
		return fmt.Errorf("cannot make a file of type %s", e.mode.Type())
	}
	return setTimes(w.t, target, e.mtime)
}

// meta gives a directory its owner and mode now, its times at the end.
func (w *writer) meta(e *entry, target string) error {
	o := w.ownerOf(e)
	if err := w.t.w.Lchown(target, o.UID, o.GID); err != nil {
		return err
	}
	if err := w.t.w.Lchmod(target, e.mode&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
		return err
	}
	w.dirs = append(w.dirs, dirTime{rel: target, mtime: e.mtime})
	return nil
}

func (w *writer) ownerOf(e *entry) Owner {
	if w.owner != nil {
		return *w.owner
	}
	return Owner{UID: e.uid, GID: e.gid}
}

func (w *writer) finish() error {
	for _, d := range slices.Backward(w.dirs) {
		if err := setTimes(w.t, d.rel, d.mtime); err != nil {
			return fmt.Errorf("write /%s %s: %w", d.rel, w.t.where, err)
		}
	}
	return nil
}

// setTimes sets a file's access and modification times to mtime, on a
// symlink itself rather than its target.
func setTimes(t *tree, rel string, mtime time.Time) error {
	if mtime.IsZero() {
		return nil // a tar entry without one: now is as good
	}
	return t.w.Lchtimes(rel, mtime)
}
