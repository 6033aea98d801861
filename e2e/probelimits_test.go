//go:build e2e

package e2e

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// initsDockerfile makes a Debian image with tini and dumb-init from
// Debian's packages (with procps for ps; perl is in Debian's base), from
// the mirror the first time and from berth's build cache after.
const initsDockerfile = `FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends tini dumb-init procps && rm -rf /var/lib/apt/lists/*
`

// exitedCode waits until service's container has exited and returns its
// exit code as ps shows it.
func exitedCode(p *project, service string, timeout time.Duration) int {
	p.t.Helper()
	code := -1
	p.waitFor(service+" exited", timeout, func() bool {
		for _, e := range p.ps(true) {
			if e.Service == service && e.State == "exited" {
				code = e.ExitCode
				return true
			}
		}
		return false
	})
	return code
}

// TestLaunchedProbeAgentInits: an init as the command (tini, dumb-init,
// and tini under init: true) is pid 1 or berth's init's child as it would
// be without the agent; the healthcheck runs through the launched agent;
// stop's TERM reaches the app through the init and the exit status is the
// app's (not a SIGKILL at the stop timeout). A pid 1 that waits for every
// child until there is none (a reaper) is not held up by the agent: it
// exits when its own children are gone, and also when stop's TERM made it
// end them.
//
// The app, sh, exits 42 on TERM: a status of 42 says stop's TERM reached
// it (a SIGKILL at the stop timeout would be 137). The reapers are perl
// ($$ escapes compose's interpolation): reaper's children end after 3 s
// and it exits 5 once wait fails; stopreaper's run until its TERM handler
// ends them, and it exits 7; afterwait goes on (as sleep) once its wait
// failed, and is then probed through an agent started by exec.
func TestLaunchedProbeAgentInits(t *testing.T) {
	t.Parallel()
	image := "berth-e2e.local/e2e-launched-agent-inits:1"
	p := newProject(t, `
x-probed: &probed
  image: `+image+`
  healthcheck:
    test: `+agentProbe+`
    interval: 1s
services:
  tini:
    <<: *probed
    build: .
    command: ["tini", "--", "sh", "-c", "trap 'exit 42' TERM; sleep 600 & wait"]
  dumbinit:
    <<: *probed
    command: ["dumb-init", "sh", "-c", "trap 'exit 42' TERM; sleep 600 & wait"]
  inittini:
    <<: *probed
    init: true
    command: ["tini", "--", "sh", "-c", "trap 'exit 42' TERM; sleep 600 & wait"]
  reaper:
    <<: *probed
    command: ["perl", "-e", "for (1..2) { exec 'sleep', '3' unless fork } 1 while wait() != -1; exit 5"]
  afterwait:
    <<: *probed
    command: ["perl", "-e", "exec 'true' unless fork; 1 while wait() != -1; exec 'sleep', '600'"]
  stopreaper:
    <<: *probed
    command: ["perl", "-e", "$$SIG{TERM} = sub { kill 'TERM', @k }; for (1..2) { my $$c = fork; exec 'sleep', '600' unless $$c; push @k, $$c } 1 while wait() != -1; exit 7"]
`, map[string]string{"Dockerfile": initsDockerfile})
	removeImages(t, image)
	loadDebianImage(t)
	p.must("build", "tini")
	p.must("up", "-d", "--wait", "tini", "dumbinit", "inittini", "stopreaper")
	name := func(s string) string { return p.name + "-" + s + "-1" }
	logs := p.healthLogs()
	for _, s := range []string{"tini", "dumbinit", "inittini", "stopreaper"} {
		l := logs[name(s)].HealthLog
		if logs[name(s)].Health != "healthy" || len(l) == 0 || l[len(l)-1].Output != "parent=probe\nto-stderr\n" {
			t.Errorf("%s: %+v, want healthy, probed by the launched agent", s, logs[name(s)])
		}
	}
	// pid 1 is the init the service names (berth's under init: true),
	// and the agent is pid 1's child, launched.
	for s, want := range map[string]string{
		"tini":     "tini -- sh -c trap 'exit 42' TERM; sleep 600 & wait",
		"dumbinit": "dumb-init sh -c trap 'exit 42' TERM; sleep 600 & wait",
		"inittini": "/sbin/docker-init -- tini -- sh -c trap 'exit 42' TERM; sleep 600 & wait",
	} {
		if got := strings.ReplaceAll(strings.TrimRight(p.must("exec", s, "cat", "/proc/1/cmdline").stdout, "\x00"), "\x00", " "); got != want {
			t.Errorf("%s: pid 1 is %q, want %q", s, got, want)
		}
		if launched, byExec := launchedAgents(p, s); len(launched) != 1 || launched[0] != "1" || len(byExec) != 0 {
			t.Errorf("%s: launched agents (by parent) %q, by exec %q; want one, pid 1's child", s, launched, byExec)
		}
	}
	// stop: TERM goes to pid 1, through the init to the app, whose exit
	// status is the container's; nothing waits for the stop timeout.
	for _, s := range []string{"tini", "dumbinit", "inittini", "stopreaper"} {
		start := time.Now()
		p.must("stop", "-t", "30", s)
		t.Logf("stop %s: %s", s, time.Since(start).Round(time.Millisecond))
		want := 42
		if s == "stopreaper" {
			want = 7
		}
		if code := exitedCode(p, s, 90*time.Second); code != want {
			t.Errorf("%s stopped: exit %d, want %d (the app's own on TERM)", s, code, want)
		}
	}
	// A reaper whose children end exits: the agent does not keep it
	// waiting.
	start := time.Now()
	p.must("up", "-d", "reaper")
	code := exitedCode(p, "reaper", 90*time.Second)
	t.Logf("reaper: up and exit in %s", time.Since(start).Round(time.Millisecond))
	if code != 5 {
		t.Errorf("reaper: exit %d, want 5 once its children ended", code)
	}
	// A pid 1 that goes on once its wait failed is probed on, by an
	// agent started by exec in place of the launched one, gone.
	p.must("up", "-d", "afterwait")
	p.waitFor("afterwait probed through an agent started by exec", 90*time.Second, func() bool {
		launched, byExec := launchedAgents(p, "afterwait")
		l := p.healthLogs()[name("afterwait")]
		return len(launched) == 0 && len(byExec) == 1 && l.Health == "healthy" && len(l.HealthLog) > 0 && l.HealthLog[len(l.HealthLog)-1].Output == "parent=probe\nto-stderr\n"
	})
	if got := strings.TrimRight(p.must("exec", "afterwait", "cat", "/proc/1/cmdline").stdout, "\x00"); got != "sleep\x00600" {
		t.Errorf("afterwait: pid 1 is %q, want sleep 600", got)
	}
}

