package containerd

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/berth/berth/scheduler"
)

// fakeClient is a supervisedClient whose Probe waits for release, and
// notes whether the client was closed under it.
type fakeClient struct {
	name string

	mu sync.Mutex // guards following
	// closed counts the calls of Close.
	closed int
	// closedUnderProbe: Close came while a probe ran on it.
	closedUnderProbe bool
	// records and probeRecords are the statuses given to Record and
	// RecordProbe.
	records, probeRecords []scheduler.HealthStatus

	probing chan struct{} // a probe started
	release chan struct{} // lets the probes return
}

func newFakeClient(name string) *fakeClient {
	return &fakeClient{name: name, probing: make(chan struct{}, 1), release: make(chan struct{})}
}

func (f *fakeClient) Containers(context.Context, string) ([]scheduler.Container, error) {
	return []scheduler.Container{{Name: f.name}}, nil
}
func (f *fakeClient) Revive(context.Context, scheduler.Container) error { return nil }
func (f *fakeClient) Remove(context.Context, scheduler.Container) error { return nil }
func (f *fakeClient) Record(_ context.Context, _ scheduler.Container, h *scheduler.Health, _ int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if h != nil {
		f.records = append(f.records, h.Status)
	}
	return nil
}
func (f *fakeClient) RecordProbe(_ context.Context, _ scheduler.Container, h scheduler.Health) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.probeRecords = append(f.probeRecords, h.Status)
	return nil
}
func (f *fakeClient) Events(context.Context) (<-chan scheduler.RuntimeEvent, <-chan error) {
	return nil, nil
}

func (f *fakeClient) Probe(context.Context, scheduler.Container, []string, time.Duration) scheduler.ProbeResult {
	f.probing <- struct{}{}
	<-f.release
	// Here the real client deletes the exec process: it needs the
	// connection still open.
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed > 0 {
		f.closedUnderProbe = true
		return scheduler.ProbeResult{ExitCode: -1, Output: "delete exec: client closed"}
	}
	return scheduler.ProbeResult{Output: f.name}
}

func (f *fakeClient) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed++
	return nil
}

func (f *fakeClient) state() (closed int, underProbe bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closed, f.closedUnderProbe
}

// dialer hands out the clients in turn; a nil one fails to connect.
func dialer(clients ...*fakeClient) func(context.Context) (supervisedClient, error) {
	var mu sync.Mutex
	return func(context.Context) (supervisedClient, error) {
		mu.Lock()
		defer mu.Unlock()
		c := clients[0]
		clients = clients[1:]
		if c == nil {
			return nil, errors.New("connection refused")
		}
		return c, nil
	}
}

func containerName(t *testing.T, r *Reconnecting) string {
	t.Helper()
	cs, err := r.Containers(context.Background(), "demo")
	if err != nil || len(cs) != 1 {
		t.Fatalf("Containers = %v, %v", cs, err)
	}
	return cs[0].Name
}

// TestReconnectingClosesOldClientAfterItsProbes: a probe started on the
// old client returns through it after a reconnection (its exec process is
// deleted, not left in the shim); the old client is closed only then.
func TestReconnectingClosesOldClientAfterItsProbes(t *testing.T) {
	ctx := context.Background()
	first, second := newFakeClient("first"), newFakeClient("second")
	r, err := newReconnecting(ctx, dialer(first, nil, second))
	if err != nil {
		t.Fatal(err)
	}
	probed := make(chan scheduler.ProbeResult)
	go func() { probed <- r.Probe(ctx, scheduler.Container{}, []string{"true"}, time.Second) }()
	<-first.probing

	if err := r.Reconnect(ctx); err == nil {
		t.Fatal("Reconnect with containerd away succeeded")
	}
	if got := containerName(t, r); got != "first" {
		t.Errorf("after a failed Reconnect, operations run on %s, want first", got)
	}
	if err := r.Reconnect(ctx); err != nil {
		t.Fatalf("Reconnect: %v", err)
	}
	if got := containerName(t, r); got != "second" {
		t.Errorf("after Reconnect, operations run on %s, want second", got)
	}
	if closed, _ := first.state(); closed != 0 {
		t.Errorf("old client closed %d times while a probe runs on it", closed)
	}

	close(first.release)
	if res := <-probed; res.ExitCode != 0 || res.Output != "first" {
		t.Errorf("probe begun before the reconnection = %+v, want it to end on the first client", res)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// Close waits for the old client to be closed too.
	for _, c := range []*fakeClient{first, second} {
		if closed, under := c.state(); closed != 1 || under {
			t.Errorf("%s: closed %d times (want 1), under a probe: %v", c.name, closed, under)
		}
	}
	if _, err := r.Containers(ctx, "demo"); !errors.Is(err, errClosed) {
		t.Errorf("Containers after Close = %v, want %v", err, errClosed)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

// TestReconnectingCloseWaitsForProbes: Close lets a running probe end on
// its client before closing it.
func TestReconnectingCloseWaitsForProbes(t *testing.T) {
	ctx := context.Background()
	only := newFakeClient("only")
	r, err := newReconnecting(ctx, dialer(only))
	if err != nil {
		t.Fatal(err)
	}
	probed := make(chan scheduler.ProbeResult)
	go func() { probed <- r.Probe(ctx, scheduler.Container{}, []string{"true"}, time.Second) }()
	<-only.probing
	closed := make(chan error)
	go func() { closed <- r.Close() }()
	// Close cannot end before the probe does.
	close(only.release)
	if res := <-probed; res.ExitCode != 0 {
		t.Errorf("probe during Close = %+v", res)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if n, under := only.state(); n != 1 || under {
		t.Errorf("closed %d times (want 1), under a probe: %v", n, under)
	}
}

// TestReconnectingRecordsProbesCheaply: the supervisor finds RecordProbe
// on the runtime it is given (the project process gives it a
// Reconnecting), and the call reaches the current client without going
// through Record, which writes to containerd's store.
func TestReconnectingRecordsProbesCheaply(t *testing.T) {
	ctx := context.Background()
	first, second := newFakeClient("first"), newFakeClient("second")
	r, err := newReconnecting(ctx, dialer(first, second))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var rt scheduler.SupervisedRuntime = r
	pr, ok := rt.(scheduler.ProbeRecorder)
	if !ok {
		t.Fatal("Reconnecting is no scheduler.ProbeRecorder: every probe would be written to containerd's store")
	}
	if err := pr.RecordProbe(ctx, scheduler.Container{}, scheduler.Health{Status: scheduler.HealthHealthy}); err != nil {
		t.Fatal(err)
	}
	if err := r.Reconnect(ctx); err != nil {
		t.Fatal(err)
	}
	if err := pr.RecordProbe(ctx, scheduler.Container{}, scheduler.Health{Status: scheduler.HealthUnhealthy}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		client *fakeClient
		want   scheduler.HealthStatus
	}{{first, scheduler.HealthHealthy}, {second, scheduler.HealthUnhealthy}} {
		c.client.mu.Lock()
		records, probes := c.client.records, c.client.probeRecords
		c.client.mu.Unlock()
		if len(records) != 0 || len(probes) != 1 || probes[0] != c.want {
			t.Errorf("%s: Record got %v, RecordProbe got %v; want only RecordProbe with %s", c.client.name, records, probes, c.want)
		}
	}
}
