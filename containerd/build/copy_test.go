package build

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// tree lists a directory as "path mode [-> link]" lines, sorted.
func tree(t *testing.T, root string) string {
	t.Helper()
	var out []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		info, _ := d.Info()
		line := rel + " " + info.Mode().String()
		if info.Mode()&fs.ModeSymlink != 0 {
			l, _ := os.Readlink(p)
			line += " -> " + l
		}
		out = append(out, line)
		return nil
	})
	sort.Strings(out)
	return strings.Join(out, "\n")
}

func TestDestination(t *testing.T) {
	tests := []struct {
		dest, workdir string
		sources       int
		want          string
		dir           bool
	}{
		{"/app", "", 1, "/app", false},
		{"/app/", "", 1, "/app", true},
		{".", "/srv", 1, "/srv", true},
		{"./", "/srv", 1, "/srv", true},
		{"x", "/srv", 1, "/srv/x", false},
		{"x", "", 1, "/x", false},
		{"/app", "", 2, "/app", true},
	}
	for _, tt := range tests {
		got, dir := destination(tt.dest, tt.workdir, tt.sources)
		if got != tt.want || dir != tt.dir {
			t.Errorf("destination(%q, %q, %d) = %q, %v; want %q, %v", tt.dest, tt.workdir, tt.sources, got, dir, tt.want, tt.dir)
		}
	}
}

