package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSystemdUnitProfiles checks that the unit passes on the project's
// active profiles as the loader read them, COMPOSE_PROFILES trimmed.
func TestSystemdUnitProfiles(t *testing.T) {
	file := filepath.Join(t.TempDir(), "compose.yaml")
	if err := os.WriteFile(file, []byte("services:\n  web:\n    image: busybox\n  db:\n    image: busybox\n    profiles: [data]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     string // COMPOSE_PROFILES
		args    []string
		want    string
		wantNot string
	}{
		{"variable", "data, tools", nil, "--profile data --profile tools up -d", `" tools"`},
		{"flags win", "other", []string{"--profile", "data"}, "--profile data up -d", "--profile other"},
		{"none", "", nil, "--project-directory " + filepath.Dir(file) + " up -d", "--profile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("COMPOSE_PROFILES", tt.env)
			args := append(append([]string{"-f", file, "-p", "demo"}, tt.args...), "systemd", "install", "--print")
			out, err := berth(t, args...)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out, tt.want) || (tt.wantNot != "" && strings.Contains(out, tt.wantNot)) {
				t.Errorf("unit:\n%s\nwant it to contain %q and not %q", out, tt.want, tt.wantNot)
			}
		})
	}
}
