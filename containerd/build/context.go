package build

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	cfs "github.com/containerd/continuity/fs"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// Context is a build context: a directory, less what .dockerignore excludes.
type Context struct {
	// Root is the context directory, absolute and with symlinks resolved.
	Root    string
	matcher *patternmatcher.PatternMatcher
	// rootfs is set for an image's or stage's root filesystem (COPY
	// --from): symlinks resolve inside it, as they would in a container.
	rootfs bool
	// memo, when set, remembers Hash's results by the files' stat (a
	// builder's contexts; see hashMemo).
	memo *hashMemo
}

// RootFS is a context over a mounted root filesystem, for COPY --from:
// no .dockerignore, and symlinks (absolute ones too) resolve inside root.
func RootFS(root string) *Context {
	m, _ := patternmatcher.New(nil)
	return &Context{Root: root, matcher: m, rootfs: true}
}

// OpenContext opens the context directory dir and reads its .dockerignore
// (or <dockerfile>.dockerignore next to the Dockerfile, which wins, as in
// BuildKit).
func OpenContext(dir, dockerfile string) (*Context, error) {
	root, err := contextRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("build context %s: %w", dir, err)
	}
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("build context %s is not a directory", dir)
	}
	var patterns []string
	candidates := []string{filepath.Join(root, ".dockerignore")}
	if dockerfile != "" {
		candidates = append([]string{dockerfile + ".dockerignore"}, candidates...)
	}
	for _, f := range candidates {
		r, err := os.Open(f)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("build context: %w", err)
		}
		patterns, err = ignorefile.ReadAll(r)
		r.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		break
	}
	m, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf("build context %s: .dockerignore: %w", dir, err)
	}
	return &Context{Root: root, matcher: m}, nil
}

// contextRoot is the directory dir names, absolute and with its symlinks
// resolved as the system resolves them: ".." after a symlink climbs from
// where the symlink leads. filepath.Abs would clean "link/.." away
// lexically first, and so name the directory holding the symlink, which
// may be the context's parent or anywhere else.
func contextRoot(dir string) (string, error) {
	p := dir
	if !filepath.IsAbs(p) {
		wd, err := os.Getwd()
		if err != nil {
			return "", err
		}
		p = wd + string(filepath.Separator) + dir
	}
	return filepath.EvalSymlinks(p)
}

// Excluded reports whether a context-relative path (slash-separated) is
// excluded by .dockerignore.
func (c *Context) Excluded(rel string) (bool, error) {
	if rel == "." || rel == "" {
		return false, nil
	}
	return c.matcher.MatchesOrParentMatches(rel)
}

// File is one file of the context selected by a COPY or ADD source.
type File struct {
	// Rel is the slash-separated path relative to the context root.
	Rel string
	// Root is the source path (or glob match) that selected the file: Rel
	// itself, or a directory above it whose contents are copied.
	Root string
	Info fs.FileInfo
	// Link is a symlink's target, as written.
	Link string
}

// Select resolves a COPY/ADD source to the files it names: a path or a
// glob (path.Match syntax), relative to the context root; an absolute
// source means the same path under the root, as in Docker. A directory
// brings everything below it. Sources reaching outside the context (by
// "..", or through a symlink that points out of it) are refused, and so
// is a source that matches nothing.
func (c *Context) Select(src string) ([]File, error) {
	clean := path.Clean("/" + filepath.ToSlash(src))
	if strings.Contains(filepath.ToSlash(src), "..") && escapes(src) {
		return nil, fmt.Errorf("source %q is outside the build context %s: COPY can only take files from the context", src, c.Root)
	}
	rel := strings.TrimPrefix(clean, "/")
	if rel == "" {
		rel = "."
	}
	var roots []string
	if strings.ContainsAny(rel, "*?[") {
		matches, err := c.glob(rel)
		if err != nil {
			return nil, err
		}
		roots = matches
	} else {
		roots = []string{rel}
	}
	var out []File
	for _, r := range roots {
		files, err := c.walk(r)
		if err != nil {
			return nil, err
		}
		out = append(out, files...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("source %q matches no file in the build context %s (or only files .dockerignore excludes)", src, c.Root)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Rel < out[j].Rel })
	return out, nil
}

