package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth/berth/compose"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []clockWaiter
	// added is signalled whenever someone starts waiting.
	added chan struct{}
}

// awaitWaiter blocks until someone waits on the clock.
func (c *fakeClock) awaitWaiter(t *testing.T) {
	t.Helper()
	for {
		c.mu.Lock()
		n := len(c.waiters)
		c.mu.Unlock()
		if n > 0 {
			return
		}
		select {
		case <-c.added:
		case <-time.After(5 * time.Second):
			t.Fatal("nothing waits on the clock")
		}
	}
}

type clockWaiter struct {
	at time.Time
	ch chan time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, clockWaiter{c.now.Add(d), ch})
	select {
	case c.added <- struct{}{}:
	default:
	}
	return ch
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.now) {
			kept = append(kept, w)
		} else {
			w.ch <- c.now
		}
	}
	c.waiters = kept
}

// supRuntime is a fake SupervisedRuntime: containers in memory, probe
// results scripted, every call reported on calls.
type supRuntime struct {
	mu         sync.Mutex
	clock      *fakeClock
	containers map[string]Container
	probes     []int // exit codes of the next probes; 1 when none is left
	events     chan RuntimeEvent
	calls      chan string
	listings   int // calls of Containers
}

func newSupRuntime(clock *fakeClock) *supRuntime {
	return &supRuntime{clock: clock, containers: map[string]Container{}, events: make(chan RuntimeEvent), calls: make(chan string, 100)}
}

