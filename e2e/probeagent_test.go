//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// probeLog is the health log ps --format json shows of a container.
type probeLog struct {
	Name, Health string
	HealthLog    []struct {
		Start    time.Time
		ExitCode int
		Output   string
	}
}

func (p *project) healthLogs() map[string]probeLog {
	p.t.Helper()
	r := p.byName("ps", "-a", "--format", "json")
	if r.code != 0 {
		p.t.Fatalf("%s", r)
	}
	out := map[string]probeLog{}
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var e probeLog
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			p.t.Fatalf("ps json %q: %v", line, err)
		}
		out[e.Name] = e
	}
	return out
}

// agentProbe is a probe that says who ran it: through the agent, its
// shell's parent is the agent (comm "probe"); as an exec, it has no
// parent in the container (the shim, outside, is pid 0 there).
// ($$ escapes compose's interpolation.)
const agentProbe = `["CMD-SHELL", "echo parent=$$(cat /proc/$$PPID/comm 2>/dev/null); echo to-stderr >&2"]`

// confinedService is a service confined in every way compose allows,
// whose probe says who ran it and under what confinement; confinedOutput
// is what it says after the parent line.
const confinedService = `
  confined:
    image: %s
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    read_only: true
    user: "65534:65534"
    security_opt: ["no-new-privileges"]
    cap_drop: [ALL]
    healthcheck:
      test: ["CMD-SHELL", "echo parent=$$(cat /proc/$$PPID/comm 2>/dev/null); echo uid=$$(id -u); grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status"]
      interval: 1s
`

const confinedOutput = "uid=65534\nCapEff:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\n"

// TestProbeAgent: healthchecks run through the probe agent give healthy
// and unhealthy, exit codes, output (stdout and stderr) and timeouts in
// the health log as exec probes did; the agent is in the container's
// process list; killed, it is started again; a container created without
// the agent is probed by exec as before.
func TestProbeAgent(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(filepath.Join(filepath.Dir(berthBin), "berth-probe")); err != nil {
		t.Fatalf("no probe agent beside %s (make build builds bin/berth-probe): %v", berthBin, err)
	}
	p := newProject(t, `
services:
  ok:
    image: `+testImage+`
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    healthcheck:
      test: `+agentProbe+`
      interval: 1s
  failing:
    image: `+testImage+`
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    user: "1000:1000"
    healthcheck:
      test: ["CMD-SHELL", "id -u; exit 3"]
      interval: 1s
      retries: 2
  slow:
    image: `+testImage+`
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    healthcheck:
      test: ["CMD", "sleep", "60"]
      interval: 1s
      timeout: 1s
      retries: 1
  missing:
    image: `+testImage+`
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    healthcheck:
      test: ["CMD", "no-such-probe"]
      interval: 1s
      retries: 1
`+fmt.Sprintf(confinedService, testImage), nil)
	p.must("up", "-d", "--wait", "ok", "confined")
	p.must("up", "-d", "failing", "slow", "missing")
	name := func(s string) string { return p.name + "-" + s + "-1" }
	p.waitFor("failing, slow and missing unhealthy", 90*time.Second, func() bool {
		l := p.healthLogs()
		return l[name("failing")].Health == "unhealthy" && l[name("slow")].Health == "unhealthy" && l[name("missing")].Health == "unhealthy"
	})
	logs := p.healthLogs()
	last := func(s string) (int, string) {
		l := logs[name(s)].HealthLog
		if len(l) == 0 {
			t.Fatalf("%s has no health log: %+v", s, logs[name(s)])
		}
		return l[len(l)-1].ExitCode, l[len(l)-1].Output
	}
	if code, out := last("ok"); logs[name("ok")].Health != "healthy" || code != 0 || out != "parent=probe\nto-stderr\n" {
		t.Errorf("ok: %s, last probe exit %d output %q; want healthy, 0, run by the agent (parent=probe) with its stderr", logs[name("ok")].Health, code, out)
	}
	if code, out := last("confined"); code != 0 || out != "parent=probe\n"+confinedOutput {
		t.Errorf("confined: last probe exit %d output %q; want 0, run by the agent with the container's user, capabilities, no_new_privs and seccomp", code, out)
	}
	if code, out := last("failing"); code != 3 || out != "1000\n" {
		t.Errorf("failing: last probe exit %d output %q; want 3 and the service's user 1000", code, out)
	}
	if code, out := last("slow"); code != -1 || out != "Health check exceeded timeout (1s)" {
		t.Errorf("slow: last probe exit %d output %q; want a timeout", code, out)
	}
	if code, out := last("missing"); code != -1 || !strings.Contains(out, `"no-such-probe": executable file not found in $PATH`) {
		t.Errorf("missing: last probe exit %d output %q; want runc's not-found message", code, out)
	}

	// The agent is in the container's process list, as the docs say.
	agentPid := func() string {
		for _, line := range strings.Split(p.must("exec", "ok", "ps", "-o", "pid,args").stdout, "\n") {
			if f := strings.Fields(line); len(f) == 2 && f[1] == "/.berth/probe" {
				return f[0]
			}
		}
		return ""
	}
	pid := agentPid()
	if pid == "" {
		t.Fatalf("no /.berth/probe in ok's processes:\n%s", p.must("exec", "ok", "ps", "-o", "pid,args").stdout)
	}
	// Killed, it is replaced, and probes go on through the new one.
	killedAt := time.Now()
	p.must("exec", "ok", "kill", "-9", pid)
	p.waitFor("a new agent's probe", 60*time.Second, func() bool {
		l := p.healthLogs()[name("ok")].HealthLog
		return len(l) > 0 && l[len(l)-1].Start.After(killedAt) && l[len(l)-1].Output == "parent=probe\nto-stderr\n" && agentPid() != pid
	})
	if h := p.healthLogs()[name("ok")].Health; h != "healthy" {
		t.Errorf("ok after its agent was killed: %s, want healthy", h)
	}

	// The project process killed, its agents live on (the shim holds
	// their input open); the next project process replaces them and
	// probes through its own.
	pid = agentPid()
	b, err := os.ReadFile(filepath.Join(berthRunDir(), "projects", p.name, "dns.pid"))
	if err != nil {
		t.Fatal(err)
	}
	daemon, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if daemon <= 0 {
		t.Fatalf("project process pid %q", b)
	}
	syscall.Kill(daemon, syscall.SIGKILL) //nolint:errcheck // waitGone checks
	waitGone(t, daemon)
	p.must("up", "-d", "ok")
	restartedAt := time.Now()
	p.waitFor("the new project process's agent", 60*time.Second, func() bool {
		l := p.healthLogs()[name("ok")].HealthLog
		return len(l) > 0 && l[len(l)-1].Start.After(restartedAt) && l[len(l)-1].Output == "parent=probe\nto-stderr\n"
	})
	ps := p.must("exec", "ok", "ps", "-o", "pid,args").stdout
	if n := strings.Count(ps, "/.berth/probe"); n != 1 || agentPid() == pid {
		t.Errorf("after the project process was replaced: %d agents, want one new one (the old was %s):\n%s", n, pid, ps)
	}
}

