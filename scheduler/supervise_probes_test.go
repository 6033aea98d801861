package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/berth/berth/compose"
)

// gatedRuntime holds each probe until the test lets it end (a success:
// let), or until it is cancelled (reported as "cancel NAME").
type gatedRuntime struct {
	*supRuntime
	gmu   sync.Mutex // guards gates
	gates map[string]chan struct{}
}

func newGatedRuntime(clock *fakeClock) *gatedRuntime {
	return &gatedRuntime{supRuntime: newSupRuntime(clock), gates: map[string]chan struct{}{}}
}

func (r *gatedRuntime) gate(name string) chan struct{} {
	r.gmu.Lock()
	defer r.gmu.Unlock()
	if r.gates[name] == nil {
		r.gates[name] = make(chan struct{})
	}
	return r.gates[name]
}

// let ends the probe of name under way.
func (r *gatedRuntime) let(name string) { r.gate(name) <- struct{}{} }

func (r *gatedRuntime) Probe(ctx context.Context, c Container, _ []string, _ time.Duration) ProbeResult {
	r.calls <- "probe " + c.Name
	select {
	case <-r.gate(c.Name):
	case <-ctx.Done():
		r.calls <- "cancel " + c.Name
		return ProbeResult{ExitCode: -1}
	}
	now := r.clock.Now()
	return ProbeResult{Start: now, End: now}
}

// runSupervisor runs s until the test ends.
func runSupervisor(t *testing.T, s *Supervisor) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}

func newTestClock() *fakeClock {
	return &fakeClock{now: time.Unix(1000, 0), added: make(chan struct{}, 1)}
}

// phases places each container's probes at a fixed point of its interval.
func phases(m map[string]float64) func(string) float64 {
	return func(id string) float64 { return m[id] }
}

// TestSupervisorSpreadsProbes: the probes of containers nobody waits on
// fall at their phases of the interval, not all at the start.
func TestSupervisorSpreadsProbes(t *testing.T) {
	clock := newTestClock()
	rt := newSupRuntime(clock)
	rt.probes = []int{0, 0, 0, 0}
	hc := map[string]string{compose.LabelHealthcheck: healthLabel(t, HealthConfig{Test: []string{"CMD", "ok"}, Interval: time.Second, Timeout: time.Second, Retries: 1})}
	rt.add("a", StateRunning, hc)
	rt.add("b", StateRunning, hc)
	runSupervisor(t, &Supervisor{Project: "demo", Runtime: rt, Clock: clock, Log: log.New(io.Discard, "", 0),
		Phase: phases(map[string]float64{"a": 0.25, "b": 0.75})})

	clock.awaitWaiter(t)
	rt.expectNone(t)
	clock.Advance(249 * time.Millisecond)
	rt.expectNone(t)
	clock.Advance(time.Millisecond)
	rt.expect(t, "probe a CMD ok")
	rt.expect(t, "record a healthy restarts=0")
	clock.Advance(500 * time.Millisecond)
	rt.expect(t, "probe b CMD ok")
	rt.expect(t, "record b healthy restarts=0")
	// Each keeps its place: a at 1.25 s, b at 1.75 s.
	clock.Advance(500 * time.Millisecond)
	rt.expect(t, "probe a CMD ok")
	rt.expect(t, "record a healthy restarts=0")
	clock.Advance(499 * time.Millisecond)
	rt.expectNone(t)
	clock.Advance(time.Millisecond)
	rt.expect(t, "probe b CMD ok")
	rt.expect(t, "record b healthy restarts=0")
}

// TestSupervisorEagerWhereWaited: a service a command announced it waits
// on, and one that a dependent needs healthy, are probed at their start;
// another is left to its phase; one that becomes waited on while still
// starting is probed at once.
func TestSupervisorEagerWhereWaited(t *testing.T) {
	clock := newTestClock()
	rt := newSupRuntime(clock)
	rt.probes = []int{0, 0, 0, 0}
	hc := map[string]string{compose.LabelHealthcheck: healthLabel(t, HealthConfig{Test: []string{"CMD", "ok"}, Interval: 10 * time.Second, Timeout: time.Second, Retries: 1})}
	rt.add("announced", StateRunning, hc)
	rt.add("db", StateRunning, hc)
	rt.add("web", StateCreated, map[string]string{compose.LabelDependsOn: "db:service_healthy:true"})
	rt.add("later", StateRunning, hc)
	runSupervisor(t, &Supervisor{Project: "demo", Runtime: rt, Clock: clock, Log: log.New(io.Discard, "", 0),
		Phase: func(string) float64 { return 0.5 }, ProbeLimit: 1,
		Awaited: func() map[string]bool { return map[string]bool{"announced": true} }})

	// One at a time (ProbeLimit 1), in name order: both are eager.
	rt.expect(t, "probe announced CMD ok")
	rt.expect(t, "record announced healthy restarts=0")
	rt.expect(t, "probe db CMD ok")
	rt.expect(t, "record db healthy restarts=0")
	clock.Advance(time.Second)
	rt.expectNone(t) // later is due at 5 s

	// A dependent of later's, needing it healthy, is created.
	rt.add("api", StateCreated, map[string]string{compose.LabelDependsOn: "later:service_healthy:false"})
	rt.events <- RuntimeEvent{Kind: EventCreated, Container: "api", At: clock.Now()}
	rt.expect(t, "probe later CMD ok")
	rt.expect(t, "record later healthy restarts=0")
}

