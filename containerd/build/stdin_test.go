package build

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func tarOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadStdinContext(t *testing.T) {
	plain := tarOf(t, map[string]string{"Dockerfile": "FROM scratch\n", "sub/app.py": "print(1)\n"})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(plain) //nolint:errcheck // a bytes.Buffer
	zw.Close()
	tests := []struct {
		name   string
		input  []byte
		inline string
		files  map[string]string
		errHas string
	}{
		{name: "Dockerfile", input: []byte("FROM scratch\nCMD [\"x\"]\n"), inline: "FROM scratch\nCMD [\"x\"]\n"},
		{name: "tar", input: plain, files: map[string]string{"Dockerfile": "FROM scratch\n", "sub/app.py": "print(1)\n"}},
		{name: "gzip tar", input: gz.Bytes(), files: map[string]string{"Dockerfile": "FROM scratch\n", "sub/app.py": "print(1)\n"}},
		{name: "empty", input: nil, errHas: "it is empty"},
		{name: "escaping tar", input: tarOf(t, map[string]string{"../../evil": "x"}), errHas: "leads out of the destination"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			sc, remove, err := ReadStdinContext(bytes.NewReader(tt.input), tmp)
			defer remove()
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("ReadStdinContext = %v, want an error with %q", err, tt.errHas)
				}
				if left, _ := os.ReadDir(tmp); len(left) != 0 {
					t.Errorf("a failed read left %v behind", left)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if sc.Inline != tt.inline {
				t.Errorf("Inline = %q, want %q", sc.Inline, tt.inline)
			}
			for name, body := range tt.files {
				b, err := os.ReadFile(filepath.Join(sc.Dir, name))
				if err != nil || string(b) != body {
					t.Errorf("context file %s = %q, %v; want %q", name, b, err, body)
				}
			}
			remove()
			if _, err := os.Stat(sc.Dir); !os.IsNotExist(err) {
				t.Errorf("remove left %s: %v", sc.Dir, err)
			}
		})
	}
}
