package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"sync"
	"testing"
	"time"

	"github.com/berth/berth/compose"
)

// notifyClock is a fakeClock that reports each wait it is asked for, once
// the waiter is in place: a test advancing it after the report cannot
// outrun the wait.
type notifyClock struct {
	*fakeClock
	afters chan time.Duration
}

func (c *notifyClock) After(d time.Duration) <-chan time.Time {
	ch := c.fakeClock.After(d)
	c.afters <- d
	return ch
}

// awaitAfter waits until someone waits exactly d on the clock.
func (c *notifyClock) awaitAfter(t *testing.T, d time.Duration) {
	t.Helper()
	for {
		select {
		case got := <-c.afters:
			if got == d {
				return
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("nothing waits %s on the clock", d)
		}
	}
}

// flakyRuntime is a supRuntime whose event stream can break and which can
// be down (unreachable) for a while, as containerd restarting.
type flakyRuntime struct {
	*supRuntime
	mu   sync.Mutex // guards following
	errs chan error // of the current subscription
	down bool
	// connects reports each connection attempt: true when it succeeded.
	connects chan bool
}

func (f *flakyRuntime) Events(ctx context.Context) (<-chan RuntimeEvent, <-chan error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = make(chan error, 1)
	return f.supRuntime.events, f.errs
}

// breakStream makes the runtime go away: its stream ends with an error and
// connecting fails until up.
func (f *flakyRuntime) breakStream() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = true
	f.errs <- errors.New("connection reset")
}

func (f *flakyRuntime) up() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = false
}

func (f *flakyRuntime) connect(context.Context) (SupervisedRuntime, error) {
	f.mu.Lock()
	down := f.down
	f.mu.Unlock()
	f.connects <- !down
	if down {
		return nil, errors.New("connection refused")
	}
	return f, nil
}

func (f *flakyRuntime) set(name string, change func(c *Container)) {
	f.supRuntime.mu.Lock()
	defer f.supRuntime.mu.Unlock()
	c := f.containers[name]
	change(&c)
	f.containers[name] = c
}

func expectConnect(t *testing.T, connects <-chan bool, want bool) {
	t.Helper()
	select {
	case got := <-connects:
		if got != want {
			t.Fatalf("connection attempt succeeded = %v, want %v", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no connection attempt")
	}
}

func expectState(t *testing.T, states <-chan SupervisorState, want SupervisorState) {
	t.Helper()
	select {
	case got := <-states:
		if got != want {
			t.Fatalf("state %s, want %s", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no state; want %s", want)
	}
}

// TestSupervisorReconnects: when the runtime's events break, the
// supervisor says it is disconnected, connects again with a doubling
// backoff, and takes the project over afresh: a running container is
// probed again, one that died meanwhile (its exit unseen) or lost its task
// is restarted by its policy, one never started is left alone.
func TestSupervisorReconnects(t *testing.T) {
	clock := &notifyClock{fakeClock: &fakeClock{now: time.Unix(1000, 0), added: make(chan struct{}, 1)}, afters: make(chan time.Duration, 1000)}
	rt := &flakyRuntime{supRuntime: newSupRuntime(clock.fakeClock), connects: make(chan bool, 10)}
	rt.probes = []int{0, 0}
	always, _ := json.Marshal(compose.RestartPolicy{Condition: compose.RestartAlways})
	rt.add("db", StateRunning, map[string]string{compose.LabelHealthcheck: healthLabel(t, HealthConfig{Test: []string{"CMD", "ok"}, Interval: time.Hour, Timeout: time.Second, Retries: 1})})
	rt.add("web", StateRunning, map[string]string{compose.LabelRestart: string(always)})
	rt.add("lost", StateRunning, map[string]string{compose.LabelRestart: string(always)})
	rt.add("fresh", StateCreated, map[string]string{compose.LabelRestart: string(always)})
	rt.set("fresh", func(c *Container) { c.StartedAt = time.Time{} })

	states := make(chan SupervisorState, 10)
	readies := 0
	ctx, cancel := context.WithCancel(context.Background())
	s := &Supervisor{Project: "demo", Runtime: rt, Connect: rt.connect, Clock: clock, Log: log.New(io.Discard, "", 0), Phase: noPhase,
		State: func(st SupervisorState) { states <- st }, Ready: func() { readies++ }}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	expectState(t, states, SupervisorConnected)
	rt.expect(t, "probe db CMD ok")
	rt.expect(t, "record db healthy restarts=0")

	rt.breakStream()
	expectState(t, states, SupervisorDisconnected)
	// While it is away, web dies and lost's task goes: no event says so.
	rt.set("web", func(c *Container) { c.State, c.ExitCode = StateExited, 137 })
	rt.set("lost", func(c *Container) { c.State = StateCreated })
	for _, wait := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond} {
		clock.awaitAfter(t, wait)
		clock.Advance(wait - time.Millisecond)
		rt.expectNone(t)
		clock.Advance(time.Millisecond)
		expectConnect(t, rt.connects, false)
	}
	rt.up()
	clock.awaitAfter(t, 400*time.Millisecond)
	clock.Advance(400 * time.Millisecond)
	expectConnect(t, rt.connects, true)
	expectState(t, states, SupervisorConnected)

	// db is probed again at once; web and lost restart after the first
	// restart backoff; fresh was never started and stays so.
	rt.expect(t, "probe db CMD ok")
	rt.expect(t, "record db healthy restarts=0")
	clock.Advance(100 * time.Millisecond)
	got := map[string]bool{}
	for range 4 {
		select {
		case call := <-rt.calls:
			got[call] = true
		case <-time.After(5 * time.Second):
			t.Fatalf("calls after the restart backoff: %v, want web and lost restarted", got)
		}
	}
	for _, want := range []string{"start web", "record web none restarts=1", "start lost", "record lost none restarts=1"} {
		if !got[want] {
			t.Errorf("calls after the restart backoff: %v, missing %q", got, want)
		}
	}
	clock.Advance(time.Minute)
	rt.expectNone(t)

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if readies != 1 {
		t.Errorf("Ready called %d times, want 1", readies)
	}
}

// TestSupervisorReconnectEndsWithContext: a supervisor waiting for the
// runtime to come back ends when asked, without error.
func TestSupervisorReconnectEndsWithContext(t *testing.T) {
	clock := &notifyClock{fakeClock: &fakeClock{now: time.Unix(1000, 0), added: make(chan struct{}, 1)}, afters: make(chan time.Duration, 1000)}
	rt := &flakyRuntime{supRuntime: newSupRuntime(clock.fakeClock), connects: make(chan bool, 10)}
	rt.add("web", StateRunning, nil)
	states := make(chan SupervisorState, 10)
	ctx, cancel := context.WithCancel(context.Background())
	s := &Supervisor{Project: "demo", Runtime: rt, Connect: rt.connect, Clock: clock, Log: log.New(io.Discard, "", 0), Phase: noPhase,
		State: func(st SupervisorState) { states <- st }}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	expectState(t, states, SupervisorConnected)
	rt.breakStream()
	expectState(t, states, SupervisorDisconnected)
	// The backoff is capped.
	for _, wait := range []time.Duration{100, 200, 400, 800, 1600, 3200, 5000, 5000} {
		wait *= time.Millisecond
		clock.awaitAfter(t, wait)
		clock.Advance(wait)
		expectConnect(t, rt.connects, false)
	}
	clock.awaitAfter(t, reconnectMax)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not end with its context while reconnecting")
	}
}
