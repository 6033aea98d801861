package scheduler

import (
	"context"
	"fmt"
)

// ShimStarter is a Runtime whose containers of one project share a
// process that the first of them to start would otherwise start
// (containerd's runc shim, held by the project's anchor: about 0.1 s).
// Up starts it while it makes the project's networks and creates its
// containers, so that the first start finds it running.
type ShimStarter interface {
	// StartShim starts the project's shared process when it is not
	// running; a no-op when the project's containers share none.
	StartShim(ctx context.Context, project string) error
	// DropShim stops it again if the project has no container.
	DropShim(ctx context.Context, project string) error
}

// shimAhead is the start of a project's shim beside the executor.
type shimAhead struct {
	rt   ShimStarter
	done chan struct{}
}

// startShimAhead starts the project's shim in the background when up is
// to create the first containers of a project that has none (observed):
// nil when it does not apply (the runtime has no ShimStarter, up starts
// nothing, or the project has containers, whose shim is up or is started
// again with the first of them). A failure is left to the first start,
// which tries again and reports it.
func startShimAhead(ctx context.Context, project string, rt Runtime, observed []Container, plan *Plan, opts UpOptions) *shimAhead {
	ss, ok := rt.(ShimStarter)
	if !ok || opts.NoStart || len(observed) > 0 || !createsContainers(plan) {
		return nil
	}
	a := &shimAhead{rt: ss, done: make(chan struct{})}
	go func() {
		defer close(a.done)
		ss.StartShim(ctx, project) //nolint:errcheck // see above
	}()
	return a
}

// createsContainers reports whether the plan makes new containers.
func createsContainers(plan *Plan) bool {
	for _, ops := range plan.Services {
		for _, op := range ops {
			if op.Kind == OpCreate || op.Kind == OpRecreate {
				return true
			}
		}
	}
	return false
}

// finish waits for the shim's start, and after a failed up (err) stops
// it again if the project was left without containers; it returns err,
// with the failure to stop it if any.
func (a *shimAhead) finish(ctx context.Context, project string, err error) error {
	if a == nil {
		return err
	}
	<-a.done
	if err == nil {
		return nil
	}
	if derr := a.rt.DropShim(context.WithoutCancel(ctx), project); derr != nil {
		return fmt.Errorf("%w (and stopping the project's shim failed: %v)", err, derr)
	}
	return err
}
