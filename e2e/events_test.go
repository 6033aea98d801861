//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// eventLine is a line of berth events --json.
type eventLine struct {
	Time       time.Time         `json:"time"`
	Type       string            `json:"type"`
	Action     string            `json:"action"`
	ID         string            `json:"id"`
	Service    string            `json:"service"`
	Attributes map[string]string `json:"attributes"`
}

// eventStream is a berth events --json running in the background.
type eventStream struct {
	t      testing.TB
	cmd    *exec.Cmd
	stderr bytes.Buffer
	done   chan struct{}

	mu    sync.Mutex // guards following
	lines []string
}

func (p *project) events(args ...string) *eventStream {
	p.t.Helper()
	full := append(append(globalArgs(), "-p", p.name, "events", "--json"), args...)
	s := &eventStream{t: p.t, cmd: exec.Command(berthBin, full...), done: make(chan struct{})}
	s.cmd.Dir = p.dir
	s.cmd.Stderr = &s.stderr
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		p.t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			s.mu.Lock()
			s.lines = append(s.lines, sc.Text())
			s.mu.Unlock()
		}
	}()
	p.t.Cleanup(func() { s.cmd.Process.Kill(); s.cmd.Wait() }) //nolint:errcheck // already stopped by the test, or failing
	return s
}

// has reports whether an event of the service with the action (and the
// attributes, when given) came.
func (s *eventStream) has(service, action string, attrs map[string]string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, line := range s.lines {
		var e eventLine
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			s.t.Errorf("events --json printed %q: %v", line, err)
			continue
		}
		if e.Service != service || e.Action != action {
			continue
		}
		ok := true
		for k, v := range attrs {
			ok = ok && e.Attributes[k] == v
		}
		if ok {
			return true
		}
	}
	return false
}

func (s *eventStream) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.lines, "\n")
}

// TestEvents: berth events --json shows the project's container events as
// docker compose events does, and ends without an error on Ctrl-C.
func TestEvents(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  fail:
    image: `+testImage+`
    command: ["sh", "-c", "exit 3"]
  app:
    image: `+testImage+`
    command: ["sleep", "600"]
    labels: {tier: front}
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
  probe:
    image: `+testImage+`
    command: ["true"]
`, nil)
	ev := p.events()
	// Once a creation shows, the stream follows the project.
	p.waitFor("berth events to follow the project", 30*time.Second, func() bool {
		p.must("up", "-d", "--no-start", "probe")
		seen := ev.has("probe", "create", nil)
		p.must("rm", "-f", "probe")
		return seen
	})
	want := func(service, action string, attrs map[string]string) {
		t.Helper()
		p.waitFor(service+" "+action+" in berth events", 15*time.Second, func() bool { return ev.has(service, action, attrs) })
	}

	p.must("up", "-d", "fail", "app")
	name := func(s string) map[string]string { return map[string]string{"name": p.name + "-" + s + "-1"} }
	want("fail", "create", map[string]string{"name": p.name + "-fail-1", "image": testImage})
	want("fail", "start", name("fail"))
	want("fail", "die", map[string]string{"exitCode": "3"})
	want("app", "start", map[string]string{"tier": "front"})
	want("app", "health_status: healthy", name("app"))
	p.must("pause", "app")
	want("app", "pause", name("app"))
	p.must("unpause", "app")
	want("app", "unpause", name("app"))
	p.must("kill", "app")
	want("app", "kill", map[string]string{"signal": "9"})
	want("app", "die", map[string]string{"exitCode": "137"})
	p.must("down")
	want("fail", "destroy", name("fail"))
	want("app", "destroy", name("app"))

	s := ev.String()
	if strings.Contains(s, `"com.docker.compose.`) || strings.Contains(s, `"berth.`) {
		t.Errorf("events show compose's or berth's own labels as attributes:\n%s", s)
	}
	if err := ev.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	<-ev.done
	if err := ev.cmd.Wait(); err != nil {
		t.Errorf("berth events after Ctrl-C: %v, want exit 0\nstderr:\n%s", err, ev.stderr.String())
	}
}
