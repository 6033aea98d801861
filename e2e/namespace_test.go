//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestSameProjectTwoNamespaces: the same project name up in two containerd
// namespaces of one berth (the same data and run directories) at once.
// Each has its own named volume data, its own project process and its own
// run files; down -v of one leaves the other running, with its data.
// A private daemon: the test makes a namespace of its own.
func TestSameProjectTwoNamespaces(t *testing.T) {
	t.Parallel()
	d := newPrivateDaemon(t)
	const other = "e2e-other"
	const file = `
services:
  web:
    image: ` + testImage + `
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    volumes:
      - data:/data
volumes:
  data:
`
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	name := strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	d.must(d.base, "--namespace", other, "load", "-i", filepath.Join(d.base, "busybox.tar"))
	// The default namespace by flag-less default, the other by the
	// variable containerd's tools read too.
	def := func(args ...string) string { return d.must(dir, append([]string{"-p", name}, args...)...) }
	oth := func(args ...string) string {
		cmd := d.command(dir, append([]string{"-p", name}, args...)...)
		cmd.Env = append(cmd.Env, "CONTAINERD_NAMESPACE="+other)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("CONTAINERD_NAMESPACE=%s berth %s: %v\n%s", other, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	def("up", "-d")
	defer d.command(dir, "-p", name, "down", "-v", "-t", "0").Run() //nolint:errcheck // when the test fails half-way
	oth("up", "-d")
	defer func() { //nolint:errcheck // when the test fails half-way
		cmd := d.command(dir, "-p", name, "down", "-v", "-t", "0")
		cmd.Env = append(cmd.Env, "CONTAINERD_NAMESPACE="+other)
		cmd.Run()
	}()

	def("exec", "-T", "web", "sh", "-c", "echo default > /data/who")
	oth("exec", "-T", "web", "sh", "-c", "echo other > /data/who")
	if got := strings.TrimSpace(def("exec", "-T", "web", "cat", "/data/who")); got != "default" {
		t.Errorf("the default namespace's volume holds %q, want %q: the two share it", got, "default")
	}
	if got := strings.TrimSpace(oth("exec", "-T", "web", "cat", "/data/who")); got != "other" {
		t.Errorf("the other namespace's volume holds %q, want %q", got, "other")
	}

	// Run files and volumes: the default namespace's where they always
	// were, the other's under namespaces/<namespace>.
	defProject := filepath.Join(d.runDir, "projects", name)
	othProject := filepath.Join(d.runDir, "namespaces", other, "projects", name)
	defVolume := filepath.Join(d.dataDir, "volumes", name+"_data")
	othVolume := filepath.Join(d.dataDir, "namespaces", other, "volumes", name+"_data")
	pidOf := func(projectDir string) int {
		b, err := os.ReadFile(filepath.Join(projectDir, "dns.pid"))
		if err != nil {
			t.Fatalf("the project process's pid file: %v", err)
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return pid
	}
	defPid, othPid := pidOf(defProject), pidOf(othProject)
	if defPid <= 0 || defPid == othPid {
		t.Fatalf("project processes: default %d, other %d: want two", defPid, othPid)
	}
	for _, p := range []string{defVolume, othVolume} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("volume directory: %v", err)
		}
	}

	oth("down", "-v", "-t", "0")
	for _, p := range []string{othProject, othVolume} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("left behind by down -v in namespace %s: %s (%v)", other, p, err)
		}
	}
	if err := syscall.Kill(defPid, 0); err != nil {
		t.Errorf("the default namespace's project process %d is gone after the other's down: %v", defPid, err)
	}
	if got := strings.TrimSpace(def("exec", "-T", "web", "cat", "/data/who")); got != "default" {
		t.Errorf("after the other's down -v the default namespace's volume holds %q, want %q", got, "default")
	}
	if out := def("ps", "--format", "{{.Service}} {{.State}}"); !strings.Contains(out, "web running") {
		t.Errorf("ps after the other's down:\n%s", out)
	}
	if out := def("ps"); strings.Contains(out, "Supervision of project") {
		t.Errorf("ps after the other's down warns of supervision:\n%s", out)
	}
	def("down", "-v", "-t", "0")
	for _, p := range []string{defProject, defVolume} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("left behind by down -v: %s (%v)", p, err)
		}
	}
}
