package netbridge

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSameExecutable(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "berth")
	if err := os.WriteFile(bin, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(bin, link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		link, exe string
		want      bool
	}{
		{bin, bin, true},
		{bin, link, true}, // berth run through a symlink
		{bin + " (deleted)", bin, false},
		{"/elsewhere/berth", bin, false},
	}
	for _, tt := range tests {
		if got := sameExecutable(tt.link, tt.exe); got != tt.want {
			t.Errorf("sameExecutable(%q, %q) = %v, want %v", tt.link, tt.exe, got, tt.want)
		}
	}
}

func TestZombie(t *testing.T) {
	tests := []struct {
		stat string
		want bool
	}{
		{"4242 (berth) S 1 4242 4242 0", false},
		{"4242 (berth) Z 1 4242 4242 0", true},
		{"4242 (a) Z (b) R 1", false}, // the name may hold ") Z"
		{"", false},
	}
	for _, tt := range tests {
		if got := zombie([]byte(tt.stat)); got != tt.want {
			t.Errorf("zombie(%q) = %v, want %v", tt.stat, got, tt.want)
		}
	}
}

func TestStaleExecutableOfThisProcess(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if staleExecutable(os.Getpid(), exe) {
		t.Errorf("this test binary counts as stale against its own path %s", exe)
	}
	if !staleExecutable(os.Getpid(), filepath.Join(t.TempDir(), "other")) {
		t.Error("another path does not count as stale")
	}
}
