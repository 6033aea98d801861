package containerd

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/berth/berth/scheduler"
)

// supervisedClient is what Reconnecting hands out: a Client (a fake in
// tests).
type supervisedClient interface {
	scheduler.SupervisedRuntime
	scheduler.ProbeRecorder
	Remove(ctx context.Context, c scheduler.Container) error
	Close() error
}

var (
	_ supervisedClient            = (*Client)(nil)
	_ scheduler.SupervisedRuntime = (*Reconnecting)(nil)
	// The supervisor asks for RecordProbe by a type assertion: a
	// Reconnecting without it had every probe written to containerd's
	// store.
	_ scheduler.ProbeRecorder = (*Reconnecting)(nil)
)

// Reconnecting is the runtime of a long-lived supervisor (the project's
// background process): a client of containerd that Reconnect replaces by
// a new one when containerd went away (the old connection may wait out
// gRPC's own backoff before it notices containerd back).
//
// Each operation runs on the client current when it starts, and an old
// client is closed only once the operations started on it have returned:
// a probe that began before a reconnection still deletes its exec process
// (which would otherwise stay in the shim) through the client it began on.
type Reconnecting struct {
	dial func(context.Context) (supervisedClient, error)

	mu sync.Mutex // guards following
	// cur is the generation new operations run on; nil once closed.
	cur *generation

	// open counts the generations whose client is not closed yet.
	open sync.WaitGroup
}

// generation is one client and the operations running on it.
type generation struct {
	client supervisedClient
	// ops counts the operations running on client; retired says a newer
	// generation (or Close) took its place: the last of its operations to
	// return closes it.
	ops     int
	retired bool
}

// NewReconnecting connects to containerd with opts (see Connect), and
// again with the same options on each Reconnect.
func NewReconnecting(ctx context.Context, opts ...Opt) (*Reconnecting, error) {
	return newReconnecting(ctx, func(ctx context.Context) (supervisedClient, error) {
		c, err := Connect(ctx, opts...)
		if err != nil {
			return nil, err
		}
		return c, nil
	})
}

func newReconnecting(ctx context.Context, dial func(context.Context) (supervisedClient, error)) (*Reconnecting, error) {
	c, err := dial(ctx)
	if err != nil {
		return nil, err
	}
	r := &Reconnecting{dial: dial}
	r.cur = r.newGeneration(c)
	return r, nil
}

func (r *Reconnecting) newGeneration(c supervisedClient) *generation {
	r.open.Add(1)
	return &generation{client: c}
}

// errClosed is returned by the operations of a closed Reconnecting.
var errClosed = errors.New("containerd client closed")

// acquire is the current generation, counted as used until its release.
func (r *Reconnecting) acquire() (*generation, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur == nil {
		return nil, errClosed
	}
	r.cur.ops++
	return r.cur, nil
}

// release ends an operation on g; the last one on a retired generation
// closes its client.
func (r *Reconnecting) release(g *generation) {
	r.mu.Lock()
	g.ops--
	last := g.retired && g.ops == 0
	r.mu.Unlock()
	if last {
		r.closeGeneration(g) //nolint:errcheck // its connection is broken already
	}
}

// retire makes g's client close once its operations have returned (now,
// when none runs); the caller holds mu. It reports whether the caller is
// to close it now.
func retire(g *generation) (closeNow bool) {
	g.retired = true
	return g.ops == 0
}

func (r *Reconnecting) closeGeneration(g *generation) error {
	defer r.open.Done()
	return g.client.Close()
}

// Reconnect connects to containerd again; operations that start from now
// on run on the new client. The old client is closed once the operations
// running on it have returned: by the last of them, or here when none
// runs. On failure the current client stays.
func (r *Reconnecting) Reconnect(ctx context.Context) error {
	c, err := r.dial(ctx)
	if err != nil {
		return err
	}
	r.mu.Lock()
	old := r.cur
	if old == nil {
		r.mu.Unlock()
		c.Close()
		return errClosed
	}
	r.cur = r.newGeneration(c)
	closeNow := retire(old)
	r.mu.Unlock()
	if closeNow {
		r.closeGeneration(old) //nolint:errcheck // its connection is broken already
	}
	return nil
}

// SupervisorConnect is Reconnect as scheduler.Supervisor's Connect wants
// it: the runtime to use from now on is r itself.
func (r *Reconnecting) SupervisorConnect(ctx context.Context) (scheduler.SupervisedRuntime, error) {
	if err := r.Reconnect(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// Close closes the current client once the operations running on it have
// returned, and waits until every client is closed. Operations that start
// after it fail.
func (r *Reconnecting) Close() error {
	r.mu.Lock()
	cur := r.cur
	r.cur = nil
	closeNow := cur != nil && retire(cur)
	r.mu.Unlock()
	var err error
	if closeNow {
		err = r.closeGeneration(cur)
	}
	r.open.Wait()
	if err != nil {
		return fmt.Errorf("close containerd client: %w", err)
	}
	return nil
}

// Containers lists the project's containers on the current client.
func (r *Reconnecting) Containers(ctx context.Context, project string) ([]scheduler.Container, error) {
	g, err := r.acquire()
	if err != nil {
		return nil, err
	}
	defer r.release(g)
	return g.client.Containers(ctx, project)
}

// Revive starts an exited container again for its restart policy, on the
// current client.
func (r *Reconnecting) Revive(ctx context.Context, c scheduler.Container) error {
	g, err := r.acquire()
	if err != nil {
		return err
	}
	defer r.release(g)
	return g.client.Revive(ctx, c)
}

// Probe runs a healthcheck test on the current client, which stays open
// until the probe has returned (and deleted its process).
func (r *Reconnecting) Probe(ctx context.Context, c scheduler.Container, test []string, timeout time.Duration) scheduler.ProbeResult {
	g, err := r.acquire()
	if err != nil {
		return scheduler.ProbeResult{ExitCode: -1, Output: err.Error()}
	}
	defer r.release(g)
	return g.client.Probe(ctx, c, test, timeout)
}

// Record keeps a container's health and restart count, on the current
// client.
func (r *Reconnecting) Record(ctx context.Context, c scheduler.Container, h *scheduler.Health, restarts int) error {
	g, err := r.acquire()
	if err != nil {
		return err
	}
	defer r.release(g)
	return g.client.Record(ctx, c, h, restarts)
}

// RecordProbe keeps a probe's result whose health status is the one
// labelled already, on the current client: in the container's health
// file, with nothing asked of containerd.
func (r *Reconnecting) RecordProbe(ctx context.Context, c scheduler.Container, h scheduler.Health) error {
	g, err := r.acquire()
	if err != nil {
		return err
	}
	defer r.release(g)
	return g.client.RecordProbe(ctx, c, h)
}

// Remove removes a container, on the current client.
func (r *Reconnecting) Remove(ctx context.Context, c scheduler.Container) error {
	g, err := r.acquire()
	if err != nil {
		return err
	}
	defer r.release(g)
	return g.client.Remove(ctx, c)
}

// Events streams the events of the current client. The stream is not
// counted as an operation: it ends when its connection breaks, which is
// what a Reconnect follows, or with ctx.
func (r *Reconnecting) Events(ctx context.Context) (<-chan scheduler.RuntimeEvent, <-chan error) {
	g, err := r.acquire()
	if err != nil {
		errs := make(chan error, 1)
		errs <- err
		return nil, errs
	}
	defer r.release(g)
	return g.client.Events(ctx)
}