func (r *supRuntime) add(name string, st State, labels map[string]string) {
	l := compose.Labels{compose.LabelProject: "demo", compose.LabelService: name}
	for k, v := range labels {
		l[k] = v
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.containers[name] = Container{ID: name, Name: name, State: st, Labels: l, StartedAt: r.clock.Now()}
}

func (r *supRuntime) Containers(_ context.Context, project string) ([]Container, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.listings++
	var out []Container
	for _, c := range r.containers {
		cc := c
		cc.Labels = compose.Labels{}
		for k, v := range c.Labels {
			cc.Labels[k] = v
		}
		out = append(out, cc)
	}
	return out, nil
}

func (r *supRuntime) Revive(_ context.Context, c Container) error {
	r.mu.Lock()
	cc := r.containers[c.ID]
	cc.State = StateRunning
	r.containers[c.ID] = cc
	r.mu.Unlock()
	r.calls <- "start " + c.Name
	return nil
}

func (r *supRuntime) Probe(_ context.Context, c Container, test []string, timeout time.Duration) ProbeResult {
	r.mu.Lock()
	code := 1
	if len(r.probes) > 0 {
		code, r.probes = r.probes[0], r.probes[1:]
	}
	r.mu.Unlock()
	now := r.clock.Now()
	r.calls <- fmt.Sprintf("probe %s %s", c.Name, strings.Join(test, " "))
	return ProbeResult{Start: now, End: now, ExitCode: code}
}

func (r *supRuntime) Record(_ context.Context, c Container, h *Health, restarts int) error {
	status := "none"
	if h != nil {
		status = string(h.Status)
		b, _ := json.Marshal(h)
		r.mu.Lock()
		cc := r.containers[c.ID]
		cc.Labels[compose.LabelHealth] = string(b)
		r.mu.Unlock()
	}
	r.calls <- fmt.Sprintf("record %s %s restarts=%d", c.Name, status, restarts)
	return nil
}

func (r *supRuntime) Events(ctx context.Context) (<-chan RuntimeEvent, <-chan error) {
	return r.events, make(chan error)
}

// expect waits for the next call and checks it.
func (r *supRuntime) expect(t *testing.T, want string) {
	t.Helper()
	select {
	case got := <-r.calls:
		if got != want {
			t.Fatalf("call %q, want %q", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no call; want %q", want)
	}
}

func (r *supRuntime) expectNone(t *testing.T) {
	t.Helper()
	select {
	case got := <-r.calls:
		t.Fatalf("unexpected call %q", got)
	default:
	}
}

func healthLabel(t *testing.T, cfg HealthConfig) string {
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// noPhase places every container's probes at the start of their
// interval, as Docker does: tests know when each probe comes.
func noPhase(string) float64 { return 0 }

func startSupervisor(t *testing.T, rt *supRuntime, clock *fakeClock) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Supervisor{Project: "demo", Runtime: rt, Clock: clock, Log: log.New(io.Discard, "", 0), Phase: noPhase}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	return func() error {
		cancel()
		return <-done
	}
}

func TestSupervisorHealth(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1000, 0), added: make(chan struct{}, 1)}
	rt := newSupRuntime(clock)
	rt.probes = []int{1, 1, 0}
	rt.add("db", StateRunning, map[string]string{compose.LabelHealthcheck: healthLabel(t, HealthConfig{Test: []string{"CMD", "ok"}, Interval: time.Second, Timeout: time.Second, StartInterval: time.Second, Retries: 2})})
	// web waits for db to be healthy: db is probed eagerly.
	rt.add("web", StateCreated, map[string]string{compose.LabelDependsOn: "db:service_healthy:false"})
	stop := startSupervisor(t, rt, clock)
	defer stop()

	// Probed at once, then 50 ms and 100 ms later: eager failures leave it
	// starting; the success makes it healthy at 150 ms, not at Docker's 1 s.
	rt.expect(t, "probe db CMD ok")
	rt.expect(t, "record db starting restarts=0")
	clock.Advance(50 * time.Millisecond)
	rt.expect(t, "probe db CMD ok")
	rt.expect(t, "record db starting restarts=0")
	clock.Advance(99 * time.Millisecond)
	rt.expectNone(t)
	clock.Advance(1 * time.Millisecond)
	rt.expect(t, "probe db CMD ok")
	rt.expect(t, "record db healthy restarts=0")
	// Then one interval later.
	clock.Advance(999 * time.Millisecond)
	rt.expectNone(t)
	clock.Advance(time.Millisecond)
	rt.expect(t, "probe db CMD ok")
	rt.expect(t, "record db healthy restarts=0")
}

func TestSupervisorRestarts(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1000, 0), added: make(chan struct{}, 1)}
	rt := newSupRuntime(clock)
	always, _ := json.Marshal(compose.RestartPolicy{Condition: compose.RestartAlways})
	onFailure, _ := json.Marshal(compose.RestartPolicy{Condition: compose.RestartOnFailure, MaxAttempts: 1})
	rt.add("web", StateRunning, map[string]string{compose.LabelRestart: string(always)})
	rt.add("job", StateRunning, map[string]string{compose.LabelRestart: string(onFailure)})
	rt.add("once", StateRunning, nil)
	stop := startSupervisor(t, rt, clock)
	defer stop()

	rt.events <- RuntimeEvent{Kind: EventExited, Container: "web", ExitCode: 137, At: clock.Now()}
	rt.expect(t, "record web none restarts=0")
	clock.Advance(99 * time.Millisecond)
	rt.expectNone(t)
	clock.Advance(time.Millisecond)
	rt.expect(t, "start web")
	rt.expect(t, "record web none restarts=1")

	// on-failure:1 restarts once, then gives up.
	rt.events <- RuntimeEvent{Kind: EventExited, Container: "job", ExitCode: 2, At: clock.Now()}
	rt.expect(t, "record job none restarts=0")
	clock.Advance(100 * time.Millisecond)
	rt.expect(t, "start job")
	rt.expect(t, "record job none restarts=1")
	rt.events <- RuntimeEvent{Kind: EventStarted, Container: "job", At: clock.Now()}
	rt.events <- RuntimeEvent{Kind: EventExited, Container: "job", ExitCode: 2, At: clock.Now()}
	rt.expect(t, "record job none restarts=1")
	clock.Advance(time.Minute)
	rt.expectNone(t)

	// restart: no
	rt.events <- RuntimeEvent{Kind: EventExited, Container: "once", ExitCode: 1, At: clock.Now()}
	rt.expect(t, "record once none restarts=0")
	clock.Advance(time.Minute)
	rt.expectNone(t)

	// A stop (the manual-stop label) is not undone.
	rt.mu.Lock()
	rt.containers["web"].Labels[compose.LabelManualStop] = "true"
	rt.mu.Unlock()
	rt.events <- RuntimeEvent{Kind: EventExited, Container: "web", ExitCode: 0, At: clock.Now()}
	rt.expect(t, "record web none restarts=1")
	clock.Advance(time.Minute)
	rt.expectNone(t)
}

