package release

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// tarGz makes an archive of the given entries, in order; a name ending in /
// is a directory, a value starting with "->" a symlink.
func tarGz(t *testing.T, entries [][2]string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := &tar.Header{Name: e[0], Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(e[1]))}
		switch {
		case strings.HasSuffix(e[0], "/"):
			h.Typeflag, h.Size, h.Mode = tar.TypeDir, 0, 0o755
		case strings.HasPrefix(e[1], "->"):
			h.Typeflag, h.Size, h.Linkname = tar.TypeSymlink, 0, e[1][2:]
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(e[1])) //nolint:errcheck // a bytes.Buffer
		}
	}
	tw.Close()
	zw.Close()
	return b.Bytes()
}

func TestWriteArchiveIsReproducible(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "berth-v1-linux-arm64")
	writeFiles(t, dir, map[string]string{"b": "bee", "a/z": "zed", "a/y": "why", "install.sh": "#!/bin/sh\n"})
	os.Chmod(filepath.Join(dir, "install.sh"), 0o700) //nolint:errcheck // checked by the listing below
	mtime := time.Unix(1700000000, 0)
	var one, two bytes.Buffer
	if err := WriteArchive(&one, dir, mtime); err != nil {
		t.Fatal(err)
	}
	// Other times and permissions on disk do not change the bytes.
	os.Chtimes(filepath.Join(dir, "b"), time.Now(), time.Now()) //nolint:errcheck // the comparison tells
	os.Chmod(filepath.Join(dir, "a", "z"), 0o600)               //nolint:errcheck // the comparison tells
	if err := WriteArchive(&two, dir, mtime); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(one.Bytes(), two.Bytes()) {
		t.Fatal("WriteArchive of the same files gave different bytes")
	}
	zr, err := gzip.NewReader(&one)
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "" || !zr.ModTime.IsZero() {
		t.Errorf("gzip header records name %q, time %v; want neither", zr.Name, zr.ModTime)
	}
	tr := tar.NewReader(zr)
	var got []string
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		if !h.ModTime.Equal(mtime) || h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s: mtime %v uid %d gid %d, want %v 0 0", h.Name, h.ModTime, h.Uid, h.Gid, mtime)
		}
		got = append(got, h.Name+" "+h.FileInfo().Mode().Perm().String())
	}
	want := []string{
		"berth-v1-linux-arm64/ -rwxr-xr-x", "berth-v1-linux-arm64/a/ -rwxr-xr-x",
		"berth-v1-linux-arm64/a/y -rw-r--r--", "berth-v1-linux-arm64/a/z -rw-r--r--",
		"berth-v1-linux-arm64/b -rw-r--r--", "berth-v1-linux-arm64/install.sh -rwxr-xr-x",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("entries = %q, want %q", got, want)
	}
}

func TestExtractArchive(t *testing.T) {
	good := tarGz(t, [][2]string{{"r/", ""}, {"r/a", "A"}, {"r/d/b", "B"}})
	dest := t.TempDir()
	dir, err := ExtractArchive(bytes.NewReader(good), "good.tar.gz", dest)
	if err != nil || dir != filepath.Join(dest, "r") {
		t.Fatalf("ExtractArchive = %q, %v; want %q", dir, err, filepath.Join(dest, "r"))
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "d", "b")); string(b) != "B" {
		t.Errorf("r/d/b = %q, want B", b)
	}

	bad := []struct {
		name    string
		archive []byte
		wantErr string
	}{
		{"leaves", tarGz(t, [][2]string{{"r/../../x", "X"}}), "leaves the release directory"},
		{"absolute", tarGz(t, [][2]string{{"/etc/x", "X"}}), "leaves the release directory"},
		{"two tops", tarGz(t, [][2]string{{"r/a", "A"}, {"s/b", "B"}}), "one top directory"},
		{"symlink", tarGz(t, [][2]string{{"r/l", "->/etc/shadow"}}), "not a file or directory"},
		{"empty", tarGz(t, nil), "the archive is empty"},
		{"truncated", good[:len(good)/2], "truncated"},
		{"not gzip", []byte("hello"), "not a gzipped release archive"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ExtractArchive(bytes.NewReader(tt.archive), "x.tar.gz", t.TempDir())
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "x.tar.gz: ") {
				t.Errorf("ExtractArchive(%s) = %v, want an error about %q naming x.tar.gz", tt.name, err, tt.wantErr)
			}
		})
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
