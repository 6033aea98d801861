package fscopy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// tree is a directory tree files are copied from or into: a container's
// root filesystem, or the host's "/". Its paths are slash-separated and
// relative to its top ("." is the top).
type tree struct {
	root *os.Root
	// where ends messages about its paths: "in the container of service
	// \"web\"", "on the host".
	where string
}

func openTree(dir, where string) (*tree, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open the filesystem %s: %w", where, err)
	}
	return &tree{root: r, where: where}, nil
}

func (t *tree) Close() error { return t.root.Close() }

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
	r, err := securejoin.SecureJoinVFS("/", clean, rootVFS{t.root})
	if err != nil {
		return "", fmt.Errorf("%s: %w", p, err)
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

// rootVFS lets securejoin look at the tree only through its os.Root: a
// path it asks about is "/"-based, taken relative to the top.
type rootVFS struct{ root *os.Root }

func (v rootVFS) Lstat(name string) (os.FileInfo, error) { return v.root.Lstat(relative(name)) }
func (v rootVFS) Readlink(name string) (string, error)   { return v.root.Readlink(relative(name)) }

// lstat is Lstat, with a missing file reported as (nil, nil).
func (t *tree) lstat(rel string) (fs.FileInfo, error) {
	fi, err := t.root.Lstat(rel)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOTDIR) {
		return nil, nil
	}
	return fi, err
}

// at runs fn on the directory holding rel (opened through the root) and
// rel's last element: for the *at system calls os.Root does not offer.
func (t *tree) at(rel string, fn func(dirfd int, base string) error) error {
	d, err := t.root.Open(path.Dir(rel))
	if err != nil {
		return err
	}
	defer d.Close()
	return fn(int(d.Fd()), path.Base(rel))
}
