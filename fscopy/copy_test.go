package fscopy

import (
	"archive/tar"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

var mtime = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// makeFiles creates files under root: "path": "content" for a file,
// "path/": "" for a directory, "path": "-> target" for a symlink, and
// "path": "=> other" for a hard link to other.
func makeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v, p := files[n], filepath.Join(root, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case strings.HasSuffix(n, "/"):
			err = os.MkdirAll(p, 0o755)
		case strings.HasPrefix(v, "-> "):
			err = os.Symlink(strings.TrimPrefix(v, "-> "), p)
		case strings.HasPrefix(v, "=> "):
			err = os.Link(filepath.Join(root, strings.TrimPrefix(v, "=> ")), p)
		default:
			if err = os.WriteFile(p, []byte(v), 0o640); err == nil {
				err = os.Chtimes(p, mtime, mtime)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// listFiles describes what is under root in makeFiles' notation (hard
// links show as their content).
func listFiles(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			out[rel] = "-> " + target
			return err
		case d.IsDir():
			out[rel+"/"] = ""
		default:
			b, err := os.ReadFile(p)
			out[rel] = string(b)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// source tree of the copies (a container's root, or the host).
var srcFiles = map[string]string{
	"file.txt":        "hello",
	"dir/a.txt":       "a",
	"dir/sub/b.txt":   "b",
	"dir/link":        "-> a.txt",
	"dir/abs":         "-> /file.txt",
	"filelink":        "-> file.txt",
	"dirlink":         "-> /dir",
	"esc":             "-> ../../../../../../../../etc",
	"hard/one":        "same",
	"hard/two":        "=> hard/one",
	"dir/sub/empty/":  "",
	"deep/a/b/c/d.md": "d",
}

// destination tree, before each copy.
var dstFiles = map[string]string{
	"existing/":    "",
	"existing.txt": "old",
	"dlink":        "-> /existing",
	"broken":       "-> /made-by-link",
	"out":          "-> ../../../../../../../../tmp",
}

// TestCopyTree: docker cp's rules for files, directories, symlinks and
// missing paths, between two trees on temp dirs.
func TestCopyTree(t *testing.T) {
	dirA := map[string]string{"a.txt": "a", "sub/": "", "sub/b.txt": "b", "link": "-> a.txt", "abs": "-> /file.txt", "sub/empty/": ""}
	under := func(prefix string, files map[string]string) map[string]string {
		out := map[string]string{prefix + "/": ""}
		for k, v := range files {
			out[prefix+"/"+k] = v
		}
		return out
	}
	tests := []struct {
		name, src, dst string
		follow         bool
		// want are the files added or changed in the destination tree.
		want    map[string]string
		wantErr string
	}{
		{name: "file to new name", src: "/file.txt", dst: "/new.txt", want: map[string]string{"new.txt": "hello"}},
		{name: "relative container path", src: "file.txt", dst: "new.txt", want: map[string]string{"new.txt": "hello"}},
		{name: "file into directory", src: "/file.txt", dst: "/existing", want: map[string]string{"existing/file.txt": "hello"}},
		{name: "file into directory with slash", src: "/file.txt", dst: "/existing/", want: map[string]string{"existing/file.txt": "hello"}},
		{name: "file onto file", src: "/file.txt", dst: "/existing.txt", want: map[string]string{"existing.txt": "hello"}},
		{name: "file into root", src: "/file.txt", dst: "/", want: map[string]string{"file.txt": "hello"}},
		{name: "file to missing directory", src: "/file.txt", dst: "/nodir/", wantErr: "/nodir/ in dst does not exist: a path ending in / names a directory"},
		{name: "missing parent", src: "/file.txt", dst: "/missing/x.txt", wantErr: "/missing/x.txt: directory /missing does not exist in dst: create it first"},
		{name: "parent is a file", src: "/file.txt", dst: "/existing.txt/x", wantErr: "/existing.txt is not a directory in dst"},
		{name: "directory into directory", src: "/dir", dst: "/existing", want: under("existing/dir", dirA)},
		{name: "directory contents into directory", src: "/dir/.", dst: "/existing", want: under("existing", dirA)},
		{name: "directory to new name", src: "/dir", dst: "/newdir", want: under("newdir", dirA)},
		{name: "directory contents to new name", src: "/dir/.", dst: "/newdir", want: under("newdir", dirA)},
		{name: "directory with slash", src: "/dir/", dst: "/existing", want: under("existing/dir", dirA)},
		{name: "root contents", src: "/", dst: "/existing/all", want: func() map[string]string {
			out := under("existing/all", srcFiles)
			for k := range out { // makeFiles makes parents implicitly
				for i, c := range k[:len(k)-1] {
					if c == '/' {
						out[k[:i+1]] = ""
					}
				}
			}
			out["existing/all/hard/two"] = "same"
			return out
		}()},
		{name: "directory onto file", src: "/dir", dst: "/existing.txt", wantErr: "/existing.txt in dst is not a directory: a directory cannot be copied onto a file"},
		{name: "symlink is copied as symlink", src: "/filelink", dst: "/existing", want: map[string]string{"existing/filelink": "-> file.txt"}},
		{name: "symlink followed with -L", src: "/filelink", dst: "/existing", follow: true, want: map[string]string{"existing/filelink": "hello"}},
		{name: "directory symlink kept", src: "/dirlink", dst: "/existing", want: map[string]string{"existing/dirlink": "-> /dir"}},
		{name: "directory symlink followed with -L keeps its name", src: "/dirlink", dst: "/existing", follow: true, want: under("existing/dirlink", dirA)},
		{name: "trailing slash follows a directory symlink", src: "/dirlink/", dst: "/x", want: under("x", dirA)},
		{name: "absolute symlink resolves inside the tree", src: "/dir/abs", dst: "/new.txt", follow: true, want: map[string]string{"new.txt": "hello"}},
		{name: "destination symlink to directory is followed", src: "/file.txt", dst: "/dlink", want: map[string]string{"existing/file.txt": "hello"}},
		{name: "broken destination symlink makes its target", src: "/file.txt", dst: "/broken", want: map[string]string{"made-by-link": "hello"}},
		{name: "escaping destination symlink stays inside", src: "/file.txt", dst: "/out", want: map[string]string{"tmp": "hello"}},
		{name: "escaping source symlink", src: "/esc/passwd", dst: "/x", wantErr: "/esc/passwd: no such file or directory in src (it leads to /etc/passwd there: symlinks are followed inside, never out of it)"},
		{name: "escaping symlink followed", src: "/esc", dst: "/x", follow: true, wantErr: "/esc: no such file or directory in src (it leads to /etc there"},
		{name: "missing source", src: "/nope", dst: "/x", wantErr: "/nope: no such file or directory in src"},
		{name: "file with slash", src: "/file.txt/", dst: "/x", wantErr: "/file.txt/ in src is not a directory"},
		{name: "file with slash dot", src: "/file.txt/.", dst: "/x", wantErr: "/file.txt/. in src is not a directory"},
		{name: "dot dot stays in the tree", src: "/../../file.txt", dst: "/../new.txt", want: map[string]string{"new.txt": "hello"}},
		{name: "hard links stay linked", src: "/hard", dst: "/existing", want: map[string]string{"existing/hard/": "", "existing/hard/one": "same", "existing/hard/two": "same"}},
		{name: "deep directory", src: "/deep", dst: "/d2", want: map[string]string{"d2/": "", "d2/a/": "", "d2/a/b/": "", "d2/a/b/c/": "", "d2/a/b/c/d.md": "d"}},
	}
	srcRoot := t.TempDir()
	makeFiles(t, srcRoot, srcFiles)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dstRoot := t.TempDir()
			makeFiles(t, dstRoot, dstFiles)
			before := listFiles(t, dstRoot)
			from, to := mustOpen(t, srcRoot, "in src"), mustOpen(t, dstRoot, "in dst")
			me := &Owner{UID: os.Getuid(), GID: os.Getgid()}
			err := copyTree(from, tt.src, to, tt.dst, tt.follow, me)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("copyTree(%q, %q) = %v, want error containing %q", tt.src, tt.dst, err, tt.wantErr)
				}
				if got := listFiles(t, dstRoot); !sameFiles(got, before) {
					t.Errorf("a failed copy changed the destination:\n%s", diffFiles(got, before))
				}
				return
			}
			if err != nil {
				t.Fatalf("copyTree(%q, %q) = %v", tt.src, tt.dst, err)
			}
			want := before
			for k, v := range tt.want {
				want[k] = v
			}
			if got := listFiles(t, dstRoot); !sameFiles(got, want) {
				t.Errorf("copyTree(%q, %q) left:\n%s", tt.src, tt.dst, diffFiles(got, want))
			}
		})
	}
}

