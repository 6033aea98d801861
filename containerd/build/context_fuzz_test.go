package build

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth/berth/fscopy/fscopytest"
)

// layoutNames and layoutLinks are what FuzzSelect builds contexts from:
// a layout byte picks a kind (file, directory, symlink), a name and, for
// a symlink, a target; "$OUT" is a directory beside the context and
// "$HOST" one elsewhere on the host.
var (
	layoutNames = []string{"a", "b.txt", "d", "d/e", "d/e/f", "d/.hidden", "up", "self", "x y", "d/up"}
	layoutLinks = []string{".", "..", "../..", "/", "d", "a", "$OUT", "$OUT/secret", "$HOST", "$HOST/canary",
		"../out", "../out/secret", "d/../..", "./../out", "../ctx", "../ctx/..", "nowhere", "/d"}
)

// buildLayout makes a context directory, parent/ctx, from layout bytes
// (two per file: kind and name, then for a symlink a third: its target),
// and returns the path to open it by: the directory or, as the first byte
// says, a symlink to it or "link/.." where link leads into it.
func buildLayout(t *testing.T, parent, host string, layout []byte) string {
	t.Helper()
	ctx := filepath.Join(parent, "ctx")
	out := filepath.Join(parent, "out")
	for _, d := range []string{ctx, out} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(out, "secret"), []byte("outside the context"), 0o600); err != nil {
		t.Fatal(err)
	}
	open := ctx
	switch {
	case len(layout) > 0 && layout[0]%3 == 0: // through a symlink to it
		open = filepath.Join(parent, "ctxlink")
		if err := os.Symlink("ctx", open); err != nil {
			t.Fatal(err)
		}
	case len(layout) > 0 && layout[0]%3 == 1: // as the parent of where a symlink leads
		if err := os.MkdirAll(filepath.Join(ctx, "d"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("ctx/d", filepath.Join(parent, "ctxsub")); err != nil {
			t.Fatal(err)
		}
		open = parent + "/ctxsub/.."
	}
	ctxReal, err := filepath.EvalSymlinks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for len(layout) >= 2 {
		kind, name := layout[0]%3, layoutNames[int(layout[1])%len(layoutNames)]
		layout = layout[2:]
		target := ""
		if kind == 2 {
			if len(layout) == 0 {
				return open
			}
			target = strings.NewReplacer("$OUT", out, "$HOST", host).Replace(layoutLinks[int(layout[0])%len(layoutLinks)])
			layout = layout[1:]
		}
		p := filepath.Join(ctx, name)
		// The layout is made inside the context only: never through a
		// symlink an earlier entry made (the host's canary must change
		// only if the code under test changes it).
		if !madeInside(p, ctxReal) {
			continue
		}
		if fi, err := os.Lstat(p); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			os.Remove(p) //nolint:errcheck // replaced, not followed
		}
		os.MkdirAll(filepath.Dir(p), 0o755) //nolint:errcheck // a file in the way: the entry fails below
		switch kind {
		case 0:
			os.WriteFile(p, []byte(name), 0o644) //nolint:errcheck // names may clash: what is made is what is tested
		case 1:
			os.MkdirAll(p, 0o755) //nolint:errcheck // as above
		case 2:
			os.Symlink(target, p) //nolint:errcheck // as above
		}
	}
	return open
}

// madeInside reports whether making p would stay in root: its nearest
// existing ancestor, symlinks resolved, is root or below it.
func madeInside(p, root string) bool {
	for dir := filepath.Dir(p); ; dir = filepath.Dir(dir) {
		if _, err := os.Lstat(dir); err == nil {
			real, err := filepath.EvalSymlinks(dir)
			return err == nil && (real == root || strings.HasPrefix(real, root+string(filepath.Separator)))
		}
		if dir == filepath.Dir(dir) {
			return false
		}
	}
}

// within reports whether p, its symlinks resolved, is dir or below it.
func within(p, dir string) bool {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return true // nothing there to read
	}
	return real == dir || strings.HasPrefix(real, dir+string(filepath.Separator))
}

// FuzzSelect: whatever the context holds (symlinks up, out, to the host,
// looping), whatever .dockerignore says and whatever the source is,
// Select never panics and never names a file outside the context: every
// file it gives is a path below the context whose directory is in the
// context, and which is in the context itself unless it is a symlink
// (copied as one).
func FuzzSelect(f *testing.F) {
	f.Add([]byte{1, 2, 0, 4, 2, 6, 1}, "", ".")
	f.Add([]byte{3, 2, 2, 7, 0, 0}, "*\n!a", ".")
	f.Add([]byte{1, 2, 2, 6, 1, 0, 1}, "", "up")
	f.Add([]byte{1, 2, 2, 7, 3, 0, 1}, "**/*.txt", "*")
	f.Add([]byte{0, 2, 2, 9, 8, 0, 1}, "", "d/up/..")
	f.Add([]byte{1, 2, 2, 6, 14}, "!../out", "./up/../")
	f.Add([]byte{1, 2, 2, 6, 10}, "", "/..")
	f.Fuzz(func(t *testing.T, layout []byte, ignore, src string) {
		if len(layout) > 64 || len(ignore) > 256 || len(src) > 128 {
			return
		}
		host := fscopytest.NewCanary(t)
		parent := t.TempDir()
		open := buildLayout(t, parent, host.Dir, layout)
		if strings.ContainsRune(ignore, 0) {
			return
		}
		os.WriteFile(filepath.Join(parent, "ctx", ".dockerignore"), []byte(ignore), 0o644) //nolint:errcheck // a directory may be in the way
		c, err := OpenContext(open, "")
		if err != nil {
			return
		}
		if want, _ := filepath.EvalSymlinks(filepath.Join(parent, "ctx")); c.Root != want {
			t.Fatalf("OpenContext(%q).Root = %s, want %s", open, c.Root, want)
		}
		files, err := c.Select(src)
		host.Check(t)
		if err != nil {
			return
		}
		for _, f := range files {
			for _, p := range []string{f.Rel, f.Root} {
				if p != "." && !filepath.IsLocal(p) {
					t.Fatalf("Select(%q) gave %q (root %q): not a path below the context", src, f.Rel, f.Root)
				}
			}
			full := filepath.Join(c.Root, filepath.FromSlash(f.Rel))
			if !within(filepath.Dir(full), c.Root) && f.Rel != "." {
				t.Fatalf("Select(%q) gave %q, whose directory is outside the context %s", src, f.Rel, c.Root)
			}
			if f.Info.Mode().Type() != os.ModeSymlink && !within(full, c.Root) {
				t.Fatalf("Select(%q) gave %q, which is outside the context %s", src, f.Rel, c.Root)
			}
		}
	})
}
