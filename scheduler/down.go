package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// How down goes fast: the project's supervisor is told first to leave the
// containers alone (Quiescer: no probe races a stop, and none costs CPU
// meanwhile); a service's containers are stopped once its dependents'
// have stopped, as docker compose does, but a container's removal (its
// task and shim, snapshot, network namespace) does not hold up the stop
// of what it depended on: it runs beside the rest of the walk (Halter),
// and down waits for every removal before it removes networks and
// volumes. The containers of one service, and those outside the graph
// (one-offs, orphans), go all at once. What a stop needs before its
// signal is done for every container as the walk starts (HaltPreparer),
// so that along a chain of dependencies each link costs its signal and
// its exit only.

// Halter is a runtime that can stop a container's process and leave the
// rest of its removal to Remove.
type Halter interface {
	// Halt is Stop up to the exit of the container's process: its
	// pre_stop hooks, its stop signal, timeout, then SIGKILL; a process
	// that has exited already is not waited for. Remove deletes what is
	// left (its task).
	Halt(ctx context.Context, c Container, timeout time.Duration) error
}

// HaltPreparer is a Halter that can do ahead of a container's halt what
// does not stop it yet (find its task and process, mark it as stopped by
// hand), so that the halt itself, once the container's dependents have
// stopped, is its signal and the wait for its exit.
type HaltPreparer interface {
	Halter
	// PrepareHalt prepares the halt of a running container; nil, with no
	// error, when there is nothing to prepare (Halt does it all then).
	PrepareHalt(ctx context.Context, c Container) (PreparedHalt, error)
}

// PreparedHalt is the halt of one container, prepared. Finish is called
// once, whether Halt was called or not.
type PreparedHalt interface {
	// Halt is Halter.Halt of the container it was prepared for (c, with
	// its hooks). It returns once the container's process has exited;
	// what follows the exit is Finish's.
	Halt(ctx context.Context, c Container, timeout time.Duration) error
	// Finish ends the halt: after a successful Halt, it waits until the
	// runtime has seen the exit (its task can then be deleted as it is);
	// a container it did not signal is given back as it was, not marked
	// as stopped by hand. It lets go of what the preparation holds.
	Finish(ctx context.Context)
}

// Quiescer is a runtime that can tell the project's supervisor to leave
// containers alone while a command stops them (EventQuiesced), and give
// back those it did not stop after all. Both are best effort: a lost
// event only lets probes run on until the stop.
type Quiescer interface {
	Quiesce(ctx context.Context, ids []string)
	Unquiesce(ctx context.Context, ids []string)
}

// quiesce tells the supervisor to leave the running containers the plan
// removes alone, and returns their IDs (nil when the runtime cannot).
func quiesce(ctx context.Context, rt Runtime, plan *Plan) []string {
	q, ok := rt.(Quiescer)
	if !ok {
		return nil
	}
	var ids []string
	note := func(ops []Op) {
		for _, op := range ops {
			if op.Kind == OpRemove && op.Container != nil && (op.Container.State == StateRunning || op.Container.State == StatePaused) {
				ids = append(ids, op.Container.ID)
			}
		}
	}
	only := plan.Only
	if only == nil {
		for s := range plan.Services {
			only = append(only, s)
		}
	}
	for _, s := range only {
		note(plan.Services[s])
	}
	note(plan.Extra)
	sort.Strings(ids)
	q.Quiesce(ctx, ids)
	return ids
}

// unquiesce gives back to the supervisor the containers of ids that a
// failed down left running.
func unquiesce(ctx context.Context, rt Runtime, project string, ids []string) {
	q, ok := rt.(Quiescer)
	if !ok || len(ids) == 0 {
		return
	}
	cs, err := rt.Containers(ctx, project)
	if err != nil {
		return // the runtime is gone: so is the supervisor's following of it
	}
	quiesced := map[string]bool{}
	for _, id := range ids {
		quiesced[id] = true
	}
	var back []string
	for _, c := range cs {
		if quiesced[c.ID] && (c.State == StateRunning || c.State == StatePaused) {
			back = append(back, c.ID)
		}
	}
	if len(back) > 0 {
		q.Unquiesce(ctx, back)
	}
}

// removals are the removals of stopped containers that run beside a walk.
type removals struct {
	wg   sync.WaitGroup
	mu   sync.Mutex // guards errs
	errs []error
}

// preparedHalts are the halts of a down's running containers, each
// prepared in the background from the start of the walk, by container ID.
type preparedHalts struct {
	mu      sync.Mutex // guards pending
	pending map[string]*pendingHalt
	wg      sync.WaitGroup
}

// pendingHalt is one prepared halt: halt and err are set once ready is
// closed.
type pendingHalt struct {
	ready chan struct{}
	halt  PreparedHalt
	err   error
}

