package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunFlagErrors checks the flag combinations run refuses before it
// loads the project or connects to containerd.
func TestRunFlagErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "compose.yaml")
	if err := os.WriteFile(file, []byte("services:\n  web:\n    image: busybox\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"rm with detach", []string{"run", "-d", "--rm", "web"}, "--rm with -d is not supported yet"},
		{"rm with detach, long flags", []string{"run", "--rm", "--detach", "web", "true"}, "berth down removes one-off containers"},
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
