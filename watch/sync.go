package watch

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"

	"github.com/berth/berth/fscopy"
)

// File is one path a sync copies: the host file and where it goes in the
// container. A host path that no longer exists is removed from the
// container (with everything under it, for a directory).
type File struct {
	Host      string
	Container string
}

// SyncInto applies files to the container root filesystem mounted at
// root, resolving every container path inside it (fscopy.Root): regular
// files are written in place with their mode and modification time,
// directories made, symlinks copied as symlinks, vanished paths removed.
// What is written belongs to root, as with berth cp.
func SyncInto(root string, files []File) error {
	r, err := fscopy.OpenRoot(root)
	if err != nil {
		return fmt.Errorf("open container root: %w", err)
	}
	defer r.Close()
	for _, f := range files {
		if err := syncOne(r, f); err != nil {
			return fmt.Errorf("sync %s to %s: %w", f.Host, f.Container, err)
		}
	}
	return nil
}

func syncOne(r *fscopy.Root, f File) error {
	st, err := os.Lstat(f.Host)
	if errors.Is(err, fs.ErrNotExist) {
		return r.RemoveAll(f.Container)
	}
	if err != nil {
		return err
	}
	switch {
	case st.IsDir():
		if cur, err := r.Lstat(f.Container); err == nil && !cur.IsDir() {
			if err := r.Remove(f.Container); err != nil {
				return err
			}
		}
		_, err := r.MkdirAll(f.Container, st.Mode().Perm())
		return err
	case st.Mode()&fs.ModeSymlink != 0:
		dest, err := os.Readlink(f.Host)
		if err != nil {
			return err
		}
		if err := prepare(r, f.Container); err != nil {
			return err
		}
		return r.Symlink(dest, f.Container)
	case st.Mode().IsRegular():
		return copyFile(r, f, st)
	default:
		return nil // sockets, fifos and devices are not synced
	}
}

// prepare makes the parent of p and removes what is at p.
func prepare(r *fscopy.Root, p string) error {
	if _, err := r.MkdirAll(path.Dir(p), 0o755); err != nil {
		return err
	}
	return r.RemoveAll(p)
}

func copyFile(r *fscopy.Root, f File, st fs.FileInfo) error {
	src, err := os.Open(f.Host)
	if err != nil {
		return err
	}
	defer src.Close()
	// A regular file is rewritten in place, as an editor saving it does;
	// anything else there (a directory, a symlink) is replaced.
	if cur, err := r.Lstat(f.Container); err != nil || !cur.Mode().IsRegular() {
		if err := prepare(r, f.Container); err != nil {
			return err
		}
	}
	dst, err := r.OpenFile(f.Container, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	if err := dst.Close(); err != nil {
		return err
	}
	if err := r.Lchmod(f.Container, st.Mode().Perm()); err != nil {
		return err
	}
	return r.Lchtimes(f.Container, st.ModTime())
}