// prepareHalts starts the preparation of the halt of every running
// container the plan's services remove (nil when the runtime cannot
// prepare halts). Those the walk does not take are finished by release.
func (e *Executor) prepareHalts(ctx context.Context, plan *Plan, only []string) *preparedHalts {
	hp, ok := e.Runtime.(HaltPreparer)
	if !ok {
		return nil
	}
	ph := &preparedHalts{pending: map[string]*pendingHalt{}}
	for _, s := range only {
		for _, op := range plan.Services[s] {
			c := op.Container
			if op.Kind != OpRemove || c == nil || (c.State != StateRunning && c.State != StatePaused) {
				continue
			}
			p := &pendingHalt{ready: make(chan struct{})}
			ph.pending[c.ID] = p
			ph.wg.Add(1)
			go func() {
				defer ph.wg.Done()
				defer close(p.ready)
				p.halt, p.err = hp.PrepareHalt(ctx, e.withHooks(*c))
			}()
		}
	}
	return ph
}

// take returns the prepared halt of a container, once it is ready, and
// leaves it to the caller; nil when none was prepared (or its
// preparation failed: the halt then does it all).
func (ph *preparedHalts) take(id string) PreparedHalt {
	if ph == nil {
		return nil
	}
	ph.mu.Lock()
	p := ph.pending[id]
	delete(ph.pending, id)
	ph.mu.Unlock()
	if p == nil {
		return nil
	}
	<-p.ready
	if p.err != nil {
		return nil
	}
	return p.halt
}

// release finishes the prepared halts no walk took (their containers
// were not stopped: a dependent failed, or the walk was interrupted).
func (ph *preparedHalts) release(ctx context.Context) {
	if ph == nil {
		return
	}
	ph.wg.Wait()
	ph.mu.Lock()
	defer ph.mu.Unlock()
	for id, p := range ph.pending {
		if p.halt != nil {
			p.halt.Finish(ctx)
		}
		delete(ph.pending, id)
	}
}

// halt stops the container op removes within the walk, with its prepared
// halt when there is one, and removes it in the background once it has
// stopped; the removal's error is reported by wait. The runtime is a
// Halter.
func (e *Executor) halt(ctx context.Context, rs *removals, halts *preparedHalts, op Op) error {
	c := *op.Container
	e.emit(KindContainer, op.Name, StatusWorking, "Stopping", op.Reason)
	var prepared PreparedHalt
	if c.State == StateRunning || c.State == StatePaused {
		stop := e.Runtime.(Halter).Halt
		if prepared = halts.take(c.ID); prepared != nil {
			stop = prepared.Halt
		}
		if err := stop(ctx, e.withHooks(c), e.stopTimeout(c)); err != nil {
			if prepared != nil {
				prepared.Finish(ctx)
			}
			e.emit(KindContainer, op.Name, StatusError, "Error", "")
			return err
		}
	}
	rs.wg.Add(1)
	go func() {
		defer rs.wg.Done()
		if prepared != nil {
			prepared.Finish(ctx)
		}
		c.State = StateExited // its process is gone: nothing to stop
		if err := e.remove(ctx, c); err != nil {
			e.emit(KindContainer, op.Name, StatusError, "Error", "")
			rs.mu.Lock()
			rs.errs = append(rs.errs, fmt.Errorf("remove container %s: %w", op.Name, err))
			rs.mu.Unlock()
			return
		}
		e.emit(KindContainer, op.Name, StatusDone, "Removed", "")
	}()
	return nil
}

// wait waits for the removals and returns their errors.
func (rs *removals) wait() error {
	rs.wg.Wait()
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return errors.Join(rs.errs...)
}

// removeAll runs the container removals of ops at once (Parallel at most),
// and returns their errors, in the order of ops.
func (e *Executor) removeAll(ctx context.Context, ops []Op) []error {
	errs := make([]error, len(ops))
	var wg sync.WaitGroup
	var sem chan struct{}
	if e.Parallel > 0 {
		sem = make(chan struct{}, e.Parallel)
	}
	for i, op := range ops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if sem != nil {
				sem <- struct{}{}
				defer func() { <-sem }()
			}
			errs[i] = e.run(ctx, op)
		}()
	}
	wg.Wait()
	var out []error
	for _, err := range errs {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// haltAll stops a service's containers that its ops remove, at once, and
// removes each in the background once it has stopped (see halt). The ops
// that are no removal, or all of them when the runtime cannot halt, are
// run in order after, as without halting.
func (e *Executor) haltAll(ctx context.Context, rs *removals, halts *preparedHalts, ops []Op) error {
	var rest []Op
	errs := make([]error, len(ops))
	var wg sync.WaitGroup
	for i, op := range ops {
		if op.Kind != OpRemove || op.Container == nil {
			rest = append(rest, op)
			continue
		}
		if _, ok := e.Runtime.(Halter); !ok {
			rest = append(rest, op)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = e.halt(ctx, rs, halts, op)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, op := range rest {
		if err := e.run(ctx, op); err != nil {
			return err
		}
	}
	return nil
}
