//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// soakDuration is how long TestSoakProbes probes: BERTH_SOAK (a Go
// duration, 10m say; raise go test's -timeout above it), 60 s by default.
func soakDuration(t *testing.T) time.Duration {
	v := os.Getenv("BERTH_SOAK")
	if v == "" {
		return time.Minute
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("BERTH_SOAK=%q: want a positive duration such as 10m", v)
	}
	return d
}

// soakState is what the soak counts at a quiescent point (every container
// stopped, no probe under way).
type soakState struct {
	// fifos are the files under the run dir's fifo tree of the project's
	// containers.
	fifos      []string
	goroutines int
	profile    string
	proc       procStats
}

func (s soakState) String() string {
	return fmt.Sprintf("%d FIFO files, %d goroutines, %s", len(s.fifos), s.goroutines, s.proc)
}

// Allowances of the soak: what may differ between two quiescent points of
// a project process that leaks nothing (a connection the gRPC client
// keeps, a timer of the runtime's). A leak per probe shows as hundreds.
const (
	soakGoroutineAllowance = 5
	soakFDAllowance        = 3
)

// TestSoakProbes runs healthchecks every 100 ms (one passing, one failing,
// one timing out, one whose command does not exist) for BERTH_SOAK (60 s by default), with execs, one-off
// containers and restarts of a container mid-probe in between, and checks
// that the project's process holds no more FIFOs, descriptors or
// goroutines afterwards than before. Both counts are taken with every
// container stopped and the counts settled, never during probes.
func TestSoakProbes(t *testing.T) {
	dur := soakDuration(t)
	p := newProject(t, fmt.Sprintf(`services:
  pass:
    image: %[1]s
    command: ["sleep", "86400"]
    stop_signal: SIGKILL
    healthcheck:
      test: ["CMD-SHELL", "echo . >> /tmp/probes"]
      interval: 100ms
      timeout: 2s
  fail:
    image: %[1]s
    command: ["sleep", "86400"]
    stop_signal: SIGKILL
    healthcheck:
      test: ["CMD-SHELL", "echo . >> /tmp/probes; echo failing; exit 1"]
      interval: 100ms
      timeout: 2s
      retries: 2
  slow:
    image: %[1]s
    command: ["sleep", "86400"]
    stop_signal: SIGKILL
    healthcheck:
      test: ["CMD", "sleep", "5"]
      interval: 100ms
      timeout: 200ms
      retries: 2
  missing:
    image: %[1]s
    command: ["sleep", "86400"]
    stop_signal: SIGKILL
    healthcheck:
      test: ["CMD", "/nonexistent"]
      interval: 100ms
      retries: 2
`, testImage), nil)
	p.must("up", "-d")
	health := func() map[string]string {
		h := map[string]string{}
		for _, e := range p.ps(true) {
			h[e.Service] = e.Health
		}
		return h
	}
	p.waitFor("pass healthy, fail, slow and missing unhealthy", time.Minute, func() bool {
		h := health()
		return h["pass"] == "healthy" && h["fail"] == "unhealthy" && h["slow"] == "unhealthy" && h["missing"] == "unhealthy"
	})
	pid := p.projectProcess()
	// The FIFOs of the project's containers (one-offs' too): their
	// directories are named after the containers.
	fifos := func() []string { return p.projectFiles(filepath.Join(berthRunDir(), "fifo")) }
	measure := func() soakState {
		s := soakState{fifos: fifos(), proc: readProcStats(t, pid)}
		s.goroutines, s.profile = p.goroutines(pid)
		return s
	}
	// quiesce stops every container and waits until no probe is under
	// way (no FIFO of the project's left) and the counts hold still, or,
	// given a baseline, until they are back within the allowances of it.
	quiesce := func(base *soakState) soakState {
		p.must("stop", "-t", "0")
		var s soakState
		var prev *soakState
		deadline := time.Now().Add(30 * time.Second)
		for {
			s = measure()
			settled := len(s.fifos) == 0
			if base == nil {
				settled = settled && prev != nil && s.goroutines == prev.goroutines && s.proc.fds == prev.proc.fds
			} else {
				settled = settled && s.goroutines <= base.goroutines+soakGoroutineAllowance && s.proc.fds <= base.proc.fds+soakFDAllowance
			}
			if settled || time.Now().After(deadline) {
				return s
			}
			prev = &s
			time.Sleep(500 * time.Millisecond)
		}
	}

	before := quiesce(nil)
	t.Logf("before: %s", before)
	if len(before.fifos) != 0 {
		t.Errorf("FIFOs left by the probes before the soak: %s", strings.Join(before.fifos, ", "))
	}
	p.must("start")
	start := time.Now()
	rounds := 0
	for time.Since(start) < dur {
		// The other ways berth copies a process's streams, and a
		// container stopped while its probe runs (slow's take 200 ms of
		// every 300).
		if r := p.must("exec", "-T", "pass", "echo", "exec"); r.stdout != "exec\n" {
			t.Errorf("exec printed %q, want %q", r.stdout, "exec\n")
		}
		if r := p.must("run", "--rm", "-T", "--no-deps", "pass", "echo", "one-off"); r.stdout != "one-off\n" {
			t.Errorf("run printed %q, want %q", r.stdout, "one-off\n")
		}
		p.must("restart", "-t", "0", "slow")
		rounds++
		time.Sleep(2 * time.Second)
	}
	probes := map[string]int{}
	for _, svc := range []string{"pass", "fail"} {
		probes[svc] = lines(p.must("exec", "-T", svc, "cat", "/tmp/probes").stdout)
	}
	after := quiesce(&before)
	t.Logf("after %s of probes (%d of pass, %d of fail in all; %d rounds of exec, run and restart): %s",
		time.Since(start).Round(time.Second), probes["pass"], probes["fail"], rounds, after)

	// The probes ran all along: at least one every 3 s each (one every
	// 300 ms or so on a loaded 2-core machine).
	for svc, n := range probes {
		if minimum := int(dur / (3 * time.Second)); n < minimum {
			t.Errorf("%s was probed %d times, want at least %d in %s", svc, n, minimum, dur)
		}
	}
	if len(after.fifos) != 0 {
		t.Errorf("FIFOs left by the probes: %s", strings.Join(after.fifos, ", "))
	}
	if after.proc.fds > before.proc.fds+soakFDAllowance {
		t.Errorf("the project process holds %d descriptors, %d before the soak (allowance %d)", after.proc.fds, before.proc.fds, soakFDAllowance)
	}
	if after.goroutines > before.goroutines+soakGoroutineAllowance {
		t.Errorf("the project process runs %d goroutines, %d before the soak (allowance %d); before:\n%s\nafter:\n%s",
			after.goroutines, before.goroutines, soakGoroutineAllowance, before.profile, after.profile)
	}
	if t.Failed() {
		t.Logf("whole fifo tree of the run dir: %d files; project process pid %s", countFiles(filepath.Join(berthRunDir(), "fifo")), strconv.Itoa(pid))
	}
}

