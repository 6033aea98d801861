package fscopy

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExport(t *testing.T) {
	root := t.TempDir()
	// .berth (excluded below) is left out with all under it; .berthy,
	// another name, is not.
	for _, d := range []string{"etc", "bin", "empty", ".berth", ".berth/run"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "etc/hostname"), []byte("box\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin/busybox"), []byte("elf"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(root, "bin/busybox"), filepath.Join(root, "bin/sh")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/hostname", filepath.Join(root, "name")); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{".berth/probe", ".berthy"} {
		if err := os.WriteFile(filepath.Join(root, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := Export(root, &buf, ".berth"); err != nil {
		t.Fatalf("Export = %v", err)
	}
	var got []string
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		line := h.Name
		switch h.Typeflag {
		case tar.TypeReg:
			b, _ := io.ReadAll(tr)
			line += " " + strings.TrimSpace(string(b)) + " " + os.FileMode(h.Mode).String()
		case tar.TypeLink:
			line += " link " + h.Linkname
		case tar.TypeSymlink:
			line += " -> " + h.Linkname
		}
		got = append(got, line)
	}
	want := []string{
		".berthy  -rw-r--r--", "bin/", "bin/busybox elf -rwxr-xr-x", "bin/sh link bin/busybox",
		"empty/", "etc/", "etc/hostname box -rw-r-----", "name -> /etc/hostname",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Export wrote\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
