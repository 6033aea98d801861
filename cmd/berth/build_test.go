package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildFlagErrors checks the flags build refuses before it connects to
// containerd or builds anything.
func TestBuildFlagErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "compose.yaml")
	if err := os.WriteFile(file, []byte("services:\n  a:\n    build: .\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown entitlement", []string{"build", "--allow", "device"}, `--allow: entitlement "device" is not supported: berth's builder grants network.host and security.insecure`},
		{"unknown after a known one", []string{"build", "--allow", "network.host", "--allow", "host"}, `--allow: entitlement "host" is not supported`},
		{"unknown network", []string{"build", "--network", "bridge"}, `--network: build network "bridge" is not supported`},
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

func TestParseSSHFlags(t *testing.T) {
	got, err := parseSSHFlags([]string{"default", "deploy=/k/a,/k/b"})
	if err != nil || len(got) != 2 || len(got["default"]) != 0 || strings.Join(got["deploy"], " ") != "/k/a /k/b" {
		t.Errorf("parseSSHFlags = %v, %v", got, err)
	}
	if _, err := parseSSHFlags([]string{"=/k"}); err == nil || !strings.Contains(err.Error(), `--ssh "=/k": give default, or ID=PATH`) {
		t.Errorf("parseSSHFlags(=/k) = %v", err)
	}
	// An empty value is the default agent, which needs SSH_AUTH_SOCK.
	t.Setenv("SSH_AUTH_SOCK", "")
	if _, err := parseSSHFlags([]string{""}); err == nil || !strings.Contains(err.Error(), "invalid empty ssh agent socket: make sure SSH_AUTH_SOCK is set") {
		t.Errorf(`parseSSHFlags("") without SSH_AUTH_SOCK = %v`, err)
	}
	t.Setenv("SSH_AUTH_SOCK", "/run/agent.sock")
	if got, err := parseSSHFlags([]string{""}); err != nil || len(got) != 1 || got["default"] == nil {
		t.Errorf(`parseSSHFlags("") with SSH_AUTH_SOCK = %v, %v; want the default agent`, got, err)
	}
}
