package build

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/opencontainers/go-digest"
)

// copyOpts are COPY's and ADD's flags past the sources: --exclude
// patterns, COPY --parents, ADD --checksum.
type copyOpts struct {
	exclude  []string
	parents  bool
	checksum string
}

// expand expands the flags' variables.
func (o *copyOpts) expand(expand func(string) (string, error)) error {
	var err error
	if o.checksum, err = expand(o.checksum); err != nil {
		return fmt.Errorf("--checksum: %w", err)
	}
	out := make([]string, 0, len(o.exclude))
	for _, p := range o.exclude {
		e, err := expand(p)
		if err != nil {
			return fmt.Errorf("--exclude=%s: %w", p, err)
		}
		out = append(out, e)
	}
	if len(out) > 0 {
		o.exclude = out
	}
	return nil
}

// matcher is the --exclude patterns' matcher, nil without any.
func (o copyOpts) matcher() (*patternmatcher.PatternMatcher, error) {
	if len(o.exclude) == 0 {
		return nil, nil
	}
	pm, err := patternmatcher.New(o.exclude)
	if err != nil {
		return nil, fmt.Errorf("--exclude: %w", err)
	}
	return pm, nil
}

// excludeFiles drops the files --exclude matches, as BuildKit matches
// them: below a selected directory by their path relative to it (in
// .dockerignore's syntax, so *.txt is at its top, */*.txt one down), a
// selected file by its name. A selected directory itself stays.
func excludeFiles(files []File, pm *patternmatcher.PatternMatcher) ([]File, error) {
	if pm == nil {
		return files, nil
	}
	out := make([]File, 0, len(files))
	for _, f := range files {
		var rel string
		switch {
		case f.Rel == f.Root && f.Info.IsDir():
			out = append(out, f)
			continue
		case f.Rel == f.Root:
			rel = path.Base(f.Rel)
		case f.Root == ".":
			rel = f.Rel
		default:
			rel = strings.TrimPrefix(f.Rel, f.Root+"/")
		}
		m, err := pm.MatchesOrParentMatches(rel)
		if err != nil {
			return nil, fmt.Errorf("--exclude: %w", err)
		}
		if !m {
			out = append(out, f)
		}
	}
	return out, nil
}

// parentsPivot is the part of a COPY --parents source its copies leave
// out: what comes before a "/./" in it ("" when none, so the whole path
// from the context's root is kept).
func parentsPivot(src string) string {
	s := filepath.ToSlash(src)
	i := strings.LastIndex(s, "/./")
	if i <= 0 {
		return ""
	}
	p := strings.TrimPrefix(path.Clean("/"+s[:i]), "/")
	return p
}

// copyParents copies files to dest keeping their paths from the context's
// root (or from pivot), as COPY --parents does.
func (c *copier) copyParents(src *Context, files []File, dest, pivot string) error {
	return c.withRoot(func() error {
		for _, f := range files {
			rel := f.Rel
			if pivot != "" {
				if rel == pivot {
					rel = "."
				} else {
					rel = strings.TrimPrefix(rel, pivot+"/")
				}
			}
			target := path.Join(dest, rel)
			if err := c.mkdirAll(path.Dir(target)); err != nil {
				return err
			}
			if err := c.writeFile(filepath.Join(src.Root, filepath.FromSlash(f.Rel)), f, target); err != nil {
				return fmt.Errorf("copy %s to %s: %w", f.Rel, target, err)
			}
		}
		return c.finish()
	})
}

// checksumSources refuses ADD --checksum where BuildKit does: on several
// sources, on a source that is no URL.
func checksumSources(sources []string) error {
	if len(sources) != 1 {
		return fmt.Errorf("ADD --checksum takes one source, not %d: give each URL an ADD of its own", len(sources))
	}
	if !isURL(sources[0]) {
		return fmt.Errorf("ADD --checksum verifies a download: %q is no http:// or https:// URL (drop --checksum for a context file)", sources[0])
	}
	return nil
}

// verifyChecksum checks a downloaded file against ADD --checksum (a
// digest: sha256:<hex>, or another algorithm's).
func verifyChecksum(file, src, checksum string) error {
	if checksum == "" {
		return nil
	}
	want, err := digest.Parse(checksum)
	if err != nil {
		return fmt.Errorf("ADD --checksum=%s: %w (give sha256:<64 hex digits>)", checksum, err)
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	got, err := want.Algorithm().FromReader(f)
	if err != nil {
		return fmt.Errorf("ADD %s: %w", src, err)
	}
	if got != want {
		return fmt.Errorf("ADD %s: the download's checksum is %s, not the %s --checksum gives", src, got, want)
	}
	return nil
}
