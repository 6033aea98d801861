package scheduler

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/berth/berth/compose"
)

// AttachOptions are attached up's reasons to end before every container
// is done.
type AttachOptions struct {
	// AbortOnExit ends at the first container that exits.
	AbortOnExit bool
	// AbortOnFailure ends at the first container that exits non-zero.
	AbortOnFailure bool
	// ExitCodeFrom is the service whose exit code up returns; it must be
	// among the services waited for. It ends nothing by itself: docker
	// compose's --exit-code-from implies AbortOnExit (unless
	// AbortOnFailure), which the caller sets.
	ExitCodeFrom string
}

// AttachResult says why attached up ended: Container is the one whose
// exit ended it, or nil when all were done.
type AttachResult struct {
	Container *Container
}

// CheckAttachNames fails for a service that flag (--exit-code-from,
// --attach, --no-attach: named in the error) names and that up with ro
// does not start. Attached up checks its flags with it before it starts
// anything: WaitAttached only finds out once everything runs, and the
// attach lists would silently show nothing of the service.
func CheckAttachNames(p *compose.Project, ro ReconcileOptions, flag string, names ...string) error {
	g, err := NewGraph(p)
	if err != nil {
		return err
	}
	started := g.Services()
	if ro.Services != nil {
		started = g.WithDependencies(ro.Services)
		if ro.NoDeps {
			started = ro.Services
		}
	}
	for _, n := range names {
		switch {
		case n == "", slices.Contains(started, n):
		case p.Service(n) != nil || slices.Contains(p.DisabledServices, n):
			return fmt.Errorf("%s %s: up does not start service %q (it starts %s): name it among the services to start, or enable its profile", flag, n, n, strings.Join(started, ", "))
		default:
			all := append(p.ServiceNames(), p.DisabledServices...)
			sort.Strings(all)
			return fmt.Errorf("%s %s: no such service (the project's services: %s)", flag, n, strings.Join(all, ", "))
		}
	}
	return nil
}

// WaitAttached waits, woken by the runtime's events, until the services'
// containers have all exited for good (no restart policy will start them
// again), or until one exit ends it as the options say, or ctx ends.
func WaitAttached(ctx context.Context, rt Runtime, project string, services []string, opts AttachOptions) (AttachResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, errs := rt.Events(ctx)
	selected := map[string]bool{}
	for _, s := range services {
		selected[s] = true
	}
	if opts.ExitCodeFrom != "" && !selected[opts.ExitCodeFrom] {
		return AttachResult{}, fmt.Errorf("--exit-code-from %s: the service is not among those started", opts.ExitCodeFrom)
	}
	for {
		all, err := rt.Containers(ctx, project)
		if err != nil {
			return AttachResult{}, err
		}
		done := true
		for i := range all {
			c := &all[i]
			if !selected[c.Labels.Service()] || c.Labels.OneOff() {
				continue
			}
			if c.State != StateExited {
				done = false
				continue
			}
			if opts.AbortOnExit || opts.AbortOnFailure && c.ExitCode != 0 {
				return AttachResult{Container: c}, nil
			}
			if willRestart(c) {
				done = false
			}
		}
		if done {
			return AttachResult{}, nil
		}
		select {
		case <-ctx.Done():
			return AttachResult{}, ctx.Err()
		case err := <-errs:
			return AttachResult{}, fmt.Errorf("runtime events: %w", err)
		case <-events:
		}
	}
}

// willRestart reports whether the supervisor will start an exited
// container again.
func willRestart(c *Container) bool {
	if c.Labels.ManualStop() {
		return false
	}
	p, err := c.Labels.Restart()
	if err != nil {
		return false
	}
	switch p.Condition {
	case compose.RestartAlways, compose.RestartUnlessStopped:
		return true
	case compose.RestartOnFailure:
		return c.ExitCode != 0 && (p.MaxAttempts == 0 || c.Labels.RestartCount() < p.MaxAttempts)
	}
	return false
}

// WaitExit is berth wait: it waits, woken by the runtime's events, until a
// container of the services has exited (one that already has counts) and
// returns it. A service without containers is an error, not a wait that
// ends at once with nothing: no container of it will exit.
func WaitExit(ctx context.Context, rt Runtime, project string, services []string) (*Container, error) {
	cs, err := rt.Containers(ctx, project)
	if err != nil {
		return nil, err
	}
	for _, s := range services {
		if !slices.ContainsFunc(cs, func(c Container) bool { return c.Labels.Service() == s && !c.Labels.OneOff() }) {
			return nil, fmt.Errorf("service %s has no container: run berth up -d %s first", s, s)
		}
	}
	res, err := WaitAttached(ctx, rt, project, services, AttachOptions{AbortOnExit: true})
	return res.Container, err
}