func mustOpen(t *testing.T, dir, where string) *tree {
	t.Helper()
	tr, err := openTree(dir, where)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func sameFiles(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func diffFiles(got, want map[string]string) string {
	var lines []string
	for k, v := range got {
		if w, ok := want[k]; !ok {
			lines = append(lines, "+ "+k+" "+v)
		} else if w != v {
			lines = append(lines, "~ "+k+" "+v+" (want "+w+")")
		}
	}
	for k, v := range want {
		if _, ok := got[k]; !ok {
			lines = append(lines, "- "+k+" "+v)
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestCopyKeepsModesAndTimes: permissions, setuid bits and times come
// along; hard links share an inode.
func TestCopyKeepsModesAndTimes(t *testing.T) {
	srcRoot, dstRoot := t.TempDir(), t.TempDir()
	makeFiles(t, srcRoot, map[string]string{"d/x": "x", "d/y": "=> d/x", "d/s": "-> x"})
	if err := os.Chmod(filepath.Join(srcRoot, "d/x"), fs.ModeSetuid|0o751); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(srcRoot, "d"), 0o710); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(srcRoot, "d"), mtime, mtime); err != nil {
		t.Fatal(err)
	}
	err := copyTree(mustOpen(t, srcRoot, "in src"), "/d", mustOpen(t, dstRoot, "in dst"), "/d", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		mode fs.FileMode
	}{{"d", fs.ModeDir | 0o710}, {"d/x", fs.ModeSetuid | 0o751}} {
		fi, err := os.Lstat(filepath.Join(dstRoot, c.name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != c.mode {
			t.Errorf("%s: mode %v, want %v", c.name, fi.Mode(), c.mode)
		}
		if !fi.ModTime().Equal(mtime) {
			t.Errorf("%s: mtime %v, want %v", c.name, fi.ModTime(), mtime)
		}
	}
	x, _ := os.Stat(filepath.Join(dstRoot, "d/x"))
	l, _ := os.Stat(filepath.Join(dstRoot, "d/y"))
	if x.Sys().(*syscall.Stat_t).Ino != l.Sys().(*syscall.Stat_t).Ino {
		t.Errorf("d/y is not a hard link of d/x any more")
	}
}

// TestTarStream: a tree written as a tar stream and read back into
// another; a stream is only extracted into a directory, and an entry
// climbing out of it is refused.
func TestTarStream(t *testing.T) {
	srcRoot, dstRoot := t.TempDir(), t.TempDir()
	makeFiles(t, srcRoot, srcFiles)
	makeFiles(t, dstRoot, dstFiles)
	var buf bytes.Buffer
	if err := writeTar(&buf, mustOpen(t, srcRoot, "in src"), "/dir", false); err != nil {
		t.Fatal(err)
	}
	var names []string
	tr := tar.NewReader(bytes.NewReader(buf.Bytes()))
	for h, err := tr.Next(); err == nil; h, err = tr.Next() {
		names = append(names, h.Name)
	}
	want := "dir/ dir/a.txt dir/abs dir/link dir/sub/ dir/sub/b.txt dir/sub/empty/"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("tar entries %q, want %q", got, want)
	}
	to := mustOpen(t, dstRoot, "in dst")
	if err := extractTar(bytes.NewReader(buf.Bytes()), to, "/dlink", nil); err != nil {
		t.Fatal(err)
	}
	got := listFiles(t, dstRoot)
	if got["existing/dir/sub/b.txt"] != "b" || got["existing/dir/link"] != "-> a.txt" {
		t.Errorf("extracted:\n%s", diffFiles(got, nil))
	}
	if err := extractTar(bytes.NewReader(buf.Bytes()), to, "/existing.txt", nil); err == nil || !strings.Contains(err.Error(), "/existing.txt in dst is not an existing directory") {
		t.Errorf("extract onto a file: %v", err)
	}
	var evil bytes.Buffer
	tw := tar.NewWriter(&evil)
	tw.WriteHeader(&tar.Header{Name: "../../escaped", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1}) //nolint:errcheck // into a buffer
	tw.Write([]byte("x"))                                                                           //nolint:errcheck // into a buffer
	tw.Close()
	if err := extractTar(&evil, to, "/existing", nil); err == nil || !strings.Contains(err.Error(), "leads out of the destination directory") {
		t.Errorf("extract ../../escaped: %v", err)
	}
	// A symlink in the stream, then an entry through it: it stays inside.
	var sneaky bytes.Buffer
	tw = tar.NewWriter(&sneaky)
	tw.WriteHeader(&tar.Header{Name: "up", Typeflag: tar.TypeSymlink, Linkname: "../../../../../../.."}) //nolint:errcheck // into a buffer
	tw.WriteHeader(&tar.Header{Name: "up/inside", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1})          //nolint:errcheck // into a buffer
	tw.Write([]byte("y"))                                                                                //nolint:errcheck // into a buffer
	tw.Close()
	if err := extractTar(&sneaky, to, "/existing", nil); err != nil {
		t.Fatal(err)
	}
	if got := listFiles(t, dstRoot)["inside"]; got != "y" {
		t.Errorf("entry through a symlink in the stream: /inside is %q, want y (written inside the tree)", got)
	}
}

func TestPlace(t *testing.T) {
	tests := []struct {
		name      string
		srcDir    bool
		srcName   string
		dst       destination
		dir, base string
		err       error
	}{
		{"file into dir", false, "f", destination{rel: "d", exists: true, dir: true}, "d", "f", nil},
		{"contents into dir", true, ".", destination{rel: "d", exists: true, dir: true}, "d", ".", nil},
		{"file onto file", false, "f", destination{rel: "d/g", exists: true}, "d", "g", nil},
		{"dir onto file", true, "f", destination{rel: "d/g", exists: true}, "", "", errDirOntoFile},
		{"dir to new", true, "src", destination{rel: "d/new"}, "d", "new", nil},
		{"contents to new", true, ".", destination{rel: "d/new", assertsDir: true}, "d", "new", nil},
		{"file to new dir", false, "f", destination{rel: "d/new", assertsDir: true}, "", "", errNoSuchDir},
		{"file to new", false, "f", destination{rel: "new"}, ".", "new", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, base, err := place(tt.srcDir, tt.srcName, &tt.dst)
			if dir != tt.dir || base != tt.base || err != tt.err {
				t.Errorf("place(%v, %q, %+v) = %q, %q, %v, want %q, %q, %v", tt.srcDir, tt.srcName, tt.dst, dir, base, err, tt.dir, tt.base, tt.err)
			}
		})
	}
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		src, dst string
		want     Request
		wantErr  string
	}{
		{"web:/etc/hosts", ".", Request{Service: "web", ContainerPath: "/etc/hosts", HostPath: "."}, ""},
		{"./a:b", "web:/tmp", Request{Service: "web", ContainerPath: "/tmp", HostPath: "./a:b", ToContainer: true}, ""},
		{"-", "web:/tmp", Request{Service: "web", ContainerPath: "/tmp", HostPath: "-", ToContainer: true}, ""},
		{"web:etc", "-", Request{Service: "web", ContainerPath: "etc", HostPath: "-"}, ""},
		{"/abs:x", "web:/", Request{Service: "web", ContainerPath: "/", HostPath: "/abs:x", ToContainer: true}, ""},
		{"a", "b", Request{}, "one of the paths must be SERVICE:PATH"},
		{"web:/a", "db:/b", Request{}, "copying between containers is not supported"},
		{"web:", ".", Request{}, `"web:" names no path in the container: write web:/path`},
	}
	for _, tt := range tests {
		got, err := ParseArgs(tt.src, tt.dst)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseArgs(%q, %q) = %v, want error containing %q", tt.src, tt.dst, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseArgs(%q, %q) = %+v, %v, want %+v", tt.src, tt.dst, got, err, tt.want)
		}
	}
}
