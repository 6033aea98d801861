package compose

import (
	"os"
	"path/filepath"
	"testing"
)

func TestHasConfig(t *testing.T) {
	root := t.TempDir()
	write := func(rel, content string) string {
		t.Helper()
		path := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	empty := filepath.Dir(write("empty/.keep", ""))
	file := write("here/compose.yaml", "services: {}\n")
	child := filepath.Dir(write("parent/docker-compose.yml", "services: {}\n"))
	child = filepath.Join(child, "child")
	if err := os.MkdirAll(child, 0o755); err != nil {
		t.Fatal(err)
	}
	dotenv := filepath.Dir(write("dotenv/.env", "COMPOSE_FILE="+file+"\n"))

	tests := []struct {
		name string
		opts Options
		want bool
	}{
		{"no compose file", Options{ProjectDir: empty}, false},
		{"compose.yaml here", Options{ProjectDir: filepath.Dir(file)}, true},
		{"one in a parent directory", Options{ProjectDir: child}, true},
		{"files named", Options{ProjectDir: empty, Files: []string{file}}, true},
		{"COMPOSE_FILE", Options{ProjectDir: empty, Environ: []string{"COMPOSE_FILE=" + file}}, true},
		{"COMPOSE_FILE in .env", Options{ProjectDir: dotenv}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HasConfig(tt.opts); got != tt.want {
				t.Errorf("HasConfig(%+v) = %v, want %v", tt.opts, got, tt.want)
			}
		})
	}
}
