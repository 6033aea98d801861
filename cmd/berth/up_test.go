package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUpFlagErrors checks the flags up refuses before it connects to
// containerd or starts anything.
func TestUpFlagErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "compose.yaml")
	if err := os.WriteFile(file, []byte("services:\n  a:\n    image: busybox\n  b:\n    image: busybox\n    depends_on: [a]\n  c:\n    image: busybox\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"exit-code-from with -d", []string{"up", "-d", "--exit-code-from", "a"}, "attached mode: drop -d/--wait"},
		{"exit-code-from with --wait", []string{"up", "--wait", "--exit-code-from", "a"}, "attached mode: drop -d/--wait"},
		{"abort with --wait", []string{"up", "--wait", "--abort-on-container-exit"}, "attached mode: drop -d/--wait"},
		{"exit-code-from unknown", []string{"up", "--exit-code-from", "nope"}, "--exit-code-from nope: no such service (the project's services: a, b, c)"},
		{"exit-code-from not started", []string{"up", "--exit-code-from", "c", "b"}, `--exit-code-from c: up does not start service "c" (it starts a, b)`},
		{"exit-code-from not started, no-deps", []string{"up", "--no-deps", "--exit-code-from", "a", "b"}, `up does not start service "a" (it starts b)`},
		{"attach unknown", []string{"up", "--attach", "a", "--attach", "nope"}, "--attach nope: no such service"},
		{"no-attach unknown", []string{"up", "--no-attach", "nope"}, "--no-attach nope: no such service"},
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
