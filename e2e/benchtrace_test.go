//go:build e2e

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth/berth/compose"
)

// ctrEvent is one line of `ctr events`: when containerd published it, its
// topic, and the container (and exec) it is about.
type ctrEvent struct {
	at        time.Time
	topic     string
	container string
	exec      string // an exec's ID (exec-added, exec-started, the exit of an exec)
	healthy   bool   // a /containers/update whose health label says healthy
}

// ctrEventLayout is how `ctr events` prints an event's time.
const ctrEventLayout = "2006-01-02 15:04:05.999999999 -0700 MST"

// parseCtrEvent reads one line of `ctr events`:
//
//	2026-12-06 08:27:00.600503451 +0000 UTC berth /tasks/exec-started {"container_id":…}
//
// ok is false for a line that is not an event (ctr's warnings).
func parseCtrEvent(line string) (ev ctrEvent, ok bool) {
	f := strings.SplitN(line, " ", 7)
	if len(f) < 7 || !strings.HasPrefix(f[5], "/") {
		return ctrEvent{}, false
	}
	at, err := time.Parse(ctrEventLayout, strings.Join(f[:4], " "))
	if err != nil {
		return ctrEvent{}, false
	}
	var body struct {
		ID          string            `json:"id"`
		ContainerID string            `json:"container_id"`
		ExecID      string            `json:"exec_id"`
		Labels      map[string]string `json:"labels"`
	}
	if json.Unmarshal([]byte(f[6]), &body) != nil {
		return ctrEvent{}, false
	}
	ev = ctrEvent{at: at, topic: f[5], container: body.ContainerID, exec: body.ExecID}
	switch ev.topic {
	case "/containers/create", "/containers/update", "/containers/delete":
		ev.container = body.ID
	case "/tasks/exit":
		if body.ID != body.ContainerID {
			ev.exec = body.ID
		}
	}
	if h, ok := body.Labels[compose.LabelHealth]; ok && ev.topic == "/containers/update" {
		var health struct{ Status string }
		ev.healthy = json.Unmarshal([]byte(h), &health) == nil && health.Status == "healthy"
	}
	return ev, true
}

// containerTrace is what the events tell of one container's way to
// healthy.
type containerTrace struct {
	created, taskCreated, taskStarted, healthy time.Time
	// execs are its execs in the order they were added.
	execs []*execTrace
}

// execTrace is one exec (a probe): added, started, exited.
type execTrace struct {
	id                    string
	added, started, ended time.Time
}

// traceContainers folds the events into one trace per container; only the
// first healthy update counts.
func traceContainers(events []ctrEvent) map[string]*containerTrace {
	out := map[string]*containerTrace{}
	for _, ev := range events {
		if ev.container == "" {
			continue
		}
		c := out[ev.container]
		if c == nil {
			c = &containerTrace{}
			out[ev.container] = c
		}
		execOf := func() *execTrace {
			for _, e := range c.execs {
				if e.id == ev.exec {
					return e
				}
			}
			e := &execTrace{id: ev.exec}
			c.execs = append(c.execs, e)
			return e
		}
		switch {
		case ev.topic == "/containers/create":
			c.created = ev.at
		case ev.topic == "/tasks/create":
			c.taskCreated = ev.at
		case ev.topic == "/tasks/start":
			c.taskStarted = ev.at
		case ev.topic == "/tasks/exec-added":
			execOf().added = ev.at
		case ev.topic == "/tasks/exec-started":
			execOf().started = ev.at
		case ev.topic == "/tasks/exit" && ev.exec != "":
			execOf().ended = ev.at
		case ev.healthy && c.healthy.IsZero():
			c.healthy = ev.at
		}
	}
	return out
}

// linkStep is one step of a service's way from "its dependency is
// healthy" to "healthy" itself.
type linkStep struct {
	what string
	took func(dep, c *containerTrace) (time.Duration, bool)
}

// passingProbe is the last exec that ended before the container was
// recorded healthy: the probe that made it healthy.
func (c *containerTrace) passingProbe() *execTrace {
	var pass *execTrace
	for _, e := range c.execs {
		if !e.ended.IsZero() && !e.ended.After(c.healthy) {
			pass = e
		}
	}
	return pass
}

// probesUntilHealthy counts the execs added before the container was
// recorded healthy.
func (c *containerTrace) probesUntilHealthy() int {
	n := 0
	for _, e := range c.execs {
		if !e.added.IsZero() && !e.added.After(c.healthy) {
			n++
		}
	}
	return n
}