// TestLaunchedProbeAgentCommitExport: commit and export of a container
// whose process launched its agent carry nothing of /.berth (neither the
// mount points berth's agent and its tmpfs needed nor anything in them),
// as Docker's commit carries nothing of its init; the committed image's
// history names the command, not the launcher.
func TestLaunchedProbeAgentCommitExport(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  app:
    image: `+testImage+`
    command: ["sh", "-c", "echo changed > /changed; sleep 600"]
    stop_signal: SIGKILL
    healthcheck:
      test: `+agentProbe+`
      interval: 1s
`, nil)
	image := "berth-e2e.local/" + p.name + ":1"
	removeImages(t, image)
	p.must("up", "-d", "--wait")
	if launched, _ := launchedAgents(p, "app"); len(launched) != 1 {
		t.Fatalf("app has no launched agent")
	}
	out := filepath.Join(p.dir, "app.tar")
	p.must("export", "-o", out, "app")
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	names := tarNames(t, f)
	f.Close()
	if _, ok := names["changed"]; !ok {
		t.Errorf("export has no /changed: %d entries", len(names))
	}
	for n := range names {
		if n == ".berth" || strings.HasPrefix(n, ".berth/") {
			t.Errorf("export carries %s", n)
		}
	}

	p.must("commit", "app", image)
	var m struct {
		Config struct{ Digest string }
		Layers []struct{ Digest string }
	}
	if err := json.Unmarshal([]byte(ctr(t, "content", "get", manifestDigest(t, image))), &m); err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader([]byte(ctr(t, "content", "get", m.Layers[len(m.Layers)-1].Digest))))
	if err != nil {
		t.Fatal(err)
	}
	layer := tarNames(t, zr)
	if _, ok := layer["changed"]; !ok {
		t.Errorf("committed layer has no /changed: %v", layer)
	}
	for n := range layer {
		if n == ".berth" || n == ".berth/" || strings.HasPrefix(n, ".berth/") {
			t.Errorf("committed layer carries %s", n)
		}
	}
	var cfg struct {
		History []struct {
			CreatedBy string `json:"created_by"`
		}
	}
	if err := json.Unmarshal([]byte(ctr(t, "content", "get", m.Config.Digest)), &cfg); err != nil {
		t.Fatal(err)
	}
	if got := cfg.History[len(cfg.History)-1].CreatedBy; got != "sh -c echo changed > /changed; sleep 600" {
		t.Errorf("committed image's history: created by %q, want the command", got)
	}
	// A container of the committed image (no healthcheck) has no /.berth.
	p.write("compose.yaml", "services:\n  check:\n    image: "+image+"\n")
	if r := p.must("run", "--rm", "check", "sh", "-c", "cat /changed; if test -e /.berth; then echo has /.berth; fi"); r.stdout != "changed\n" {
		t.Errorf("in the committed image: %q, want /changed and no /.berth", r.stdout)
	}
}

// TestLaunchedProbeAgentExecFormat: a command that is in the image and
// executable but cannot be executed (garbage content: an exec format
// error, as a binary of a foreign architecture without emulation) fails
// as runc fails it without the launcher: its message in the logs and the
// same exit status.
func TestLaunchedProbeAgentExecFormat(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  bad:
    build: .
    command: ["/bad"]
    healthcheck:
      test: `+agentProbe+`
      interval: 1s
`, map[string]string{"Dockerfile": "FROM " + testImage + "\nRUN printf 'not\\001an\\002executable\\n' > /bad && chmod 755 /bad\n"})
	removeImages(t, "docker.io/library/"+p.name+"-bad:latest")
	p.must("build")
	results := map[string]string{}
	for _, mode := range []struct {
		name string
		env  []string
	}{{"by exec (no launcher)", []string{"BERTH_PROBE_AGENT=none"}}, {"launched", nil}} {
		r := p.berthEnv(mode.env, "up", "-d", "--force-recreate", "bad")
		code := exitedCode(p, "bad", 60*time.Second)
		l := p.must("logs", "--no-log-prefix", "bad")
		logs := l.stdout + l.stderr
		results[mode.name] = strings.TrimSpace(logs)
		t.Logf("%s: up exit %d, container exit %d, logs %q", mode.name, r.code, code, logs)
		if r.code != 0 || code != 1 || !strings.Contains(logs, "exec /bad: exec format error") {
			t.Errorf("%s: up %s; container exit %d, logs %q; want it started, exit 1 and runc's \"exec /bad: exec format error\"", mode.name, r, code, logs)
		}
	}
	if results["launched"] != results["by exec (no launcher)"] {
		t.Errorf("the launcher changed what the container says: %q, without it %q", results["launched"], results["by exec (no launcher)"])
	}
}
