//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNoNetworkOnAFreshBox: on a box where berth has never made a network
// (a fresh install: no network state yet), a plain container with
// --network none or host and a project whose only service uses the host's
// network start, are supervised and go. The project process used to exit
// at start: no state directory to watch, then nothing to supervise yet.
func TestNoNetworkOnAFreshBox(t *testing.T) {
	d := newPrivateDaemon(t)
	if _, err := os.Stat(filepath.Join(d.dataDir, "network")); err == nil {
		t.Fatal("the private daemon has network state already: this test needs a box without")
	}
	for _, mode := range []string{"none", "host"} {
		if out := d.must(d.base, "container", "run", "--rm", "--network", mode, testImage, "echo", "ran on "+mode); !strings.Contains(out, "ran on "+mode) {
			t.Errorf("container run --network %s printed %q", mode, out)
		}
	}

	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"compose.yaml": `
name: freshbox
services:
  app:
    image: ` + testImage + `
    network_mode: host
    command: ["sleep", "3013"]
    restart: always
`})
	d.must(dir, "up", "-d")
	if out := d.must(dir, "ps", "--format", "{{.Service}} {{.State}}"); strings.TrimSpace(out) != "app running" {
		t.Errorf("ps after up: %q, want app running", out)
	}
	// Supervised: killed from the host, it is started again by its policy.
	pid := sleeperPid()
	if pid == 0 {
		t.Fatal("no sleep 3013 process on the host after up")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill %d: %v", pid, err)
	}
	waitUntil(t, "app restarted by its policy", 60*time.Second, func() bool {
		p := sleeperPid()
		return p != 0 && p != pid
	})
	d.must(dir, "down")
	if out := d.must(dir, "ps", "-a", "-q"); strings.TrimSpace(out) != "" {
		t.Errorf("ps -a after down: %q", out)
	}
}

// sleeperPid is the pid of the one host process whose command line is
// "sleep 3013" (0 when none runs).
func sleeperPid() int {
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err == nil && cmdline(pid) == "sleep\x003013\x00" {
			return pid
		}
	}
	return 0
}
