//go:build e2e

package e2e

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth/berth/netbridge"
)

// What the soak and cycles tests count of a long-lived process, and of
// the files a project makes.

// procStats is what a process holds: open descriptors, threads and
// resident memory.
type procStats struct {
	fds, threads int
	rssKB        int
}

func (s procStats) String() string {
	return fmt.Sprintf("%d fds, %d threads, %d kB RSS", s.fds, s.threads, s.rssKB)
}

// readProcStats reads a process's procStats from /proc.
func readProcStats(t testing.TB, pid int) procStats {
	t.Helper()
	var s procStats
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("fds of pid %d: %v", pid, err)
	}
	s.fds = len(fds)
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatalf("threads of pid %d: %v", pid, err)
	}
	s.threads = len(tasks)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("status of pid %d: %v", pid, err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			s.rssKB, _ = strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return s
}

// settledProcStats is readProcStats with the fewest descriptors of a few
// samples over a second: a client that just closed its connection may
// still count on the server's side for a moment, a leaked descriptor in
// every sample.
func settledProcStats(t testing.TB, pid int) procStats {
	t.Helper()
	s := readProcStats(t, pid)
	for i := 0; i < 10; i++ {
		time.Sleep(100 * time.Millisecond)
		if next := readProcStats(t, pid); next.fds < s.fds {
			s = next
		}
	}
	return s
}

// projectProcess is the pid of the project's background process (DNS and
// supervision), which fails the test when none runs.
func (p *project) projectProcess() int {
	p.t.Helper()
	pid := netbridge.DNSDaemonPID(berthRunDir(), p.name)
	if pid == 0 {
		p.t.Fatalf("project %s has no background process", p.name)
	}
	return pid
}

var goroutineTotal = regexp.MustCompile(`^goroutine profile: total (\d+)`)

// goroutines asks the project's process for its goroutines (SIGUSR1: it
// writes Go's goroutine profile beside its log) and returns their number
// and the profile.
func (p *project) goroutines(pid int) (int, string) {
	p.t.Helper()
	path := filepath.Join(filepath.Dir(netbridge.DNSLogPath(berthRunDir(), p.name)), "goroutines")
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		p.t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGUSR1); err != nil {
		p.t.Fatalf("signal the project process: %v", err)
	}
	var profile []byte
	p.waitFor("the project process's goroutine profile", 10*time.Second, func() bool {
		b, err := os.ReadFile(path)
		profile = b
		return err == nil
	})
	m := goroutineTotal.FindSubmatch(profile)
	if m == nil {
		p.t.Fatalf("goroutine profile without a total:\n%s", profile)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n, string(profile)
}

// projectFiles lists the files (and directories) a project has under
// root, recursively: those under root's entries whose names begin with the
// project's name and a dash (containers, volumes, logs are named so).
func (p *project) projectFiles(root string) []string {
	entries, _ := os.ReadDir(root)
	var out []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), p.name+"-") && !strings.HasPrefix(e.Name(), p.name+"_") {
			continue
		}
		filepath.WalkDir(filepath.Join(root, e.Name()), func(path string, _ fs.DirEntry, err error) error { //nolint:errcheck // a file gone meanwhile is not counted
			if err == nil {
				out = append(out, path)
			}
			return nil
		})
	}
	return out
}

// countFiles counts the files and directories under root, recursively.
func countFiles(root string) int {
	n := 0
	filepath.WalkDir(root, func(path string, _ fs.DirEntry, err error) error { //nolint:errcheck // a file gone meanwhile is not counted
		if err == nil && path != root {
			n++
		}
		return nil
	})
	return n
}

// lines counts the non-empty lines of s.
func lines(s string) int {
	n := 0
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) != "" {
			n++
		}
	}
	return n
}

// onPrivateDaemon gives the test a private managed containerd (see
// privateDaemon) and points every berth command of the test at it, its
// cleanup included, through BERTH_DATA_DIR and BERTH_RUN_DIR: the test
// must not be parallel. Its networks come from a pool of their own, away
// from the shared daemon's (10.89.0.0/16), whose IPAM it does not see.
func onPrivateDaemon(t *testing.T) *privateDaemon {
	t.Helper()
	// Made first: its cleanup runs after the test's projects'.
	d := newPrivateDaemon(t)
	t.Setenv("BERTH_DATA_DIR", d.dataDir)
	t.Setenv("BERTH_RUN_DIR", d.runDir)
	t.Setenv("BERTH_SUBNET_POOL", "10.213.0.0/16/24")
	return d
}

// containerdPID is the pid of the managed containerd of a run directory.
func containerdPID(t testing.TB, runDir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(runDir, "containerd", "containerd.pid"))
	if err != nil {
		t.Fatalf("containerd's pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("containerd's pid: %v", err)
	}
	return pid
}