// TestSupervisorStopEvent: berth's stop event acts on the exit it
// recorded when the exit event is late or lost, and an exit learnt twice
// is acted on once.
func TestSupervisorStopEvent(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1000, 0), added: make(chan struct{}, 1)}
	rt := newSupRuntime(clock)
	always, _ := json.Marshal(compose.RestartPolicy{Condition: compose.RestartAlways})
	rt.add("web", StateRunning, map[string]string{compose.LabelRestart: string(always)})
	stop := startSupervisor(t, rt, clock)
	defer stop()
	stopped := func(at time.Time) {
		rt.mu.Lock()
		c := rt.containers["web"]
		c.State, c.ExitCode, c.FinishedAt = StateExited, 137, at
		c.Labels[compose.LabelManualStop] = "true"
		rt.containers["web"] = c
		rt.mu.Unlock()
	}

	// Taken once the supervisor listens (it has adopted web running).
	rt.events <- RuntimeEvent{Kind: EventUpdated, Container: "web", At: clock.Now()}

	// The stop's event comes, its exit event never does.
	first := clock.Now()
	stopped(first)
	rt.events <- RuntimeEvent{Kind: EventStopped, Container: "web", At: clock.Now()}
	rt.expect(t, "record web none restarts=0")
	rt.events <- RuntimeEvent{Kind: EventExited, Container: "web", ExitCode: 137, At: first}
	clock.Advance(time.Minute)
	rt.expectNone(t)

	// Started again and stopped: the exit event first, then the stop's.
	rt.mu.Lock()
	c := rt.containers["web"]
	c.State = StateRunning
	delete(c.Labels, compose.LabelManualStop)
	rt.containers["web"] = c
	rt.mu.Unlock()
	rt.events <- RuntimeEvent{Kind: EventStarted, Container: "web", At: clock.Now()}
	second := clock.Now().Add(time.Second)
	stopped(second)
	rt.events <- RuntimeEvent{Kind: EventExited, Container: "web", ExitCode: 137, At: second}
	rt.expect(t, "record web none restarts=0")
	rt.events <- RuntimeEvent{Kind: EventStopped, Container: "web", At: clock.Now()}
	clock.Advance(time.Minute)
	rt.expectNone(t)
}

func TestSupervisorAdoptsAndEnds(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1000, 0), added: make(chan struct{}, 1)}
	rt := newSupRuntime(clock)
	always, _ := json.Marshal(compose.RestartPolicy{Condition: compose.RestartAlways})
	// A container that died while no supervisor ran is restarted at once
	// (after the first backoff) when one starts.
	rt.add("web", StateExited, map[string]string{compose.LabelRestart: string(always), compose.LabelRestartCount: "3"})
	ctx := context.Background()
	s := &Supervisor{Project: "demo", Runtime: rt, Clock: clock, Log: log.New(io.Discard, "", 0), Phase: noPhase}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	clock.awaitWaiter(t)
	clock.Advance(100 * time.Millisecond)
	rt.expect(t, "start web")
	rt.expect(t, "record web none restarts=4")

	// down removed everything: supervision ends by itself.
	rt.mu.Lock()
	delete(rt.containers, "web")
	rt.mu.Unlock()
	rt.events <- RuntimeEvent{Kind: EventDeleted, Container: "web"}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("supervisor did not end when the project's last container went")
	}
}

// TestSupervisorPaused: a paused container is not probed (a probe could
// not run in it and would count as a failure); probing goes on once it is
// thawed, and one adopted while paused waits for its thaw too.
func TestSupervisorPaused(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1000, 0), added: make(chan struct{}, 1)}
	rt := newSupRuntime(clock)
	rt.probes = []int{0, 0, 0}
	hc := map[string]string{compose.LabelHealthcheck: healthLabel(t, HealthConfig{Test: []string{"CMD", "ok"}, Interval: time.Second, Timeout: time.Second, Retries: 1})}
	rt.add("db", StateRunning, hc)
	rt.add("frozen", StatePaused, hc)
	stop := startSupervisor(t, rt, clock)
	defer stop()

	rt.expect(t, "probe db CMD ok")
	rt.expect(t, "record db healthy restarts=0")
	rt.events <- RuntimeEvent{Kind: EventPaused, Container: "db", At: clock.Now()}
	clock.Advance(10 * time.Second)
	rt.expectNone(t)
	rt.events <- RuntimeEvent{Kind: EventResumed, Container: "db", At: clock.Now()}
	clock.Advance(time.Millisecond)
	rt.expect(t, "probe db CMD ok")
	rt.expect(t, "record db healthy restarts=0")

	rt.events <- RuntimeEvent{Kind: EventResumed, Container: "frozen", At: clock.Now()}
	clock.Advance(time.Millisecond)
	rt.expect(t, "probe frozen CMD ok")
	rt.expect(t, "record frozen healthy restarts=0")
}

