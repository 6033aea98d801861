package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnknownServiceArgs checks that the commands that load the project
// for their SERVICE arguments leave unknown names to the compose loader,
// which refuses them (listing the project's services) before anything
// connects to containerd.
func TestUnknownServiceArgs(t *testing.T) {
	file := filepath.Join(t.TempDir(), "compose.yaml")
	if err := os.WriteFile(file, []byte("services:\n  a:\n    image: busybox\n  b:\n    image: busybox\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const want = `no such service: nope: the project's services are a, b`
	for _, args := range [][]string{
		{"up", "a", "nope"}, {"wait", "nope"}, {"build", "nope"}, {"images", "nope"}, {"pull", "nope"}, {"push", "nope"},
		{"stop", "nope"}, {"start", "nope"}, {"restart", "nope"}, {"kill", "nope"}, {"rm", "nope"}, {"down", "nope"},
	} {
		t.Run(args[0], func(t *testing.T) {
			_, err := berth(t, append([]string{"-f", file, "-p", "demo"}, args...)...)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("berth %s = %v, want %q", strings.Join(args, " "), err, want)
			}
		})
	}
}