// TestSupervisorProbeLimit: no more probes run at once than the limit;
// the due ones wait for a slot, the most overdue first; eager probes have
// slots of their own, which the others never hold up.
func TestSupervisorProbeLimit(t *testing.T) {
	clock := newTestClock()
	rt := newGatedRuntime(clock)
	hc := map[string]string{compose.LabelHealthcheck: healthLabel(t, HealthConfig{Test: []string{"CMD", "ok"}, Interval: time.Second, Timeout: time.Second, Retries: 1})}
	for _, name := range []string{"a", "b", "c", "z"} {
		rt.add(name, StateRunning, hc)
	}
	rt.add("web", StateCreated, map[string]string{compose.LabelDependsOn: "z:service_healthy:false"})
	runSupervisor(t, &Supervisor{Project: "demo", Runtime: rt, Clock: clock, Log: log.New(io.Discard, "", 0),
		Phase: phases(map[string]float64{"a": 0.2, "b": 0.1, "c": 0.3}), ProbeLimit: 1})

	// z is eager (web waits on it): probed at once; a, b, c later.
	rt.expect(t, "probe z")
	clock.Advance(500 * time.Millisecond)
	// b (due at 100 ms), a (200 ms) and c (300 ms) are due; z's probe
	// holds no slot of theirs: one starts, b, the most overdue.
	rt.expect(t, "probe b")
	rt.expectNone(t)
	rt.let("b")
	rt.expect(t, "record b healthy restarts=0")
	rt.expect(t, "probe a")
	rt.expectNone(t)
	// z's end frees no slot for c.
	rt.let("z")
	rt.expect(t, "record z healthy restarts=0")
	rt.expectNone(t)
	rt.let("a")
	rt.expect(t, "record a healthy restarts=0")
	rt.expect(t, "probe c")
	rt.let("c")
	rt.expect(t, "record c healthy restarts=0")
	rt.expectNone(t)
}

// TestSupervisorQuiesce: a container a command is about to stop has its
// probe under way cancelled, is probed no more and not restarted when it
// exits; one given back is probed again.
func TestSupervisorQuiesce(t *testing.T) {
	clock := newTestClock()
	rt := newGatedRuntime(clock)
	always, _ := json.Marshal(compose.RestartPolicy{Condition: compose.RestartAlways})
	hc := healthLabel(t, HealthConfig{Test: []string{"CMD", "ok"}, Interval: time.Second, Timeout: time.Second, Retries: 1})
	rt.add("db", StateRunning, map[string]string{compose.LabelHealthcheck: hc, compose.LabelRestart: string(always)})
	rt.add("web", StateRunning, map[string]string{compose.LabelHealthcheck: hc})
	runSupervisor(t, &Supervisor{Project: "demo", Runtime: rt, Clock: clock, Log: log.New(io.Discard, "", 0),
		Phase: phases(map[string]float64{"web": 0.5}), ProbeLimit: 1})

	rt.expect(t, "probe db")
	rt.events <- RuntimeEvent{Kind: EventQuiesced, Container: "db", At: clock.Now()}
	rt.events <- RuntimeEvent{Kind: EventQuiesced, Container: "web", At: clock.Now()}
	rt.expect(t, "cancel db")
	// Its slot is free at once, yet neither is probed.
	clock.Advance(10 * time.Second)
	rt.expectNone(t)

	// db exits (no manual-stop label yet), then is deleted: not
	// restarted, and neither its exit nor its deletion costs a listing
	// of the project or a record.
	rt.mu.Lock()
	listed := rt.listings
	c := rt.containers["db"]
	c.State, c.ExitCode = StateExited, 143
	rt.containers["db"] = c
	rt.mu.Unlock()
	rt.events <- RuntimeEvent{Kind: EventExited, Container: "db", ExitCode: 143, At: clock.Now()}
	rt.events <- RuntimeEvent{Kind: EventStopped, Container: "db", At: clock.Now()}
	rt.mu.Lock()
	delete(rt.containers, "db")
	rt.mu.Unlock()
	rt.events <- RuntimeEvent{Kind: EventDeleted, Container: "db", At: clock.Now()}
	clock.Advance(time.Minute)
	rt.expectNone(t)
	// Taken once the deletion is handled.
	rt.events <- RuntimeEvent{Kind: EventUpdated, Container: "web", At: clock.Now()}
	rt.mu.Lock()
	if rt.listings != listed {
		t.Errorf("%d listings for the exit and deletion of a quiesced container, want none", rt.listings-listed)
	}
	rt.mu.Unlock()

	// web is given back (the command failed before stopping it).
	rt.events <- RuntimeEvent{Kind: EventUnquiesced, Container: "web", At: clock.Now()}
	clock.Advance(time.Millisecond)
	rt.expect(t, "probe web")
	rt.let("web")
	rt.expect(t, "record web healthy restarts=0")
}

