package scheduler

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// ShortName is the name docker compose shows a container by in log
// prefixes and status lines ("web-1  | ...", "web-1 exited with code 0"):
// the service and replica number, without the project, unless
// container_name gave the container a name of its own.
func ShortName(c Container) string {
	project, service := c.Labels.Project(), c.Labels.Service()
	if c.Name == project+"-"+service+"-"+strconv.Itoa(c.Labels.Number()) {
		return c.Name[len(project)+1:]
	}
	return c.Name
}

// exitSkew bounds how far an exit event's time and the exit time a
// listing shows apart may be for the same exit.
const exitSkew = 10 * time.Millisecond

// followRuntime is what FollowContainers needs from the runtime.
type followRuntime interface {
	Containers(ctx context.Context, project string) ([]Container, error)
	Events(ctx context.Context) (<-chan RuntimeEvent, <-chan error)
}

// FollowHandler is told what FollowContainers sees; nil funcs are skipped.
// They are called one at a time, from FollowContainers' goroutine.
type FollowHandler struct {
	// Added: a container of the services, there at the start or created
	// later (a service scaled up, a container recreated).
	Added func(Container)
	// Exited: the container's process exited; restarting says its restart
	// policy starts it again.
	Exited func(c Container, exitCode int, restarting bool)
	// Removed: the container was deleted.
	Removed func(Container)
	// ExitedSince, when set, reports the containers found exited at the
	// start that exited after it as Exited too: attached up attaches once
	// its containers started, and a quick one may be done by then.
	ExitedSince time.Time
}

// FollowContainers follows the project's containers of the services (none:
// all of them; one-off containers never) until ctx ends, telling h about
// each one that is there or comes, exits or goes: what logs -f and
// attached up need to show the output of containers created after they
// started. Its error is that of the runtime's event stream; ctx's end is
// not an error.
func FollowContainers(ctx context.Context, rt followRuntime, project string, services []string, h FollowHandler) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, errs := rt.Events(ctx) // before the listing: nothing created in between is missed
	known := map[string]Container{}
	refresh := func() ([]Container, error) {
		all, err := rt.Containers(ctx, project)
		if err != nil {
			return nil, fmt.Errorf("list the containers of project %s: %w", project, err)
		}
		cs := ServiceContainers(all, services)
		for _, c := range cs {
			if _, ok := known[c.ID]; !ok && h.Added != nil {
				h.Added(c)
			}
			known[c.ID] = c
		}
		return cs, nil
	}
	first, err := refresh()
	if err != nil {
		return err
	}
	// reported are the exits reported from the first listing: their
	// events, when they come after it, are not reported again.
	reported := map[string]time.Time{}
	// shown are the times of the exits reported since, by container: an
	// exit is learnt from its event or from berth's stop event, whichever
	// comes first, and reported once.
	shown := map[string]time.Time{}
	sameExit := func(id string, at time.Time) bool {
		prev, ok := shown[id]
		if !ok {
			prev, ok = reported[id]
		}
		d := at.Sub(prev)
		return ok && d > -exitSkew && d < exitSkew
	}
	if !h.ExitedSince.IsZero() && h.Exited != nil {
		for _, c := range first {
			if c.State == StateExited && c.FinishedAt.After(h.ExitedSince) {
				reported[c.ID] = c.FinishedAt
				h.Exited(c, c.ExitCode, willRestart(&c))
			}
		}
	}
	for {
		var ev RuntimeEvent
		select {
		case <-ctx.Done():
			return nil
		case err := <-errs:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("runtime events: %w", err)
		case ev = <-events:
		}
		switch ev.Kind {
		case EventCreated, EventStarted:
			if _, ok := known[ev.Container]; ok && ev.Kind == EventStarted {
				continue
			}
			if _, err := refresh(); err != nil {
				return err
			}
		case EventExited:
			c, ok := known[ev.Container]
			if !ok {
				continue
			}
			if at, ok := shown[ev.Container]; ok {
				if d := ev.At.Sub(at); d > -exitSkew && d < exitSkew {
					continue // reported at berth's stop event
				}
			}
			if at, ok := reported[ev.Container]; ok {
				delete(reported, ev.Container)
				if d := ev.At.Sub(at); d > -exitSkew && d < exitSkew {
					continue // the exit the first listing reported
				}
			}
			cs, err := refresh()
			if err != nil {
				return err
			}
			// Its labels now (a stop marks it manual); when it is gone
			// already, those it had.
			if i := slices.IndexFunc(cs, func(c Container) bool { return c.ID == ev.Container }); i >= 0 {
				c = cs[i]
			}
			c.ExitCode = ev.ExitCode
			shown[ev.Container] = ev.At
			if h.Exited != nil {
				h.Exited(c, ev.ExitCode, willRestart(&c))
			}
		case EventStopped:
			// A stop of berth's ended with the process gone. The exit's
			// own event can be lost (seen with containerd 2.4: the task
			// exit of a stop that never reached the subscriber), so the
			// exit is taken from the listing unless already reported.
			if _, ok := known[ev.Container]; !ok {
				continue
			}
			cs, err := refresh()
			if err != nil {
				return err
			}
			i := slices.IndexFunc(cs, func(c Container) bool { return c.ID == ev.Container })
			if i < 0 || cs[i].State != StateExited || sameExit(ev.Container, cs[i].FinishedAt) {
				continue
			}
			c := cs[i]
			shown[c.ID] = c.FinishedAt
			if h.Exited != nil {
				h.Exited(c, c.ExitCode, willRestart(&c))
			}
		case EventDeleted:
			c, ok := known[ev.Container]
			if !ok {
				continue
			}
			if at, ok := reported[ev.Container]; ok {
				delete(reported, ev.Container)
				if d := ev.At.Sub(at); d > -exitSkew && d < exitSkew {
					continue // the exit the first listing reported
				}
			}
			delete(known, ev.Container)
			if h.Removed != nil {
				h.Removed(c)
			}
		}
	}
}
