package build

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testContext makes a context directory:
//
//	a.txt  dir/b.txt  dir/c.log  dir/keep.log  secret.env  link-in -> a.txt  out -> <outside>
//
// with a .dockerignore excluding *.log (but dir/keep.log) and secret.env.
func testContext(t *testing.T) *Context {
	t.Helper()
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "passwd"), []byte("root"), 0o644)
	dir := t.TempDir()
	files := map[string]string{
		"a.txt": "a", "dir/b.txt": "b", "dir/c.log": "c", "dir/keep.log": "keep", "secret.env": "TOKEN=x",
		".dockerignore": "**/*.log\n!dir/keep.log\nsecret.env\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Symlink("a.txt", filepath.Join(dir, "link-in"))
	os.Symlink(filepath.Join(outside, "passwd"), filepath.Join(dir, "out"))
	c, err := OpenContext(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func rels(files []File) string {
	var out []string
	for _, f := range files {
		out = append(out, f.Rel)
	}
	return strings.Join(out, ",")
}

func TestSelect(t *testing.T) {
	c := testContext(t)
	tests := []struct {
		src, want, wantErr string
	}{
		{"a.txt", "a.txt", ""},
		{"/a.txt", "a.txt", ""}, // absolute sources are rooted at the context, as in Docker
		{"./dir/../a.txt", "a.txt", ""},
		{"dir", "dir,dir/b.txt,dir/keep.log", ""},
		{"*.txt", "a.txt", ""},
		{"dir/*.log", "dir/keep.log", ""},
		{"link-in", "link-in", ""},
		{"../etc/passwd", "", "outside the build context"},
		{"dir/../../x", "", "outside the build context"},
		{"out", "", "leads outside the build context through a symlink"},
		{"secret.env", "", "matches no file"},
		{"nope", "", "matches no file"},
	}
	for _, tt := range tests {
		got, err := c.Select(tt.src)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Select(%q) = %s, %v; want error %q", tt.src, rels(got), err, tt.wantErr)
			}
			continue
		}
		if err != nil || rels(got) != tt.want {
			t.Errorf("Select(%q) = %s, %v; want %s", tt.src, rels(got), err, tt.want)
		}
	}
}

func TestHash(t *testing.T) {
	c := testContext(t)
	hash := func() string {
		files, err := c.Select("dir")
		if err != nil {
			t.Fatal(err)
		}
		h, err := c.Hash(files)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	first := hash()
	// A new modification time alone changes nothing COPY writes.
	later := time.Now().Add(time.Hour)
	os.Chtimes(filepath.Join(c.Root, "dir/b.txt"), later, later)
	if hash() != first {
		t.Errorf("the hash changed with the mtime only")
	}
	// An excluded file changing changes nothing either.
	os.WriteFile(filepath.Join(c.Root, "dir/c.log"), []byte("changed"), 0o644)
	if hash() != first {
		t.Errorf("the hash changed with a .dockerignore'd file")
	}
	for _, change := range []func(){
		func() { os.WriteFile(filepath.Join(c.Root, "dir/b.txt"), []byte("B"), 0o644) },
		func() { os.Chmod(filepath.Join(c.Root, "dir/b.txt"), 0o755) },
		func() { os.WriteFile(filepath.Join(c.Root, "dir/new.txt"), []byte("n"), 0o644) },
	} {
		before := hash()
		change()
		if hash() == before {
			t.Errorf("the hash did not change with the content, mode or file list")
		}
	}
}

func TestDockerfileIgnoreWins(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a"), 0o644)
	os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte("a.txt\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "Dockerfile.dockerignore"), []byte("nothing\n"), 0o644)
	c, err := OpenContext(dir, filepath.Join(dir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("a.txt"); err != nil {
		t.Errorf("Dockerfile.dockerignore should replace .dockerignore: %v", err)
	}
}

// TestOpenContextLayouts: the context is the directory its path names as
// the system resolves it, however it is spelled; Select(".") of it never
// names a file outside it (such as the directory holding a symlink to it).
func TestOpenContextLayouts(t *testing.T) {
	base := t.TempDir()
	for _, d := range []string{"real/ctx/sub", "elsewhere"} {
		if err := os.MkdirAll(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range map[string]string{"real/secret": "s", "real/ctx/a": "a", "secret": "s"} {
		if err := os.WriteFile(filepath.Join(base, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, target := range map[string]string{
		"l1": "real/ctx", "l2": "real/ctx/sub", "real/ctx/up": "..", "elsewhere/into": "../real/ctx/sub",
	} {
		if err := os.Symlink(target, filepath.Join(base, name)); err != nil {
			t.Fatal(err)
		}
	}
	ctx := filepath.Join(base, "real/ctx")
	tests := []struct {
		dir string
		// cwd, when set, is where the path is taken from (and $PWD).
		cwd, want string
	}{
		{dir: "real/ctx", want: ctx},
		{dir: "real/ctx/.", want: ctx},
		{dir: "l1", want: ctx},
		{dir: "l1/", want: ctx},
		{dir: "l2/..", want: ctx},
		{dir: "elsewhere/into/..", want: ctx},
		{dir: "real/ctx/sub/..", want: ctx},
		{dir: "real/ctx/up/ctx", want: ctx},
		{dir: "..", cwd: "l2", want: ctx},
		{dir: "..", cwd: "elsewhere/into", want: ctx},
		{dir: ".", cwd: "l1", want: ctx},
	}
	for _, tt := range tests {
		t.Run(tt.cwd+":"+tt.dir, func(t *testing.T) {
			dir := filepath.Join(base, tt.dir)
			if strings.HasSuffix(tt.dir, "..") || strings.HasSuffix(tt.dir, "/") {
				dir = base + "/" + tt.dir // as written: Join would clean it
			}
			if tt.cwd != "" {
				t.Chdir(filepath.Join(base, tt.cwd))
				t.Setenv("PWD", filepath.Join(base, tt.cwd)) // the shell's logical path, which os.Getwd prefers
				dir = tt.dir
			}
			c, err := OpenContext(dir, "")
			if err != nil {
				t.Fatalf("OpenContext(%q) = %v", dir, err)
			}
			if c.Root != tt.want {
				t.Errorf("OpenContext(%q).Root = %s, want %s", dir, c.Root, tt.want)
			}
			files, err := c.Select(".")
			if err != nil {
				t.Fatalf("Select(.) = %v", err)
			}
			for _, f := range files {
				if f.Rel != "." && !filepath.IsLocal(f.Rel) {
					t.Errorf("Select(.) gave %q, not below the context", f.Rel)
				}
				if strings.Contains(f.Rel, "secret") {
					t.Errorf("Select(.) of %s gave %q, outside the context %s", dir, f.Rel, tt.want)
				}
			}
		})
	}
}
