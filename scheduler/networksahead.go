package scheduler

import (
	"context"
	"fmt"
	"sync"

	"github.com/berth/berth/compose"
)

// NetworkStarter is a Network whose EnsureNetworks also starts a process
// of the project that takes a while to be ready (berth's project process:
// DNS, supervision and the containers' logs; tens of milliseconds).
// StartNetworks makes the networks and starts that process without
// waiting for it; started waits until it is ready, and must be called
// once. Up creates the containers meanwhile and waits for it only before
// their tasks are made.
type NetworkStarter interface {
	StartNetworks(ctx context.Context, p *compose.Project) (started func() error, err error)
}

// networksAhead makes a project's networks (and starts its DNS daemon)
// while up builds its images, which need neither: the networks are ready
// when the plan's create-networks op comes, which then only reports them,
// as it would have made them. Up starts it only for a project that has no
// network yet, so that no plan has a network to recreate first.
type networksAhead struct {
	// names are the networks it makes, for the op's progress lines.
	names []string
	done  chan struct{}
	err   error
	// started, set with done when the Network is a NetworkStarter, waits
	// for the project's process; ready calls it once.
	started    func() error
	once       sync.Once
	startedErr error
}

// startNetworksAhead starts making p's networks on nw when up builds
// images for a project without networks (observed lists its networks);
// nil when it does not apply.
func startNetworksAhead(ctx context.Context, p *compose.Project, nw Network, observed []ObservedNetwork, opts UpOptions) *networksAhead {
	if opts.Builder == nil || opts.NoBuild || len(observed) > 0 {
		return nil
	}
	if _, ok := nw.(NetworkObserver); !ok {
		return nil
	}
	builds := false
	for _, s := range p.Services {
		builds = builds || s.Build != nil
	}
	if !builds {
		return nil
	}
	a := &networksAhead{names: networksToMake(p), done: make(chan struct{})}
	go func() {
		defer close(a.done)
		if ns, ok := nw.(NetworkStarter); ok {
			a.started, a.err = ns.StartNetworks(ctx, p)
			return
		}
		a.err = nw.EnsureNetworks(ctx, p)
	}()
	return a
}

// wait returns what making the networks returned, once it has. With a
// NetworkStarter, the project's process may not be ready yet: see ready.
func (a *networksAhead) wait(ctx context.Context) error {
	select {
	case <-a.done:
		return a.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ready is wait, and then waits for the project's process when the
// networks' start did not (NetworkStarter). It may be called any number
// of times, from any goroutine; nil a is ready.
func (a *networksAhead) ready(ctx context.Context) error {
	if a == nil {
		return nil
	}
	if err := a.wait(ctx); err != nil {
		return err
	}
	a.once.Do(func() {
		if a.started != nil {
			a.startedErr = a.started()
		}
	})
	return a.startedErr
}

// abandon is for an up that fails before its plan runs: once the networks
// are made, it removes them again if the project has no container, as a
// failed up leaves no networks behind (see Up). It returns err, with the
// failure to remove them if any.
func (a *networksAhead) abandon(ctx context.Context, p *compose.Project, rt Runtime, nw Network, err error) error {
	<-a.done                            // EnsureNetworks ends with ctx
	a.ready(context.WithoutCancel(ctx)) //nolint:errcheck // err is up's failure; the process goes with the networks
	return removeNetworksIfEmpty(context.WithoutCancel(ctx), p, rt, nw, err)
}

// removeNetworksIfEmpty removes the networks of a project that has no
// container after a failed up; err is up's failure, returned with the
// failure to remove them if any.
func removeNetworksIfEmpty(ctx context.Context, p *compose.Project, rt Runtime, nw Network, err error) error {
	if cs, lerr := rt.Containers(ctx, p.Name); lerr != nil || len(cs) > 0 {
		return err
	}
	if rerr := nw.RemoveNetworks(ctx, p.Name); rerr != nil {
		return fmt.Errorf("%w (and removing its networks failed: %v)", err, rerr)
	}
	return err
}
