package build

import (
	"archive/tar"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/fscopy/fscopytest"
)

func hdrDir(name string, mode int64) tar.Header {
	return tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: mode, Uid: 4242, Gid: 4242, ModTime: time.Unix(1e9, 0)}
}

func hdrFile(name string) tar.Header {
	return tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, ModTime: time.Unix(1e9, 0)}
}

func hdrSym(name, target string) tar.Header {
	return tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target, Uid: 4242, ModTime: time.Unix(1e9, 0)}
}

func hdrHard(name, target string) tar.Header {
	return tar.Header{Name: name, Typeflag: tar.TypeLink, Linkname: target}
}

// TestExtractStaysInRoot: ADD of an archive writes inside the root, or
// refuses, whatever order and type its entries come in and whatever
// symlinks the image holds; a host file outside is never touched.
// "$HOST" in names and links is the canary directory, outside the root.
func TestExtractStaysInRoot(t *testing.T) {
	const esc = "../../../../../../../../../.."
	tests := []struct {
		name string
		// image are symlinks in the image before the ADD (path: target).
		image   map[string]string
		entries []tar.Header
		// want says what is where, in the root, afterwards.
		want    map[string]string
		wantErr string
	}{
		{name: "directory over a symlink to a host file (the reported defect)",
			entries: []tar.Header{hdrSym("v", "$HOST/canary"), hdrDir("v", 0o777)},
			want:    map[string]string{"x/v": "dir 0777"}},
		{name: "file over a symlink to a host file",
			entries: []tar.Header{hdrSym("v", "$HOST/canary"), hdrFile("v")},
			want:    map[string]string{"x/v": "file 0644 content of v"}},
		{name: "symlink over a symlink",
			entries: []tar.Header{hdrSym("v", "$HOST/canary"), hdrSym("v", "elsewhere")},
			want:    map[string]string{"x/v": "link -> elsewhere"}},
		{name: "hard link over a symlink",
			entries: []tar.Header{hdrFile("f"), hdrSym("v", "$HOST/canary"), hdrHard("v", "f")},
			want:    map[string]string{"x/v": "file 0644 content of f"}},
		{name: "directory over a relative symlink out of the root",
			entries: []tar.Header{hdrSym("v", esc+"$HOST/canary"), hdrDir("v", 0o777)},
			want:    map[string]string{"x/v": "dir 0777"}},
		{name: "hard link to a symlink links the symlink",
			entries: []tar.Header{hdrSym("v", "$HOST/canary"), hdrHard("h", "v")},
			want:    map[string]string{"x/h": "link -> $HOST/canary"}},
		{name: "hard link through a symlinked directory resolves in the root",
			entries: []tar.Header{hdrSym("d", "$HOST"), hdrHard("h", "d/canary")},
			wantErr: "no such file"},
		{name: "hard link with an absolute host path resolves in the destination",
			entries: []tar.Header{hdrHard("h", "$HOST/canary")},
			wantErr: "no such file"},
		{name: "hard link climbing out",
			entries: []tar.Header{hdrHard("h", "../../canary")},
			wantErr: "points outside the destination"},
		{name: "file through an absolute directory symlink",
			entries: []tar.Header{hdrSym("d", "$HOST"), hdrFile("d/new")},
			want:    map[string]string{"x/d": "link -> $HOST", "$HOST/new": "file 0644 content of d/new"}},
		{name: "file through a relative symlink climbing out",
			entries: []tar.Header{hdrSym("d", esc), hdrFile("d/new")},
			want:    map[string]string{"x/d": "link -> " + esc, "new": "file 0644 content of d/new"}},
		{name: "file over a host file through a symlinked directory",
			entries: []tar.Header{hdrSym("d", "$HOST"), hdrFile("d/canary")},
			want:    map[string]string{"$HOST/canary": "file 0644 content of d/canary"}},
		{name: "directory through a symlink",
			entries: []tar.Header{hdrSym("d", "$HOST"), hdrDir("d/sub", 0o777)},
			want:    map[string]string{"$HOST/sub": "dir 0777"}},
		{name: "symlink through a symlink",
			entries: []tar.Header{hdrSym("d", "$HOST"), hdrSym("d/canary", "/etc/passwd")},
			want:    map[string]string{"$HOST/canary": "link -> /etc/passwd"}},
		{name: "deep file through a symlink to /",
			entries: []tar.Header{hdrSym("a", "/"), hdrFile("a/b/c/d")},
			want:    map[string]string{"b/c/d": "file 0644 content of a/b/c/d"}},
		{name: "dangling symlink: its target is made inside the root",
			entries: []tar.Header{hdrSym("d", "/nowhere/deep"), hdrFile("d/f")},
			want:    map[string]string{"nowhere/deep/f": "file 0644 content of d/f"}},
		{name: "symlink loop",
			entries: []tar.Header{hdrSym("a", "b"), hdrSym("b", "a"), hdrFile("a/f")},
			wantErr: "too many"},
		{name: "absolute entry name lands in the destination",
			entries: []tar.Header{hdrFile("/etc/passwd")},
			want:    map[string]string{"x/etc/passwd": "file 0644 content of /etc/passwd", "etc": "missing"}},
		{name: "entry climbing out",
			entries: []tar.Header{hdrFile("../escape")},
			wantErr: "points outside the destination"},
		{name: "absolute entry climbing out",
			entries: []tar.Header{hdrFile("/../escape")},
			wantErr: "points outside the destination"},
		{name: "dot dot inside the destination",
			entries: []tar.Header{hdrFile("a/../b")},
			want:    map[string]string{"x/b": "file 0644 content of a/../b"}},
		{name: "symlink over a directory",
			entries: []tar.Header{hdrDir("d", 0o755), hdrFile("d/a"), hdrSym("d", "$HOST"), hdrFile("d/b")},
			want:    map[string]string{"x/d": "link -> $HOST", "$HOST/b": "file 0644 content of d/b"}},
		{name: "file over a directory",
			entries: []tar.Header{hdrDir("d", 0o755), hdrFile("d/a"), hdrFile("d")},
			want:    map[string]string{"x/d": "file 0644 content of d"}},
		{name: "the destination itself is skipped",
			entries: []tar.Header{hdrDir("./", 0o777), hdrFile("./f")},
			want:    map[string]string{"x": "dir 0755", "x/f": "file 0644 content of ./f"}},
		{name: "PAX global header is skipped",
			entries: []tar.Header{{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header", PAXRecords: map[string]string{"comment": "x"}}, hdrFile("f")},
			want:    map[string]string{"x/f": "file 0644 content of f", "x/pax_global_header": "missing"}},
		{name: "fifo refused",
			entries: []tar.Header{{Name: "p", Typeflag: tar.TypeFifo, Mode: 0o644}},
			wantErr: "ADD does not unpack"},
		{name: "device refused",
			entries: []tar.Header{{Name: "mem", Typeflag: tar.TypeChar, Mode: 0o644, Devmajor: 1, Devminor: 1}},
			wantErr: "ADD does not unpack"},
		{name: "image symlink to a host file replaced by a directory",
			image:   map[string]string{"x/v": "$HOST/canary"},
			entries: []tar.Header{hdrDir("v", 0o777)},
			want:    map[string]string{"x/v": "dir 0777"}},
		{name: "image symlink to a host directory as the destination",
			image:   map[string]string{"x": "$HOST"},
			entries: []tar.Header{hdrFile("canary"), hdrDir("sub", 0o777)},
			want:    map[string]string{"x": "link -> $HOST", "$HOST/canary": "file 0644 content of canary", "$HOST/sub": "dir 0777"}},
		{name: "image symlink climbing out as a parent",
			image:   map[string]string{"x/up": esc},
			entries: []tar.Header{hdrFile("up/f")},
			want:    map[string]string{"f": "file 0644 content of up/f"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host := fscopytest.NewCanary(t)
			sub := func(s string) string { return strings.ReplaceAll(s, "$HOST", host.Dir) }
			root := t.TempDir()
			for p, target := range tt.image {
				full := filepath.Join(root, p)
				if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(sub(target), full); err != nil {
					t.Fatal(err)
				}
			}
			entries := make([]tar.Header, len(tt.entries))
			for i, h := range tt.entries {
				h.Name, h.Linkname = sub(h.Name), sub(h.Linkname)
				entries[i] = h
			}
			ar, err := openArchive(tarball(t, entries, false))
			if err != nil || ar == nil {
				t.Fatalf("openArchive = %v, %v", ar, err)
			}
			defer ar.Close()
			err = (&copier{root: root}).extract(ar, "/x", "evil.tar")
			host.Check(t)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("extract = %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("extract = %v", err)
			}
			checkRoot(t, root, host.Dir, tt.want)
		})
	}
}

// checkRoot checks what is in root at each path of want ("$HOST" in a
// path or a description is the canary directory).
func checkRoot(t *testing.T, root, host string, want map[string]string) {
	t.Helper()
	paths := make([]string, 0, len(want))
	for p := range want {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		full := filepath.Join(root, strings.ReplaceAll(p, "$HOST", host))
		wantDesc := strings.ReplaceAll(want[p], "$HOST", host)
		if got := fscopytest.Describe(full); got != wantDesc {
			t.Errorf("/%s in the root is %q, want %q", p, got, wantDesc)
		}
	}
}

// TestCopyStaysInRoot: COPY writes inside the root whatever symlinks the
// context and the image hold; a symlink of the context is copied as a
// symlink, never followed out of the context.
func TestCopyStaysInRoot(t *testing.T) {
	tests := []struct {
		name      string
		image     map[string]string
		src, dest string
		want      map[string]string
	}{
		{name: "directory holding symlinks out of the context",
			src: "dir", dest: "/x/",
			want: map[string]string{"x/a.txt": "file 0644 a", "x/esc": "link -> $HOST/canary", "x/escdir": "link -> $HOST", "x/rel": "link -> ../../../../../../../..", "x/sub/b.txt": "file 0644 b"}},
		{name: "whole context",
			src: ".", dest: "/x/",
			want: map[string]string{"x/dir/esc": "link -> $HOST/canary", "x/top.txt": "file 0644 top"}},
		{name: "file onto an image symlink to a host file",
			image: map[string]string{"x/f": "$HOST/canary"},
			src:   "top.txt", dest: "/x/f",
			want: map[string]string{"x/f": "file 0644 top"}},
		{name: "directory onto an image symlink to a host directory",
			image: map[string]string{"x/d": "$HOST"},
			src:   "dir", dest: "/x/d",
			want: map[string]string{"x/d": "link -> $HOST", "$HOST/a.txt": "file 0644 a", "$HOST/esc": "link -> $HOST/canary"}},
		{name: "context directory over an image symlink to a host file",
			image: map[string]string{"x/sub": "$HOST/canary"},
			src:   "dir", dest: "/x/",
			want: map[string]string{"x/sub": "dir 0755", "x/sub/b.txt": "file 0644 b"}},
		{name: "file into an image symlink climbing out",
			image: map[string]string{"x": "../../../../../../../.."},
			src:   "top.txt", dest: "/x/",
			want: map[string]string{"top.txt": "file 0644 top"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host := fscopytest.NewCanary(t)
			sub := func(s string) string { return strings.ReplaceAll(s, "$HOST", host.Dir) }
			ctxDir := t.TempDir()
			for name, content := range map[string]string{"top.txt": "top", "dir/a.txt": "a", "dir/sub/b.txt": "b"} {
				p := filepath.Join(ctxDir, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			for name, target := range map[string]string{"dir/esc": "$HOST/canary", "dir/escdir": "$HOST", "dir/rel": "../../../../../../../.."} {
				if err := os.Symlink(sub(target), filepath.Join(ctxDir, name)); err != nil {
					t.Fatal(err)
				}
			}
			root := t.TempDir()
			for p, target := range tt.image {
				full := filepath.Join(root, p)
				if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(sub(target), full); err != nil {
					t.Fatal(err)
				}
			}
			c, err := OpenContext(ctxDir, "")
			if err != nil {
				t.Fatal(err)
			}
			files, err := c.Select(tt.src)
			if err != nil {
				t.Fatalf("Select(%q) = %v", tt.src, err)
			}
			dest, destDir := destination(tt.dest, "/", 1)
			err = (&copier{root: root}).copyFiles(c, files, dest, destDir)
			host.Check(t)
			if err != nil {
				t.Fatalf("copyFiles(%s, %s) = %v", tt.src, tt.dest, err)
			}
			checkRoot(t, root, host.Dir, tt.want)
		})
	}
}

// TestWriteContentStaysInRoot: a heredoc or downloaded file written onto
// an image symlink replaces the symlink.
func TestWriteContentStaysInRoot(t *testing.T) {
	host := fscopytest.NewCanary(t)
	root := t.TempDir()
	if err := os.Symlink(filepath.Join(host.Dir, "canary"), filepath.Join(root, "f")); err != nil {
		t.Fatal(err)
	}
	if err := (&copier{root: root}).writeContent("/f", strings.NewReader("inline"), 0o644, time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	host.Check(t)
	checkRoot(t, root, host.Dir, map[string]string{"f": "file 0644 inline"})
}
