package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSystemInstallBadInput: what system install refuses before it reads
// any archive.
func TestSystemInstallBadInput(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"now elsewhere", []string{"--root", dir, "--now", "--from", file}, "--now starts containerd on this machine, but --root " + dir + " is another root"},
		{"root is a file", []string{"--root", file, "--from", file}, "--root " + file + ": not a directory"},
		{"bad arch", []string{"--root", dir, "--arch", "mips", "--from", file}, `unknown architecture "mips": use amd64, arm64 or armv7`},
		{"no release", []string{"--root", dir, "--arch", "arm64", "--from", filepath.Join(dir, "none.tar.gz")}, "release " + filepath.Join(dir, "none.tar.gz")},
		{"no from", []string{"--root", dir, "--arch", "arm64"}, "--from: name the release archive to install"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := berth(t, append([]string{"system", "install"}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("system install %q = %v, want %q", tt.args, err, tt.wantErr)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("the root holds %d entries after a refused install", len(entries))
			}
		})
	}
}