// timedRuntime fails every probe, and says when each ran.
type timedRuntime struct {
	*supRuntime
	base time.Time
}

func (r *timedRuntime) Probe(_ context.Context, c Container, _ []string, _ time.Duration) ProbeResult {
	now := r.clock.Now()
	r.calls <- fmt.Sprintf("probe %s at %v", c.Name, now.Sub(r.base))
	return ProbeResult{Start: now, End: now, ExitCode: 1}
}

// awaitLater blocks until someone waits on the clock for a time to come,
// and returns the earliest such time.
func (c *fakeClock) awaitLater(t *testing.T) time.Time {
	t.Helper()
	for {
		c.mu.Lock()
		var next time.Time
		for _, w := range c.waiters {
			if w.at.After(c.now) && (next.IsZero() || w.at.Before(next)) {
				next = w.at
			}
		}
		c.mu.Unlock()
		if !next.IsZero() {
			return next
		}
		select {
		case <-c.added:
		case <-time.After(5 * time.Second):
			t.Fatal("nothing waits on the clock for a time to come")
		}
	}
}

// TestSupervisorPressedWhileAnnounced: a service a command announced it
// waits on, failing, is probed between its counted probes too; once the
// command has gone, only at the counted ones (Docker's interval).
func TestSupervisorPressedWhileAnnounced(t *testing.T) {
	clock := newTestClock()
	rt := &timedRuntime{supRuntime: newSupRuntime(clock), base: clock.Now()}
	hc := map[string]string{compose.LabelHealthcheck: healthLabel(t, HealthConfig{Test: []string{"CMD", "ok"}, Interval: time.Second, Timeout: time.Second, Retries: 60})}
	rt.add("db", StateRunning, hc)
	var mu sync.Mutex
	announced := map[string]bool{"db": true}
	runSupervisor(t, &Supervisor{Project: "demo", Runtime: rt, Clock: clock, Log: log.New(io.Discard, "", 0),
		Phase: phases(nil),
		Awaited: func() map[string]bool {
			mu.Lock()
			defer mu.Unlock()
			return maps.Clone(announced)
		}})

	rt.expect(t, "probe db at 0s")
	rt.expect(t, "record db starting restarts=0")
	// Before Docker's first probe (1 s), then from each counted one: gaps
	// of 50, 100, 200, 400 ms until the next counted one.
	probeAt := func(ms time.Duration) {
		t.Helper()
		want := rt.base.Add(ms * time.Millisecond)
		if next := clock.awaitLater(t); !next.Equal(want) {
			t.Fatalf("next probe at %v, want %v", next.Sub(rt.base), want.Sub(rt.base))
		}
		clock.Advance(want.Sub(clock.Now()))
		rt.expect(t, fmt.Sprintf("probe db at %v", want.Sub(rt.base)))
		rt.expect(t, "record db starting restarts=0")
	}
	for _, ms := range []time.Duration{50, 150, 350, 750, 1000, 1050, 1150, 1350, 1750, 2000, 2050} {
		probeAt(ms)
	}
	// The extra probe due next learns the command has gone: the next one
	// is the counted one, and no more extras.
	mu.Lock()
	delete(announced, "db")
	mu.Unlock()
	probeAt(2150)
	probeAt(3000)
	probeAt(4000)
}
