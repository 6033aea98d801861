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

// Owner is who the files a sync writes belong to: the container's user,
// as docker compose's sync makes them (its process's uid and gid).
type Owner struct{ UID, GID int }

// SyncInto applies files to the container root filesystem mounted at
// root, resolving every container path inside it (fscopy.Root): regular
// files are written in place with their mode and modification time,
// directories made, symlinks copied as symlinks, vanished paths removed.
// What is written, and the directories made for it, belong to owner.
func SyncInto(root string, owner Owner, files []File) error {
	r, err := fscopy.OpenRoot(root)
	if err != nil {
		return fmt.Errorf("open container root: %w", err)
	}
	defer r.Close()
	for _, f := range files {
		if err := syncOne(r, owner, f); err != nil {
			return fmt.Errorf("sync %s to %s: %w", f.Host, f.Container, err)
		}
	}
	return nil
}

func syncOne(r *fscopy.Root, owner Owner, f File) error {
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
		made, err := r.MkdirAll(f.Container, st.Mode().Perm())
		if err != nil {
			return err
		}
		return chownAll(r, owner, made)
	case st.Mode()&fs.ModeSymlink != 0:
		dest, err := os.Readlink(f.Host)
		if err != nil {
			return err
		}
		if err := prepare(r, owner, f.Container); err != nil {
			return err
		}
		if err := r.Symlink(dest, f.Container); err != nil {
			return err
		}
		return r.Lchown(f.Container, owner.UID, owner.GID)
	case st.Mode().IsRegular():
		return copyFile(r, owner, f, st)
	default:
		return nil // sockets, fifos and devices are not synced
	}
}

// prepare makes the parent of p (owned by owner) and removes what is at
// p.
func prepare(r *fscopy.Root, owner Owner, p string) error {
	made, err := r.MkdirAll(path.Dir(p), 0o755)
	if err != nil {
		return err
	}
	if err := chownAll(r, owner, made); err != nil {
		return err
	}
	return r.RemoveAll(p)
}

// chownAll gives the paths to owner.
func chownAll(r *fscopy.Root, owner Owner, paths []string) error {
	for _, p := range paths {
		if err := r.Lchown(p, owner.UID, owner.GID); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(r *fscopy.Root, owner Owner, f File, st fs.FileInfo) error {
	src, err := os.Open(f.Host)
	if err != nil {
		return err
	}
	defer src.Close()
	// A regular file is rewritten in place, as an editor saving it does;
	// anything else there (a directory, a symlink) is replaced.
	if cur, err := r.Lstat(f.Container); err != nil || !cur.Mode().IsRegular() {
		if err := prepare(r, owner, f.Container); err != nil {
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
	// Given away before its mode is set: a chown clears setuid bits.
	if err := r.Lchown(f.Container, owner.UID, owner.GID); err != nil {
		return err
	}
	if err := r.Lchmod(f.Container, st.Mode().Perm()); err != nil {
		return err
	}
	return r.Lchtimes(f.Container, st.ModTime())
}
