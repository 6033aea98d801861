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

	// The agent is in the container's process list, as the docs say:
	// the one the container's process launched ("/.berth/probe serve"),
	// or one started by exec ("/.berth/probe").
	agentPid := func() string {
		for _, line := range strings.Split(p.must("exec", "ok", "ps", "-o", "pid,args").stdout, "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[1] == "/.berth/probe" {
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
	// probes through its own. (The launched agent was killed above: the
	// next project process finds its socket refusing, and starts one by
	// exec too.)
	pid = agentPid()
	replaceProjectProcess(t, p, "ok", name("ok"), "parent=probe\nto-stderr\n")
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

// launchedAgents are the lines of a container's process list that are
// probe agents: launched ones ("/.berth/probe serve") and ones started
// by exec ("/.berth/probe"), as "ppid args".
func launchedAgents(p *project, service string) (launched, byExec []string) {
	p.t.Helper()
	for _, line := range strings.Split(p.must("exec", service, "ps", "-o", "ppid,args").stdout, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 3 && f[1] == "/.berth/probe" && f[2] == "serve":
			launched = append(launched, f[0])
		case len(f) == 2 && f[1] == "/.berth/probe":
			byExec = append(byExec, f[0])
		}
	}
	return launched, byExec
}

// TestLaunchedProbeAgent: a container with a healthcheck and a pid
// namespace of its own has its agent started by its own process, no
// exec: the command stays pid 1 (also under init: true, and read-only,
// non-root and without capabilities), ps and inspect show the command,
// exit codes are the command's, a restarted container's new process
// launches a new agent, and a project process that is replaced probes
// through the same agent. One that shares another's pid namespace is
// probed by an agent started by exec.
func TestLaunchedProbeAgent(t *testing.T) {
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
  init:
    image: `+testImage+`
    command: ["sleep", "600"]
    init: true
    healthcheck:
      test: `+agentProbe+`
      interval: 1s
  flaky:
    image: `+testImage+`
    command: ["sh", "-c", "sleep 4; exit 3"]
    restart: on-failure
    stop_signal: SIGKILL
    healthcheck:
      test: `+agentProbe+`
      interval: 1s
  waiter:
    image: `+testImage+`
    command: ["sh", "-c", "sleep 3 & wait; exit 4"]
    healthcheck:
      test: `+agentProbe+`
      interval: 1s
  badcmd:
    image: `+testImage+`
    command: ["no-such-cmd"]
    healthcheck:
      test: `+agentProbe+`
      interval: 1s
  target:
    image: `+testImage+`
    command: ["sleep", "600"]
    stop_signal: SIGKILL
  joined:
    image: `+testImage+`
    command: ["sleep", "600"]
    pid: "service:target"
    stop_signal: SIGKILL
    healthcheck:
      test: `+agentProbe+`
      interval: 1s
`+fmt.Sprintf(confinedService, testImage), nil)
	p.must("up", "-d", "--wait", "ok", "init", "confined", "joined")
	name := func(s string) string { return p.name + "-" + s + "-1" }
	logs := p.healthLogs()
	for _, s := range []string{"ok", "init", "joined"} {
		l := logs[name(s)].HealthLog
		if logs[name(s)].Health != "healthy" || len(l) == 0 || l[len(l)-1].Output != "parent=probe\nto-stderr\n" {
			t.Errorf("%s: %+v, want healthy, probed by an agent", s, logs[name(s)])
		}
	}
	if l := logs[name("confined")].HealthLog; len(l) == 0 || l[len(l)-1].Output != "parent=probe\n"+confinedOutput {
		t.Errorf("confined: health log %+v, want the agent's probe with the container's confinement", l)
	}
	// The command is pid 1; the agent is its child, launched, not exec'd.
	for s, want := range map[string]string{"ok": "sleep 600", "init": "/sbin/docker-init -- sleep 600", "confined": "sleep 600"} {
		if got := strings.ReplaceAll(strings.TrimRight(p.must("exec", s, "cat", "/proc/1/cmdline").stdout, "\x00"), "\x00", " "); got != want {
			t.Errorf("%s: pid 1 is %q, want %q", s, got, want)
		}
		launched, byExec := launchedAgents(p, s)
		if len(launched) != 1 || len(byExec) != 0 || launched[0] != "1" {
			t.Errorf("%s: launched agents (by parent) %q, by exec %q; want one, pid 1's child, and none by exec", s, launched, byExec)
		}
	}
	// One in another's pid namespace has its agent by exec.
	if _, byExec := launchedAgents(p, "joined"); len(byExec) == 0 {
		t.Errorf("joined: no agent started by exec:\n%s", p.must("exec", "joined", "ps", "-o", "pid,ppid,args").stdout)
	}
	// ps and inspect show the command, not the launcher.
	if out := p.must("ps", "--format", "{{.Command}}", "ok").stdout; !strings.Contains(out, "sleep 600") || strings.Contains(out, "/.berth") {
		t.Errorf("ps shows %q, want the service's command", out)
	}
	if out := p.must("container", "inspect", name("ok")).stdout; strings.Contains(out, "/.berth") || !strings.Contains(out, "600") {
		t.Errorf("inspect shows the launcher:\n%s", out)
	}

	// A restarted container's new process launches a new agent; its exit
	// code is the command's.
	p.must("up", "-d", "flaky")
	p.waitFor("flaky restarted and probed again", 90*time.Second, func() bool {
		for _, e := range p.ps(true) {
			if e.Service == "flaky" && e.RestartCount >= 1 && e.State == "running" {
				l := p.healthLogs()[name("flaky")].HealthLog
				launched, _ := launchedAgents(p, "flaky")
				return len(l) > 0 && l[len(l)-1].Output == "parent=probe\nto-stderr\n" && len(launched) == 1
			}
		}
		return false
	})
	if _, byExec := launchedAgents(p, "flaky"); len(byExec) != 0 {
		t.Errorf("flaky after its restart: an agent by exec %q, want the launched one only", byExec)
	}
	p.must("stop", "flaky")

	// A command that is not in the image fails the start as runc says,
	// as without the launcher.
	if r := p.berth("up", "-d", "badcmd"); r.code == 0 || !strings.Contains(r.stderr, `start container `+name("badcmd")+`: exec: "no-such-cmd": executable file not found in $PATH`) {
		t.Errorf("up of a service whose command is missing: want runc's start error; %s", r)
	}

	// A shell that waits for its jobs is not held up by the agent, its
	// child, and its exit status is its own.
	p.must("up", "-d", "waiter")
	p.waitFor("waiter exited", 60*time.Second, func() bool {
		for _, e := range p.ps(true) {
			if e.Service == "waiter" && e.State == "exited" {
				if e.ExitCode != 4 {
					t.Errorf("waiter exited %d, want 4", e.ExitCode)
				}
				return true
			}
		}
		return false
	})

	// The project process replaced, the next probes through the same
	// launched agent.
	agentLines := func() string {
		var out []string
		for _, line := range strings.Split(p.must("exec", "ok", "ps", "-o", "pid,args").stdout, "\n") {
			if strings.Contains(line, "/.berth/probe") {
				out = append(out, strings.TrimSpace(line))
			}
		}
		return strings.Join(out, "\n")
	}
	before := agentLines()
	replaceProjectProcess(t, p, "ok", name("ok"), "parent=probe\nto-stderr\n")
	if after := agentLines(); after != before || !strings.HasSuffix(after, "/.berth/probe serve") {
		t.Errorf("agents changed with the project process:\nbefore\n%s\nafter\n%s", before, after)
	}
	p.must("down")
	p.assertNothingLeft()
}

// replaceProjectProcess kills the project's long-lived process, has up
// start a new one, and waits until service's container (named container)
// was probed by it with output want.
func replaceProjectProcess(t *testing.T, p *project, service, container, want string) {
	t.Helper()
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
	p.must("up", "-d", service)
	restartedAt := time.Now()
	p.waitFor("a probe by the new project process", 60*time.Second, func() bool {
		l := p.healthLogs()[container].HealthLog
		return len(l) > 0 && l[len(l)-1].Start.After(restartedAt) && l[len(l)-1].Output == want
	})
}