// TestSupervisorIgnoresOthers: the events of a container that is not the
// project's (another project's, a one-off) cost one listing, not one each.
func TestSupervisorIgnoresOthers(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1000, 0), added: make(chan struct{}, 1)}
	rt := newSupRuntime(clock)
	rt.add("web", StateRunning, nil)
	stop := startSupervisor(t, rt, clock)
	defer stop()
	for _, kind := range []RuntimeEventKind{EventStarted, EventKilled, EventExited, EventStarted, EventPaused, EventResumed, EventExited} {
		rt.events <- RuntimeEvent{Kind: kind, Container: "other-project-db-1", At: clock.Now()}
	}
	rt.events <- RuntimeEvent{Kind: EventExited, Container: "web", ExitCode: 0, At: clock.Now()}
	rt.expect(t, "record web none restarts=0")
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.listings != 3 {
		t.Errorf("listings = %d, want 3 (at start, the first event of the other container, web's exit)", rt.listings)
	}
}

// TestSupervisorAutoRemove: a one-off of run --rm -d, or a plain
// container of container run --rm -d, is removed once it
// exits, one that exited while no supervisor ran is removed at start, and
// other one-offs stay; supervision does not end while one is pending.
func TestSupervisorAutoRemove(t *testing.T) {
	for name, oneOff := range map[string]map[string]string{
		"run --rm -d":           {compose.LabelOneOff: "True", compose.LabelAutoRemove: "true"},
		"container run --rm -d": {compose.LabelOneOff: "False", compose.LabelStandalone: "true", compose.LabelAutoRemove: "true"},
	} {
		t.Run(name, func(t *testing.T) { testSupervisorAutoRemove(t, oneOff) })
	}
}

func testSupervisorAutoRemove(t *testing.T, oneOff map[string]string) {
	clock := &fakeClock{now: time.Unix(1000, 0), added: make(chan struct{}, 1)}
	rt := newSupRuntime(clock)
	rt.add("gone-early", StateExited, oneOff)
	rt.add("kept", StateExited, map[string]string{compose.LabelOneOff: "True"})
	rt.add("job", StateRunning, oneOff)
	ctx := context.Background()
	s := &Supervisor{Project: "demo", Runtime: rt, Clock: clock, Log: log.New(io.Discard, "", 0), Phase: noPhase,
		Remove: func(_ context.Context, c Container) error {
			rt.mu.Lock()
			delete(rt.containers, c.ID)
			rt.mu.Unlock()
			rt.calls <- "remove " + c.Name
			return nil
		}}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	rt.expect(t, "remove gone-early")

	// Its exit, as the runtime reports it: the task stopped.
	rt.mu.Lock()
	c := rt.containers["job"]
	c.State, c.ExitCode = StateExited, 3
	rt.containers["job"] = c
	rt.mu.Unlock()
	rt.events <- RuntimeEvent{Kind: EventExited, Container: "job", ExitCode: 3, At: clock.Now()}
	rt.expect(t, "remove job")
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("supervisor did not end once the pending one-off was removed")
	}
	rt.expectNone(t)
	if _, ok := rt.containers["kept"]; !ok {
		t.Error("a one-off without --rm was removed")
	}
}

// A container that exited for good frees its host ports; one its policy
// restarts keeps them.
func TestSupervisorReleasesPortsOnExit(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1000, 0), added: make(chan struct{}, 1)}
	rt := newSupRuntime(clock)
	always, _ := json.Marshal(compose.RestartPolicy{Condition: compose.RestartAlways})
	rt.add("web", StateRunning, map[string]string{compose.LabelRestart: string(always)})
	rt.add("once", StateRunning, nil)
	ctx, cancel := context.WithCancel(context.Background())
	s := &Supervisor{Project: "demo", Runtime: rt, Clock: clock, Log: log.New(io.Discard, "", 0), Phase: noPhase,
		ReleasePorts: func(_ context.Context, c Container) error {
			rt.calls <- "release ports " + c.Name
			return nil
		}}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()

	rt.events <- RuntimeEvent{Kind: EventExited, Container: "web", ExitCode: 1, At: clock.Now()}
	rt.expect(t, "record web none restarts=0")
	rt.events <- RuntimeEvent{Kind: EventExited, Container: "once", ExitCode: 1, At: clock.Now()}
	rt.expect(t, "release ports once")
	rt.expect(t, "record once none restarts=0")
	clock.Advance(100 * time.Millisecond)
	rt.expect(t, "start web")
	rt.expect(t, "record web none restarts=1")
}