func TestCopyFiles(t *testing.T) {
	c := testContext(t)
	tests := []struct {
		name    string
		srcs    []string
		dest    string
		destDir bool
		pre     func(root string)
		want    string
	}{
		{"file to path", []string{"a.txt"}, "/b", false, nil, "b -rw-r--r--"},
		{"file into dir", []string{"a.txt"}, "/d", true, nil, "d drwxr-xr-x\nd/a.txt -rw-r--r--"},
		{"file into existing dir", []string{"a.txt"}, "/d", false, func(root string) { os.Mkdir(filepath.Join(root, "d"), 0o755) },
			"d drwxr-xr-x\nd/a.txt -rw-r--r--"},
		{"dir contents", []string{"dir"}, "/x", false, nil, "x drwxr-xr-x\nx/b.txt -rw-r--r--\nx/keep.log -rw-r--r--"},
		{"symlink kept", []string{"link-in"}, "/l", false, nil, "l Lrwxrwxrwx -> a.txt"},
		{"through an image symlink", []string{"a.txt"}, "/via/", true, func(root string) {
			os.Mkdir(filepath.Join(root, "real"), 0o755)
			os.Symlink("/real", filepath.Join(root, "via"))
		}, "real drwxr-xr-x\nreal/a.txt -rw-r--r--\nvia Lrwxrwxrwx -> /real"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if tt.pre != nil {
				tt.pre(root)
			}
			cp := &copier{root: root}
			for _, s := range tt.srcs {
				files, err := c.Select(s)
				if err != nil {
					t.Fatal(err)
				}
				if err := cp.copyFiles(c, files, tt.dest, tt.destDir); err != nil {
					t.Fatal(err)
				}
			}
			if got := tree(t, root); got != tt.want {
				t.Errorf("tree:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestCopyOwnerModeTimes(t *testing.T) {
	c := testContext(t)
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	os.Chtimes(filepath.Join(c.Root, "a.txt"), old, old)
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc", "passwd"), []byte("root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc", "group"), []byte("root:x:0:\nstaff:x:50:\n"), 0o644)
	owner, err := resolveOwner(root, "app:staff")
	if err != nil || *owner != (Owner{1000, 50}) {
		t.Fatalf("resolveOwner(app:staff) = %v, %v", owner, err)
	}
	mode, _ := parseChmod("750")
	cp := &copier{root: root, owner: owner, mode: mode}
	files, _ := c.Select("a.txt")
	if err := cp.copyFiles(c, files, "/new/dir/a", false); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(root, "new/dir/a"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o750 || !st.ModTime().Equal(old) {
		t.Errorf("mode %v mtime %v; want 0750 and %v", st.Mode(), st.ModTime(), old)
	}
	uid, gid := owners(st)
	if uid != 1000 || gid != 50 {
		t.Errorf("owner %d:%d, want 1000:50", uid, gid)
	}
	if uid, gid := owners(mustStat(t, filepath.Join(root, "new"))); uid != 1000 || gid != 50 {
		t.Errorf("created parent owned by %d:%d, want 1000:50", uid, gid)
	}
}

func TestResolveOwner(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc", "passwd"), []byte("app:x:1000:1001::/home/app:/bin/sh\n"), 0o644)
	tests := []struct {
		chown   string
		want    Owner
		wantErr string
	}{
		{"1:2", Owner{1, 2}, ""},
		{"7", Owner{7, 7}, ""},
		{"app", Owner{1000, 1001}, ""},
		{"app:5", Owner{1000, 5}, ""},
		{"nobody", Owner{}, `no user "nobody" in the image's /etc/passwd`},
		{"app:staff", Owner{}, `no group "staff" in the image's /etc/group`},
	}
	for _, tt := range tests {
		got, err := resolveOwner(root, tt.chown)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("resolveOwner(%q) = %v, %v; want error %q", tt.chown, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || *got != tt.want {
			t.Errorf("resolveOwner(%q) = %v, %v; want %v", tt.chown, got, err, tt.want)
		}
	}
}

func TestParseChmod(t *testing.T) {
	if m, err := parseChmod("4755"); err != nil || m.Perm() != 0o755 || *m&fs.ModeSetuid == 0 {
		t.Errorf("parseChmod(4755) = %v, %v", m, err)
	}
	for _, bad := range []string{"u+x", "9", "77777"} {
		if _, err := parseChmod(bad); err == nil {
			t.Errorf("parseChmod(%q) accepted", bad)
		}
	}
}

// tarball builds a gzipped tar from entries.
func tarball(t *testing.T, entries []tar.Header, gz bool) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range entries {
		h := h
		body := ""
		if h.Typeflag == tar.TypeReg {
			body = "content of " + h.Name
			h.Size = int64(len(body))
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	data := buf.Bytes()
	if gz {
		var z bytes.Buffer
		w := gzip.NewWriter(&z)
		w.Write(data)
		w.Close()
		data = z.Bytes()
	}
	p := filepath.Join(t.TempDir(), "a.tar")
	os.WriteFile(p, data, 0o644)
	return p
}

func TestExtract(t *testing.T) {
	mt := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	good := []tar.Header{
		{Name: "pkg/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mt},
		{Name: "pkg/bin", Typeflag: tar.TypeReg, Mode: 0o4755, Uid: 7, Gid: 8, ModTime: mt},
		{Name: "pkg/link", Typeflag: tar.TypeSymlink, Linkname: "bin", ModTime: mt},
		{Name: "pkg/hard", Typeflag: tar.TypeLink, Linkname: "pkg/bin", ModTime: mt},
	}
	for _, gz := range []bool{false, true} {
		root := t.TempDir()
		ar, err := openArchive(tarball(t, good, gz))
		if err != nil || ar == nil {
			t.Fatalf("openArchive(gz=%v) = %v, %v", gz, ar, err)
		}
		cp := &copier{root: root}
		if err := cp.extract(ar, "/opt", "a.tar"); err != nil {
			t.Fatal(err)
		}
		ar.Close()
		want := "opt drwxr-xr-x\nopt/pkg drwxr-xr-x\nopt/pkg/bin urwxr-xr-x\nopt/pkg/hard urwxr-xr-x\nopt/pkg/link Lrwxrwxrwx -> bin"
		if got := tree(t, root); got != want {
			t.Errorf("gz=%v tree:\n%s\nwant:\n%s", gz, got, want)
		}
		if uid, gid := owners(mustStat(t, filepath.Join(root, "opt/pkg/bin"))); uid != 7 || gid != 8 {
			t.Errorf("owner %d:%d, want 7:8 from the archive", uid, gid)
		}
	}

	for _, bad := range [][]tar.Header{
		{{Name: "../escape", Typeflag: tar.TypeReg, Mode: 0o644}},
		{{Name: "a/../../escape", Typeflag: tar.TypeReg, Mode: 0o644}},
		{{Name: "h", Typeflag: tar.TypeLink, Linkname: "../../etc/passwd"}},
	} {
		root := t.TempDir()
		ar, err := openArchive(tarball(t, bad, false))
		if err != nil || ar == nil {
			t.Fatal(err)
		}
		err = (&copier{root: root}).extract(ar, "/opt", "a.tar")
		ar.Close()
		if err == nil || !strings.Contains(err.Error(), "outside the destination") {
			t.Errorf("extract(%s) = %v; want refusal", bad[0].Name, err)
		}
	}

	// A symlink in the archive cannot lead a later entry out of the root.
	root := t.TempDir()
	outside := t.TempDir()
	ar, _ := openArchive(tarball(t, []tar.Header{
		{Name: "evil", Typeflag: tar.TypeSymlink, Linkname: outside},
		{Name: "evil/file", Typeflag: tar.TypeReg, Mode: 0o644},
	}, false))
	if err := (&copier{root: root}).extract(ar, "/", "a.tar"); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("extract wrote outside the root: %v", entries)
	}
	if _, err := os.Stat(filepath.Join(root, outside, "file")); err != nil {
		t.Errorf("the entry should land inside the root, under the link's target: %v", err)
	}

	// Not an archive: ADD copies it as it is.
	plain := filepath.Join(t.TempDir(), "plain.txt")
	os.WriteFile(plain, bytes.Repeat([]byte("x"), 600), 0o644)
	if ar, err := openArchive(plain); ar != nil || err != nil {
		t.Errorf("openArchive(plain) = %v, %v; want nil, nil", ar, err)
	}
}

// TestExtractModes: an entry's setuid, setgid and sticky bits come from the
// archive; --chmod replaces the whole mode.
func TestExtractModes(t *testing.T) {
	chmod := fs.FileMode(0o640)
	tests := []struct {
		name string
		hdr  tar.Header
		mode *fs.FileMode
		want fs.FileMode
	}{
		{"setuid file", tar.Header{Name: "f", Typeflag: tar.TypeReg, Mode: 0o4755}, nil, fs.ModeSetuid | 0o755},
		{"setgid file", tar.Header{Name: "f", Typeflag: tar.TypeReg, Mode: 0o2750}, nil, fs.ModeSetgid | 0o750},
		{"sticky directory", tar.Header{Name: "d/", Typeflag: tar.TypeDir, Mode: 0o1777}, nil, fs.ModeDir | fs.ModeSticky | 0o777},
		{"all bits", tar.Header{Name: "f", Typeflag: tar.TypeReg, Mode: 0o7700}, nil, fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky | 0o700},
		{"type bits in the header are not modes", tar.Header{Name: "f", Typeflag: tar.TypeReg, Mode: 0o100644}, nil, 0o644},
		{"--chmod", tar.Header{Name: "f", Typeflag: tar.TypeReg, Mode: 0o4755}, &chmod, 0o640},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			ar, err := openArchive(tarball(t, []tar.Header{tt.hdr}, false))
			if err != nil || ar == nil {
				t.Fatalf("openArchive = %v, %v", ar, err)
			}
			defer ar.Close()
			if err := (&copier{root: root, mode: tt.mode}).extract(ar, "/", "a.tar"); err != nil {
				t.Fatal(err)
			}
			if got := mustStat(t, filepath.Join(root, tt.hdr.Name)).Mode(); got != tt.want {
				t.Errorf("extract(%s, mode %#o) made mode %v, want %v", tt.hdr.Name, tt.hdr.Mode, got, tt.want)
			}
		})
	}
}
