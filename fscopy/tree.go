package fscopy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// tree is a directory tree files are copied from or into: a container's
// root filesystem, or the host's "/". Its paths are slash-separated and
// relative to its top ("." is the top).
type tree struct {
	// root reads the tree; w writes it (and resolves its paths).
	root *os.Root
	w    *Root
	// where ends messages about its paths: "in the container of service
	// \"web\"", "on the host".
	where string
}

func openTree(dir, where string) (*tree, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open the filesystem %s: %w", where, err)
	}
	w, err := OpenRoot(dir)
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("open the filesystem %s: %w", where, err)
	}
	return &tree{root: r, w: w, where: where}, nil
}

func (t *tree) Close() error { return errors.Join(t.root.Close(), t.w.Close()) }

// resolve turns p, a path as seen from inside the tree (absolute, or
// relative to its top), into a path relative to the top with no symlink
// in it: each symlink is read and followed as if the tree were "/", so
// "/etc/x -> /data" leads to the tree's data, and ".." never climbs above
// the top. With followLast false the last element is left as it is (a
// symlink is then copied as a symlink). Elements that do not exist are
// kept as they are.
func (t *tree) resolve(p string, followLast bool) (string, error) {
	clean := path.Clean("/" + p)
	if clean == "/" {
		return ".", nil
	}
	if !followLast {
		dir, err := t.resolve(path.Dir(clean), true)
		if err != nil {
			return "", err
		}
		return path.Join(dir, path.Base(clean)), nil
	}
	r, err := t.w.Resolve(clean)
	if err != nil {
		return "", err
	}
	return relative(r), nil
}

// relative turns an absolute slash path into one relative to the top.
func relative(abs string) string {
	r := strings.TrimLeft(path.Clean("/"+abs), "/")
	if r == "" {
		return "."
	}
	return r
}

// lstat is Lstat, with a missing file reported as (nil, nil).
func (t *tree) lstat(rel string) (fs.FileInfo, error) {
	fi, err := t.root.Lstat(rel)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOTDIR) {
		return nil, nil
	}
	return fi, err
}

// wlstat is lstat through the tree's writer: the directory holding rel is
// resolved inside the tree, the last element not followed.
func (t *tree) wlstat(rel string) (fs.FileInfo, error) {
	fi, err := t.w.Lstat(rel)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOTDIR) {
		return nil, nil
	}
	return fi, err
}