// TestProbeAgentFallback: a container created without the agent bound
// (BERTH_PROBE_AGENT=none, as a berth without the agent, or an older
// one) is probed by an exec per probe, with the same results.
func TestProbeAgentFallback(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  ok:
    image: `+testImage+`
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    healthcheck:
      test: `+agentProbe+`
      interval: 1s
`+fmt.Sprintf(confinedService, testImage), nil)
	if r := p.berthEnv([]string{"BERTH_PROBE_AGENT=none"}, "up", "-d", "--wait"); r.code != 0 {
		t.Fatalf("%s", r)
	}
	p.waitFor("two probes", 30*time.Second, func() bool { return len(p.healthLogs()[p.name+"-ok-1"].HealthLog) >= 2 })
	e := p.healthLogs()[p.name+"-ok-1"]
	l := e.HealthLog[len(e.HealthLog)-1]
	// An exec's stdout and stderr come through FIFOs of their own: in
	// either order.
	if e.Health != "healthy" || l.ExitCode != 0 || (l.Output != "parent=\nto-stderr\n" && l.Output != "to-stderr\nparent=\n") {
		t.Errorf("health %s, last probe exit %d output %q; want healthy, 0, run as an exec (no parent)", e.Health, l.ExitCode, l.Output)
	}
	// The same confinement as the agent's probes (TestProbeAgent).
	c := p.healthLogs()[p.name+"-confined-1"].HealthLog
	if len(c) == 0 || c[len(c)-1].Output != "parent=\n"+confinedOutput {
		t.Errorf("confined by exec: health log %+v, want the last output %q", c, "parent=\n"+confinedOutput)
	}
	if out := p.must("exec", "ok", "ps", "-o", "args").stdout; strings.Contains(out, "/.berth/probe") {
		t.Errorf("an agent runs in a container created without it:\n%s", out)
	}
	if r := p.berthEnv([]string{"BERTH_PROBE_AGENT=/nonexistent/berth-probe"}, "ps"); r.code == 0 || !strings.Contains(r.stderr, "/nonexistent/berth-probe") {
		t.Errorf("a BERTH_PROBE_AGENT that does not exist: want a failure naming it; %s", r)
	}
}