// escapes reports whether a relative source climbs above its start.
func escapes(src string) bool {
	if filepath.IsAbs(src) {
		return false // absolute sources are rooted at the context
	}
	depth := 0
	for _, part := range strings.Split(filepath.ToSlash(src), "/") {
		switch part {
		case "..":
			depth--
			if depth < 0 {
				return true
			}
		case "", ".":
		default:
			depth++
		}
	}
	return false
}

// glob matches a pattern against the context's paths, segment by segment.
func (c *Context) glob(pattern string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(c.Root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(c.Root, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		ok, err := path.Match(pattern, rel)
		if err != nil {
			return fmt.Errorf("source pattern %q: %w", pattern, err)
		}
		if ok {
			out = append(out, rel)
			if d.IsDir() {
				return fs.SkipDir
			}
		}
		return nil
	})
	return out, err
}

// walk lists a context path and, for a directory, everything below it
// that .dockerignore keeps. The path itself may go through symlinks only
// if they stay inside the context.
func (c *Context) walk(rel string) ([]File, error) {
	abs := filepath.Join(c.Root, filepath.FromSlash(rel))
	if c.rootfs {
		resolved, err := cfs.RootPath(c.Root, rel)
		if err != nil {
			return nil, err
		}
		abs = resolved
		if r, err := filepath.Rel(c.Root, abs); err == nil {
			rel = filepath.ToSlash(r)
		}
	} else if err := c.inside(abs); err != nil {
		return nil, err
	}
	if excluded, err := c.Excluded(rel); err != nil || excluded {
		return nil, err
	}
	var out []File
	err := filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == abs {
			return nil
		}
		if err != nil {
			return err
		}
		r, _ := filepath.Rel(c.Root, p)
		r = filepath.ToSlash(r)
		if p != abs {
			excluded, err := c.Excluded(r)
			if err != nil {
				return err
			}
			if excluded {
				if d.IsDir() && !c.matcher.Exclusions() {
					return fs.SkipDir
				}
				return nil
			}
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		f := File{Rel: r, Root: rel, Info: info}
		if info.Mode()&fs.ModeSymlink != 0 {
			if f.Link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		out = append(out, f)
		return nil
	})
	return out, err
}

// inside checks that abs, with its symlinks resolved, is in the context.
func (c *Context) inside(abs string) error {
	real, err := filepath.EvalSymlinks(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // reported as "matches no file"
	}
	if err != nil {
		return err
	}
	if real != c.Root && !strings.HasPrefix(real, c.Root+string(filepath.Separator)) {
		rel, _ := filepath.Rel(c.Root, abs)
		return fmt.Errorf("source %q leads outside the build context through a symlink (to %s)", filepath.ToSlash(rel), real)
	}
	return nil
}

// Hash is the content hash of selected files: their paths, modes, owners'
// ids are not part of it (the builder sets them), sizes, contents and link
// targets. It changes when and only when what COPY would write changes.
func (c *Context) Hash(files []File) (string, error) {
	if c.memo != nil && !c.rootfs {
		return c.memo.hash(c.Root, files, func() (string, error) { return c.hashFiles(files) })
	}
	return c.hashFiles(files)
}

// hashFiles is Hash, reading every file.
func (c *Context) hashFiles(files []File) (string, error) {
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%s\x00%o\x00", f.Rel, f.Info.Mode())
		switch {
		case f.Info.Mode()&fs.ModeSymlink != 0:
			fmt.Fprintf(h, "link\x00%s\x00", f.Link)
		case f.Info.Mode().IsRegular():
			fmt.Fprintf(h, "%d\x00", f.Info.Size())
			file, err := os.Open(filepath.Join(c.Root, filepath.FromSlash(f.Rel)))
			if err != nil {
				return "", err
			}
			_, err = io.Copy(h, file)
			file.Close()
			if err != nil {
				return "", err
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