// between is b-a when both are known and in order.
func between(a, b time.Time) (time.Duration, bool) {
	if a.IsZero() || b.IsZero() || b.Before(a) {
		return 0, false
	}
	return b.Sub(a), true
}

// linkSteps are the steps a link of a service_healthy chain is cut into.
var linkSteps = []linkStep{
	{"dependency healthy → task started", func(dep, c *containerTrace) (time.Duration, bool) {
		return between(dep.healthy, c.taskStarted)
	}},
	{"task started → first probe's exec added", func(_, c *containerTrace) (time.Duration, bool) {
		if len(c.execs) == 0 {
			return 0, false
		}
		return between(c.taskStarted, c.execs[0].added)
	}},
	{"passing probe: exec added → started (runc exec)", func(_, c *containerTrace) (time.Duration, bool) {
		if p := c.passingProbe(); p != nil {
			return between(p.added, p.started)
		}
		return 0, false
	}},
	{"passing probe: started → exited (the probe's command)", func(_, c *containerTrace) (time.Duration, bool) {
		if p := c.passingProbe(); p != nil {
			return between(p.started, p.ended)
		}
		return 0, false
	}},
	{"passing probe: exited → healthy recorded", func(_, c *containerTrace) (time.Duration, bool) {
		if p := c.passingProbe(); p != nil {
			return between(p.ended, c.healthy)
		}
		return 0, false
	}},
	{"whole link: dependency healthy → healthy", func(dep, c *containerTrace) (time.Duration, bool) {
		return between(dep.healthy, c.healthy)
	}},
}

// chainBreakdown cuts each link of a chain (containers[i] depends on
// containers[i-1]) into linkSteps and returns, per step, the durations
// of the links where the events show it, and the probes each link ran
// until healthy.
func chainBreakdown(traces map[string]*containerTrace, containers []string) (steps map[string][]float64, probes []float64) {
	steps = map[string][]float64{}
	for i := 1; i < len(containers); i++ {
		dep, c := traces[containers[i-1]], traces[containers[i]]
		if dep == nil || c == nil {
			continue
		}
		for _, s := range linkSteps {
			if d, ok := s.took(dep, c); ok {
				steps[s.what] = append(steps[s.what], d.Seconds())
			}
		}
		if !c.healthy.IsZero() {
			probes = append(probes, float64(c.probesUntilHealthy()))
		}
	}
	return steps, probes
}

// eventRecorder runs `ctr events` against a private daemon and keeps the
// events it prints.
type eventRecorder struct {
	cmd  *exec.Cmd
	done chan struct{}

	mu     sync.Mutex // guards events
	events []ctrEvent
}

// recordEvents starts `ctr events` and returns once it is seen to
// receive: it sets a label on the daemon's namespace and waits for that
// update's event.
func (d *privateDaemon) recordEvents(b *testing.B) *eventRecorder {
	b.Helper()
	r := &eventRecorder{cmd: exec.Command(ctrBin, "--address", d.address(), "events"), done: make(chan struct{})}
	out, err := r.cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	r.cmd.Stderr = io.Discard
	if err := r.cmd.Start(); err != nil {
		b.Fatalf("ctr events: %v", err)
	}
	ready := make(chan struct{})
	go func() {
		defer close(r.done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20) // a container update carries all its labels
		var once sync.Once
		for sc.Scan() {
			if strings.Contains(sc.Text(), "/namespaces/update") {
				once.Do(func() { close(ready) })
			}
			if ev, ok := parseCtrEvent(sc.Text()); ok {
				r.mu.Lock()
				r.events = append(r.events, ev)
				r.mu.Unlock()
			}
		}
	}()
	deadline := time.After(30 * time.Second)
	for i := 0; ; i++ {
		d.ctr("namespaces", "label", "berth", fmt.Sprintf("berth-bench-ready=%d", i))
		select {
		case <-ready:
			return r
		case <-deadline:
			r.stop()
			b.Fatal("ctr events printed no event of a namespace label set within 30 s")
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// stop ends `ctr events` and returns the events it printed.
func (r *eventRecorder) stop() []ctrEvent {
	r.cmd.Process.Kill() //nolint:errcheck // it may have ended
	r.cmd.Wait()         //nolint:errcheck // killed on purpose
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.events
}