// listingRuntime tells each listing of the project's containers.
type listingRuntime struct {
	*supRuntime
	listed chan struct{}
}

func (r listingRuntime) Containers(ctx context.Context, project string) ([]Container, error) {
	out, err := r.supRuntime.Containers(ctx, project)
	r.listed <- struct{}{}
	return out, err
}

// TestSupervisorOutlivesAnEmptyStart: a project with no network (its DNS
// is done at once) and no container yet, as up starts it, is supervised
// until its containers have come and gone, not ended at the first poke.
func TestSupervisorOutlivesAnEmptyStart(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1000, 0), added: make(chan struct{}, 1)}
	rt := listingRuntime{newSupRuntime(clock), make(chan struct{}, 10)}
	poke := make(chan struct{}, 1)
	s := &Supervisor{Project: "demo", Runtime: rt, Clock: clock, Log: log.New(io.Discard, "", 0), Phase: noPhase,
		Done: func() bool { return true }, Poke: poke}
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	<-rt.listed // the listing at start: nothing yet
	poke <- struct{}{}
	<-rt.listed // the poke's listing: still nothing

	rt.add("web", StateRunning, nil)
	select {
	case rt.events <- RuntimeEvent{Kind: EventStarted, Container: "web", At: clock.Now()}:
	case err := <-done:
		t.Fatalf("supervision ended before the project's first container (err %v)", err)
	case <-time.After(5 * time.Second):
		t.Fatal("the supervisor took no event")
	}
	<-rt.listed
	rt.mu.Lock()
	delete(rt.containers, "web")
	rt.mu.Unlock()
	rt.events <- RuntimeEvent{Kind: EventDeleted, Container: "web"}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("supervision did not end when the project's last container went")
	}
}

// supProbeRecorder is a supRuntime that keeps probes whose status is
// unchanged apart (ProbeRecorder).
type supProbeRecorder struct{ *supRuntime }

func (r supProbeRecorder) RecordProbe(_ context.Context, c Container, h Health) error {
	r.calls <- fmt.Sprintf("probe-record %s %s streak=%d", c.Name, h.Status, h.FailingStreak)
	return nil
}

// TestSupervisorRecordsProbesCheaply: with a runtime that can keep a
// probe cheaply, only a change of the health's status (and the first
// health of a run) goes through Record; probes that leave the status as
// the labels have it go through RecordProbe.
func TestSupervisorRecordsProbesCheaply(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1000, 0), added: make(chan struct{}, 1)}
	rt := newSupRuntime(clock)
	rt.probes = []int{0, 0, 1, 1, 1, 0}
	rt.add("db", StateRunning, map[string]string{compose.LabelHealthcheck: healthLabel(t, HealthConfig{Test: []string{"CMD", "ok"}, Interval: time.Second, Timeout: time.Second, StartInterval: time.Second, Retries: 2})})
	// web waits for db to be healthy: db is probed eagerly.
	rt.add("web", StateCreated, map[string]string{compose.LabelDependsOn: "db:service_healthy:false"})
	ctx, cancel := context.WithCancel(context.Background())
	s := &Supervisor{Project: "demo", Runtime: supProbeRecorder{rt}, Clock: clock, Log: log.New(io.Discard, "", 0), Phase: noPhase}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()

	rt.expect(t, "probe db CMD ok")
	rt.expect(t, "record db healthy restarts=0") // the run's first health
	for _, want := range []string{
		"probe-record db healthy streak=0",   // passed again
		"probe-record db healthy streak=1",   // one failure: still healthy
		"record db unhealthy restarts=0",     // the second: a change
		"probe-record db unhealthy streak=3", // still unhealthy
		"record db healthy restarts=0",       // back
	} {
		clock.Advance(time.Second)
		rt.expect(t, "probe db CMD ok")
		rt.expect(t, want)
	}
}
