package scheduler

import (
	"context"
	"runtime"
	"strings"
	"sync"
)

// Preparing ahead: a service that waits for its dependencies has its new
// containers created and their processes readied (Runtime.Prepare: the
// shim, runc's create, the log driver) during the wait, so that once the
// dependencies are ready only the start itself is left. Along a chain of
// service_healthy dependencies this takes creating off every link. A
// prepared container the walk does not start (its dependency failed, up
// was interrupted) is removed again: a failed up leaves no container of a
// service it did not start.

// prepareLimit bounds how many services are prepared at once.
var prepareLimit = max(runtime.NumCPU(), 2)

// preparation is the early creation of one service's new containers.
type preparation struct {
	done chan struct{}
	// containers are the prepared containers, in the order of the
	// service's create ops; err why preparing failed (then none is left).
	containers []Container
	err        error
	// started: the walk took the containers over (set by the walk's
	// function for the service, read after the walk).
	started bool
}

// preparations are those of one Execute.
type preparations struct {
	byService map[string]*preparation
	// created are closed once a service of the walk has its containers
	// made (or never will): a service is prepared after its dependencies
	// are created, so that containers are made, and their addresses
	// given, in the order of the graph, as without preparing.
	created map[string]*createdSignal
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

type createdSignal struct {
	once sync.Once
	ch   chan struct{}
}

// markCreated says that the service's containers are made (or never
// will be); once is enough.
func (ps *preparations) markCreated(service string) {
	if c := ps.created[service]; c != nil {
		c.once.Do(func() { close(c.ch) })
	}
}

// prepareAhead starts preparing, in the background, the services of the
// walk that wait for others and whose ops only create containers (what a
// first up does). Services that share another's network namespace or
// volumes are left to the walk.
func (e *Executor) prepareAhead(ctx context.Context, plan *Plan, g *Graph, only []string) *preparations {
	ps := &preparations{byService: map[string]*preparation{}, created: map[string]*createdSignal{}}
	if !e.waitsForDependencies(plan) {
		return ps
	}
	var order []string
	for _, name := range only {
		if len(g.Dependencies(name)) > 0 && e.preparable(name, plan.Services[name]) {
			order = append(order, name)
		}
	}
	if len(order) == 0 {
		return ps
	}
	for _, name := range only {
		ps.created[name] = &createdSignal{ch: make(chan struct{})}
	}
	// By the graph's order, so that with a bound the services nearer the
	// start of a chain are prepared first.
	order = g.byDepth(order)
	ctx, ps.cancel = context.WithCancel(ctx)
	// A few at a time, in that order, so that preparing does not starve
	// the walk of the CPU: what it starts now is what the stack waits for.
	limit := prepareLimit
	if e.Parallel > 0 {
		limit = min(limit, e.Parallel)
	}
	queue := make(chan string, len(order))
	for _, name := range order {
		ps.byService[name] = &preparation{done: make(chan struct{})}
		queue <- name
	}
	close(queue)
	for range min(limit, len(order)) {
		ps.wg.Add(1)
		go func() {
			defer ps.wg.Done()
			for name := range queue {
				p := ps.byService[name]
				p.err = ps.waitCreated(ctx, g.Dependencies(name))
				if p.err == nil {
					p.err = ctx.Err() // up ended while it waited
				}
				if p.err == nil {
					p.containers, p.err = e.prepareService(ctx, plan.Services[name], func() { ps.markCreated(name) })
				}
				ps.markCreated(name)
				close(p.done)
			}
		}()
	}
	return ps
}

// waitCreated waits until the services of the walk among deps have their
// containers made.
func (ps *preparations) waitCreated(ctx context.Context, deps []string) error {
	for _, d := range deps {
		c := ps.created[d]
		if c == nil {
			continue
		}
		select {
		case <-c.ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// preparable reports whether a service's ops can run ahead of its
// dependencies: image ops and creates only, on a namespace of its own.
func (e *Executor) preparable(name string, ops []Op) bool {
	s := e.Project.Service(name)
	if s == nil || strings.HasPrefix(s.NetworkMode, "service:") || len(s.VolumesFrom) > 0 ||
		s.Namespaces.IPC.Service() != "" || s.Namespaces.PID.Service() != "" {
		return false // it joins what another service's container has
	}
	creates := 0
	for _, op := range ops {
		switch op.Kind {
		case OpEnsureImage:
		case OpCreate:
			creates++
		default:
			return false
		}
	}
	return creates > 0
}

// prepareService runs a service's image ops, creates its containers,
// calls created, and prepares them; on failure it removes what it made.
func (e *Executor) prepareService(ctx context.Context, ops []Op, created func()) (cs []Container, err error) {
	defer func() {
		if err != nil {
			for _, c := range cs {
				e.discard(ctx, c) //nolint:errcheck // the first error is the one to report
			}
			cs = nil
		}
	}()
	for _, op := range ops {
		if op.Kind != OpCreate {
			if err := e.run(ctx, op); err != nil {
				return cs, err
			}
			continue
		}
		if err := ctx.Err(); err != nil {
			return cs, err
		}
		// Not cut short once begun either: a creation cancelled in
		// containerd's reply is done there all the same, and the container
		// would be left behind, unknown to the removal of what was made.
		c, err := e.createContainer(context.WithoutCancel(ctx), op)
		if err != nil {
			return cs, err
		}
		cs = append(cs, c)
	}
	created()
	for _, c := range cs {
		if err := ctx.Err(); err != nil {
			return cs, err
		}
		// Not cut short once begun: a task create abandoned half-way goes
		// on in containerd (its shim then makes the log file of a
		// container already removed); preparing is quick.
		if err := e.projectProcess.ready(ctx); err != nil {
			return cs, err
		}
		if err := e.Runtime.Prepare(context.WithoutCancel(ctx), c); err != nil {
			e.emit(KindContainer, c.Name, StatusError, "Error", "")
			return cs, err
		}
	}
	return cs, nil
}

// startPrepared starts the containers prepared for a service, once its
// dependencies are ready. ok is false when the service was not prepared:
// then the walk runs its ops as usual.
func (e *Executor) startPrepared(ctx context.Context, ps *preparations, service string, ops []Op) (ok bool, err error) {
	p := ps.byService[service]
	if p == nil {
		return false, nil
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		return true, ctx.Err()
	}
	p.started = true
	if p.err != nil {
		return true, p.err
	}
	i := 0
	for _, op := range ops {
		if op.Kind != OpCreate {
			continue
		}
		if err := e.startNew(ctx, op, p.containers[i]); err != nil {
			// The ones after it are not started: removed too.
			for _, c := range p.containers[i+1:] {
				e.discard(ctx, c) //nolint:errcheck // the start's error is the one to report
			}
			return true, err
		}
		i++
	}
	return true, nil
}

// finish stops the preparing still under way and removes the prepared
// containers the walk did not start.
func (ps *preparations) finish(ctx context.Context, e *Executor) {
	if ps.cancel == nil {
		return
	}
	ps.cancel()
	ps.wg.Wait()
	for _, p := range ps.byService {
		if p.started {
			continue
		}
		for _, c := range p.containers {
			if err := e.discard(ctx, c); err != nil {
				e.emit(KindContainer, c.Name, StatusError, "Error", err.Error())
				continue
			}
			e.emit(KindContainer, c.Name, StatusDone, "Removed", "not started")
		}
	}
}