// TestProbeFIFOsAfterKill: the FIFOs of a probe under way when the
// project's process was killed are removed by the next one, before its
// first probe of the container. (Probes by exec: without the agent, as
// a container made by an older berth is probed; a launched agent has no
// FIFOs.)
func TestProbeFIFOsAfterKill(t *testing.T) {
	p := newProject(t, fmt.Sprintf(`services:
  slow:
    image: %s
    command: ["sleep", "86400"]
    stop_signal: SIGKILL
    healthcheck:
      test: ["CMD", "sleep", "3"]
      interval: 100ms
      timeout: 10s
`, testImage), nil)
	noAgent := []string{"BERTH_PROBE_AGENT=none"}
	if r := p.berthEnv(noAgent, "up", "-d"); r.code != 0 {
		t.Fatalf("%s", r)
	}
	dir := filepath.Join(berthRunDir(), "fifo", p.name+"-slow-1")
	var stale string
	p.waitFor("a probe under way", 30*time.Second, func() bool {
		entries, _ := os.ReadDir(dir)
		if len(entries) > 0 {
			stale = entries[0].Name()
		}
		return stale != ""
	})
	pid := p.projectProcess()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.waitFor("the project process gone", 10*time.Second, func() bool { return syscall.Kill(pid, 0) != nil })
	if r := p.berthEnv(noAgent, "up", "-d"); r.code != 0 { // starts it again
		t.Fatalf("%s", r)
	}
	p.waitFor("the stale probe's FIFOs removed", 30*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(dir, stale))
		return os.IsNotExist(err)
	})
	if e := p.entry(p.name + "-slow-1"); e.State != "running" {
		t.Errorf("slow after the project process was killed: %s, want running", e.State)
	}
}
