package compose

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestProjectName(t *testing.T) {
	root := t.TempDir()
	write := func(dir, name, content string) string {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(root, dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	// Each file is invalid: the name is told all the same.
	invalid := "services:\n  web:\n    image: x\n    scale: lots\n"
	plain := write("My_App", "compose.yaml", invalid)
	named := write("named", "compose.yaml", "name: shop\n"+invalid)
	interpolated := write("interp", "compose.yaml", "name: ${NAME}\n"+invalid)
	env := write("env", "compose.yaml", invalid)
	write("env", ".env", "COMPOSE_PROJECT_NAME=fromdotenv\n")
	broken := write("broken", "compose.yaml", "services: [\n")

	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"the directory, normalized", Options{Files: []string{plain}}, "my_app"},
		{"the name: key", Options{Files: []string{named}}, "shop"},
		{"-p first", Options{Files: []string{named}, ProjectName: "given"}, "given"},
		{"COMPOSE_PROJECT_NAME", Options{Files: []string{named}, Environ: []string{"COMPOSE_PROJECT_NAME=fromenv"}}, "fromenv"},
		{".env", Options{Files: []string{env}}, "fromdotenv"},
		{"a name: to interpolate", Options{Files: []string{interpolated}}, ""},
		{"YAML that does not parse", Options{Files: []string{broken}}, ""},
		{"the project directory", Options{Files: []string{plain}, ProjectDir: filepath.Join(root, "named")}, "named"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ProjectName(context.Background(), tt.opts); got != tt.want {
				t.Errorf("ProjectName(%+v) = %q, want %q", tt.opts, got, tt.want)
			}
		})
	}
}
