package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigOfLoadedBundle: berth -p NAME config, where there is no
// compose file, reads the project of the loaded bundle NAME (as up, ps and
// down do), with its files relative to the bundle's directory; a compose
// file here still wins, and a name without a bundle is the usual error.
func TestConfigOfLoadedBundle(t *testing.T) {
	data := t.TempDir()
	t.Setenv("BERTH_DATA_DIR", data)
	t.Setenv("CONTAINERD_NAMESPACE", "")
	for _, k := range []string{"COMPOSE_FILE", "COMPOSE_PROJECT_NAME"} {
		t.Setenv(k, "") // restored after the test
		os.Unsetenv(k)
	}
	bundleDir := filepath.Join(data, "bundles", "shop")
	if err := os.MkdirAll(bundleDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		"compose.yaml": "name: shop\nservices:\n  api:\n    image: api:1\n    env_file: api.env\n  worker:\n    image: worker:1\n",
		"api.env":      "GREETING=from-the-bundle\n",
	} {
		if err := os.WriteFile(filepath.Join(bundleDir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	empty := t.TempDir()
	here := t.TempDir()
	if err := os.WriteFile(filepath.Join(here, "compose.yaml"), []byte("services:\n  local:\n    image: local:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, dir string
		args      []string
		want      string // in the output; "" when an error is wanted
		err       string
	}{
		{"services of the bundle", empty, []string{"-p", "shop", "config", "--services"}, "api\nworker\n", ""},
		{"env file next to the bundle's compose file", empty, []string{"-p", "shop", "config"}, "GREETING: from-the-bundle", ""},
		{"images", empty, []string{"-p", "shop", "config", "--images"}, "api:1\nworker:1\n", ""},
		{"a compose file here wins", here, []string{"-p", "shop", "config", "--services"}, "local\n", ""},
		{"no bundle of that name", empty, []string{"-p", "other", "config"}, "", "no compose file found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(tt.dir)
			out, err := berth(t, tt.args...)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("berth %v = %q, %v; want an error with %q", tt.args, out, err, tt.err)
				}
				return
			}
			if err != nil || !strings.Contains(out, tt.want) {
				t.Fatalf("berth %v = %q, %v; want %q in it", tt.args, out, err, tt.want)
			}
		})
	}
}
