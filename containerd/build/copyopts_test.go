package build

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func optsContext(t *testing.T) *Context {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"dir1/a.png", "dir1/b.txt", "dir2/c.txt", "dir2/sub/d.png", "top.txt", "top.png"} {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c, err := OpenContext(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestExcludeFiles: --exclude matches below a selected directory by the
// path relative to it, a selected file by its name, as BuildKit does.
func TestExcludeFiles(t *testing.T) {
	c := optsContext(t)
	tests := []struct {
		src     string
		exclude []string
		want    string
	}{
		{".", []string{"*/*.png"}, ".,dir1,dir1/b.txt,dir2,dir2/c.txt,dir2/sub,dir2/sub/d.png,top.png,top.txt"},
		{".", []string{"**/*.png"}, ".,dir1,dir1/b.txt,dir2,dir2/c.txt,dir2/sub,top.txt"},
		{"dir2", []string{"*.txt"}, "dir2,dir2/sub,dir2/sub/d.png"},
		{"dir2", []string{"sub"}, "dir2,dir2/c.txt"},
		{"top*", []string{"*.png"}, "top.txt"},
		{"dir*", []string{"*"}, "dir1,dir2"},
		{"dir*", []string{"*", "!b.txt"}, "dir1,dir1/b.txt,dir2"},
	}
	for _, tt := range tests {
		files, err := c.Select(tt.src)
		if err != nil {
			t.Fatal(err)
		}
		pm, err := copyOpts{exclude: tt.exclude}.matcher()
		if err != nil {
			t.Fatal(err)
		}
		got, err := excludeFiles(files, pm)
		if err != nil {
			t.Fatal(err)
		}
		if rels(got) != tt.want {
			t.Errorf("excludeFiles(%q, %q) = %s, want %s", tt.src, tt.exclude, rels(got), tt.want)
		}
	}
}

func TestParentsPivot(t *testing.T) {
	for src, want := range map[string]string{
		"a/b/c.txt":    "",
		"./a/b":        "",
		"a/./b/c.txt":  "a",
		"./a/b/./c/d":  "a/b",
		"/x/./y":       "x",
		"a/./b/./c":    "a/b",
		"dir*/./*.txt": "dir*",
	} {
		if got := parentsPivot(src); got != want {
			t.Errorf("parentsPivot(%q) = %q, want %q", src, got, want)
		}
	}
}

// TestCopyParents: COPY --parents keeps each file's path from the
// context's root, or from a "/./" in the source.
func TestCopyParents(t *testing.T) {
	c := optsContext(t)
	tests := []struct {
		srcs []string
		want string
	}{
		{[]string{"dir*/*.txt"}, "out drwxr-xr-x\nout/dir1 drwxr-xr-x\nout/dir1/b.txt -rw-r--r--\nout/dir2 drwxr-xr-x\nout/dir2/c.txt -rw-r--r--"},
		{[]string{"dir2/./sub"}, "out drwxr-xr-x\nout/sub drwxr-xr-x\nout/sub/d.png -rw-r--r--"},
		{[]string{"top.txt", "dir1/b.txt"}, "out drwxr-xr-x\nout/dir1 drwxr-xr-x\nout/dir1/b.txt -rw-r--r--\nout/top.txt -rw-r--r--"},
	}
	for _, tt := range tests {
		root := t.TempDir()
		cp := &copier{root: root}
		for _, s := range tt.srcs {
			files, err := c.Select(s)
			if err != nil {
				t.Fatal(err)
			}
			if err := cp.copyParents(c, files, "/out", parentsPivot(s)); err != nil {
				t.Fatal(err)
			}
		}
		if got := tree(t, root); got != tt.want {
			t.Errorf("COPY --parents %q:\n%s\nwant:\n%s", tt.srcs, got, tt.want)
		}
	}
}

func TestVerifyChecksum(t *testing.T) {
	file := filepath.Join(t.TempDir(), "dl")
	if err := os.WriteFile(file, []byte("payload"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("payload"))
	right := "sha256:" + hex.EncodeToString(sum[:])
	tests := []struct{ checksum, want string }{
		{right, ""},
		{"", ""},
		{"sha256:" + strings.Repeat("0", 64), "the download's checksum is " + right + ", not the sha256:000"},
		{"sha256:00", "give sha256:<64 hex digits>"},
		{"md5:abc", "give sha256:<64 hex digits>"},
	}
	for _, tt := range tests {
		err := verifyChecksum(file, "https://example.invalid/dl", tt.checksum)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("verifyChecksum(%q) = %v, want %q", tt.checksum, err, tt.want)
		}
	}
}

func TestChecksumSources(t *testing.T) {
	tests := []struct {
		srcs []string
		want string
	}{
		{[]string{"https://example.invalid/x"}, ""},
		{[]string{"x.tar"}, `"x.tar" is no http:// or https:// URL`},
		{[]string{"https://a.invalid/x", "https://a.invalid/y"}, "takes one source, not 2"},
	}
	for _, tt := range tests {
		err := checksumSources(tt.srcs)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("checksumSources(%q) = %v, want %q", tt.srcs, err, tt.want)
		}
	}
}
