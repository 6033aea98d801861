package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCreateFlagErrors checks what create refuses before it connects to
// containerd.
func TestCreateFlagErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "compose.yaml")
	if err := os.WriteFile(file, []byte("services:\n  web:\n    image: busybox\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"build and no-build", []string{"create", "--build", "--no-build"}, "--build and --no-build are incompatible"},
		{"force and no recreate", []string{"create", "--force-recreate", "--no-recreate"}, "--force-recreate and --no-recreate are incompatible"},
		{"bad pull", []string{"create", "--pull", "sometimes"}, `invalid --pull option "sometimes"`},
		{"unknown service", []string{"create", "db"}, `no such service: db`},
		{"bad scale", []string{"create", "--scale", "web"}, "--scale"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := berth(t, append([]string{"-f", file, "-p", "demo"}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("berth %s = %v, want an error containing %q", strings.Join(tt.args, " "), err, tt.want)
			}
		})
	}
}
