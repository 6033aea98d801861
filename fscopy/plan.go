package fscopy

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// source is what a copy reads: a file, directory or symlink of a tree.
type source struct {
	// rel is its resolved path, relative to the tree's top.
	rel  string
	info fs.FileInfo
	// name is what the copy's top entry is called: the last element of
	// the path as given (not of a symlink's target), or "." for the
	// contents of a directory (a path ending in "/.", or "/" itself).
	name string
}

// source resolves p as docker cp resolves a source: a symlink as the last
// element is copied as a symlink unless follow (-L) is set; a path ending
// in "/" or "/." must be a directory (a symlink to one is followed).
func (t *tree) source(p string, follow bool) (*source, error) {
	clean := path.Clean("/" + p)
	contents := clean == "/" || endsInDot(p)
	wantDir := contents || strings.HasSuffix(p, "/")
	rel, err := t.resolve(clean, follow || wantDir)
	if err != nil {
		return nil, err
	}
	fi, err := t.lstat(rel)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", p, t.where, err)
	}
	if fi == nil {
		return nil, t.notFound(p, rel)
	}
	if wantDir && !fi.IsDir() {
		return nil, fmt.Errorf("%s %s is not a directory (a path ending in / or /. names one)", p, t.where)
	}
	name := path.Base(clean)
	if contents {
		name = "."
	}
	return &source{rel: rel, info: fi, name: name}, nil
}

// notFound reports a missing path, and where its symlinks led.
func (t *tree) notFound(p, rel string) error {
	if lexical := relative(p); lexical != rel {
		return fmt.Errorf("%s: no such file or directory %s (it leads to /%s there: symlinks are followed inside, never out of it)", p, t.where, rel)
	}
	return fmt.Errorf("%s: no such file or directory %s", p, t.where)
}

// endsInDot reports whether p names a directory's contents: "dir/.".
func endsInDot(p string) bool { return p == "." || strings.HasSuffix(p, "/.") }

// destination is where a copy goes, resolved as docker cp resolves it:
// symlinks are followed, the last one too; it need not exist, but its
// parent directory must.
type destination struct {
	// rel is the resolved path, relative to the tree's top.
	rel string
	// exists and dir say what is there now.
	exists, dir bool
	// assertsDir is set when the path as given ends in "/" or "/.".
	assertsDir bool
}

func (t *tree) destination(p string) (*destination, error) {
	rel, err := t.resolve(p, true)
	if err != nil {
		return nil, err
	}
	fi, err := t.lstat(rel)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", p, t.where, err)
	}
	d := &destination{rel: rel, exists: fi != nil, dir: fi != nil && fi.IsDir(), assertsDir: strings.HasSuffix(p, "/") || endsInDot(p)}
	if fi == nil {
		parent := path.Dir(rel)
		pfi, err := t.lstat(parent)
		switch {
		case err != nil:
			return nil, fmt.Errorf("%s %s: %w", p, t.where, err)
		case pfi == nil:
			return nil, fmt.Errorf("%s: directory /%s does not exist %s: create it first", p, parent, t.where)
		case !pfi.IsDir():
			return nil, fmt.Errorf("%s: /%s is not a directory %s", p, parent, t.where)
		}
	}
	return d, nil
}

var (
	errDirOntoFile = errors.New("is not a directory: a directory cannot be copied onto a file")
	errNoSuchDir   = errors.New("does not exist: a path ending in / names a directory, and a file is copied only into an existing one")
)

// place decides where a copy's entries go, as docker cp does: into the
// destination when it is an existing directory, keeping the source's
// name; otherwise into the destination's parent, under the destination's
// name (replacing a file there, or making the directory).
func place(srcDir bool, srcName string, dst *destination) (dir, name string, err error) {
	switch {
	case dst.exists && dst.dir:
		return dst.rel, srcName, nil
	case dst.exists && srcDir:
		return "", "", errDirOntoFile
	case !dst.exists && !srcDir && dst.assertsDir:
		return "", "", errNoSuchDir
	}
	return path.Dir(dst.rel), path.Base(dst.rel), nil
}
