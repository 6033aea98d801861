package containerd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readTrim(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestWeighShim: on cgroup v1 the shim goes into a cgroup of the cpu
// hierarchy with tenfold shares; on v2 into one whose ancestors enable
// the cpu controller for their children, with tenfold weight.
func TestWeighShim(t *testing.T) {
	t.Run("v1", func(t *testing.T) {
		root := t.TempDir()
		if err := os.Mkdir(filepath.Join(root, "cpu"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := weighShim(root, "/berth-shims/shop", 4242); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(root, "cpu", "berth-shims", "shop")
		if got := readTrim(t, filepath.Join(dir, "cpu.shares")); got != "10240" {
			t.Errorf("cpu.shares = %q, want 10240", got)
		}
		if got := readTrim(t, filepath.Join(dir, "cgroup.procs")); got != "4242" {
			t.Errorf("cgroup.procs = %q, want the shim's pid", got)
		}
	})
	tests := []struct {
		name        string
		rootControl string // the root's cgroup.subtree_control
		wantRoot    string // what it holds after
	}{
		{"v2, cpu enabled at the root", "cpuset cpu io memory pids", "cpuset cpu io memory pids"},
		{"v2, cpu not enabled at the root", "memory pids", "+cpu"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for name, content := range map[string]string{"cgroup.controllers": "cpuset cpu io memory pids", "cgroup.subtree_control": tt.rootControl} {
				if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			// The kernel makes a new cgroup's interface files; the fake
			// root has them made as the directories appear.
			parent := filepath.Join(root, "berth-shims")
			if err := os.Mkdir(parent, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(parent, "cgroup.subtree_control"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := weighShim(root, "/berth-shims/shop", 4242); err != nil {
				t.Fatal(err)
			}
			if got := readTrim(t, filepath.Join(root, "cgroup.subtree_control")); got != tt.wantRoot {
				t.Errorf("root's subtree_control = %q, want %q", got, tt.wantRoot)
			}
			if got := readTrim(t, filepath.Join(parent, "cgroup.subtree_control")); got != "+cpu" {
				t.Errorf("parent's subtree_control = %q, want +cpu", got)
			}
			dir := filepath.Join(parent, "shop")
			if got := readTrim(t, filepath.Join(dir, "cpu.weight")); got != "1000" {
				t.Errorf("cpu.weight = %q, want 1000", got)
			}
			if got := readTrim(t, filepath.Join(dir, "cgroup.procs")); got != "4242" {
				t.Errorf("cgroup.procs = %q, want the shim's pid", got)
			}
		})
	}
}

func TestShimPid(t *testing.T) {
	tests := []struct {
		stat    string
		want    int
		wantErr bool
	}{
		{"77 (berth-probe) S 31 77 77 0 -1", 31, false},
		{"77 (a) b) (c) S 12 77 77 0 -1", 12, false}, // a comm with spaces and parentheses
		{"77 (berth-probe", 0, true},
		{"77 (x) S", 0, true},
	}
	for _, tt := range tests {
		proc := t.TempDir()
		if err := os.MkdirAll(filepath.Join(proc, "77"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(proc, "77", "stat"), []byte(tt.stat), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := shimPid(proc, 77)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("shimPid of %q = %d, %v; want %d, error %v", tt.stat, got, err, tt.want, tt.wantErr)
		}
	}
	if _, err := shimPid(t.TempDir(), 77); err == nil {
		t.Error("shimPid of a gone process: no error")
	}
}

// TestUnweighShim: the shim's cgroup goes, and its parent with the last
// project's; a parent another project's cgroup is in stays.
func TestUnweighShim(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"cpu/berth-shims/shop", "cpu/berth-shims/blog"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	unweighShim(root, "/berth-shims/shop", 0)
	if _, err := os.Stat(filepath.Join(root, "cpu/berth-shims/shop")); !os.IsNotExist(err) {
		t.Errorf("the shim's cgroup is still there (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(root, "cpu/berth-shims")); err != nil {
		t.Errorf("the parent, which blog's cgroup is in, was removed: %v", err)
	}
	unweighShim(root, "/berth-shims/blog", 0)
	if _, err := os.Stat(filepath.Join(root, "cpu/berth-shims")); !os.IsNotExist(err) {
		t.Errorf("the parent left empty is still there (%v)", err)
	}
	unweighShim(root, "/berth-shims/gone", 0) // nothing to remove: no error, no wait
}
