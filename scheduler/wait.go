package scheduler

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/berth/berth/compose"
)

// ConditionError says why a service cannot meet a condition (it exited, it
// is unhealthy, it has no healthcheck): waiting longer would not help.
type ConditionError struct {
	Service string
	// Reason is the error as docker compose words it ("container x is
	// unhealthy"): scripts match it.
	Reason string
	// Detail is what berth adds, shown after compose's line ("the last
	// healthcheck of container x said: ..."); "" when nothing.
	Detail string
}

func (e *ConditionError) Error() string { return e.Reason }

// Details are the Details of the ConditionErrors in err, in order: what
// up prints after the error line.
func Details(err error) []string {
	var out []string
	walkConditionErrors(err, func(ce *ConditionError) {
		if ce.Detail != "" && !slices.Contains(out, ce.Detail) {
			out = append(out, ce.Detail)
		}
	})
	return out
}

// walkConditionErrors calls fn for each ConditionError in err's tree.
func walkConditionErrors(err error, fn func(*ConditionError)) {
	switch e := err.(type) {
	case nil:
	case *ConditionError:
		fn(e)
	case interface{ Unwrap() []error }:
		for _, x := range e.Unwrap() {
			walkConditionErrors(x, fn)
		}
	case interface{ Unwrap() error }:
		walkConditionErrors(e.Unwrap(), fn)
	}
}

// ConditionMet checks a service's containers against a condition:
// whether it is met, or why it never will be.
func ConditionMet(service string, cs []Container, cond compose.DependencyCondition) (bool, error) {
	if len(cs) == 0 {
		return false, nil
	}
	for _, c := range cs {
		switch cond {
		case compose.ConditionStarted:
			if c.State != StateRunning && c.State != StateExited {
				return false, nil
			}
		case compose.ConditionCompletedSuccessfully:
			switch {
			case c.State == StateExited && c.ExitCode == 0:
			case c.State == StateExited:
				return false, &ConditionError{Service: service, Reason: fmt.Sprintf("service %q didn't complete successfully: exit %d", service, c.ExitCode),
					Detail: fmt.Sprintf("its dependents need service %q to complete successfully; container %s exited with code %d", service, c.Name, c.ExitCode)}
			default:
				return false, nil
			}
		case compose.ConditionHealthy:
			if c.State == StateExited {
				return false, &ConditionError{Service: service, Reason: fmt.Sprintf("container %s exited (%d)", c.Name, c.ExitCode),
					Detail: fmt.Sprintf("service %q exited with code %d instead of becoming healthy", service, c.ExitCode)}
			}
			if cfg, err := HealthcheckOf(c.Labels); err != nil || cfg == nil {
				return false, &ConditionError{Service: service, Reason: fmt.Sprintf("container %s has no healthcheck configured", c.Name),
					Detail: fmt.Sprintf("service %q has no healthcheck, so it can never be healthy: give it one, or depend on it with condition service_started", service)}
			}
			h, ok := HealthOf(c.Labels)
			if !ok {
				return false, nil
			}
			switch h.Status {
			case HealthUnhealthy:
				detail := ""
				if n := len(h.Log); n > 0 {
					if out := strings.TrimSpace(h.Log[n-1].Output); out != "" {
						detail = fmt.Sprintf("the last healthcheck of container %s (service %q) said: %s", c.Name, service, out)
					} else {
						detail = fmt.Sprintf("the last healthcheck of container %s (service %q) exited with %d", c.Name, service, h.Log[n-1].ExitCode)
					}
				}
				return false, &ConditionError{Service: service, Reason: fmt.Sprintf("container %s is unhealthy", c.Name), Detail: detail}
			case HealthHealthy:
			default:
				return false, nil
			}
		}
	}
	return true, nil
}

// Culprits are the services a failed up or wait blames (a dependency that
// exited or turned unhealthy, a service not ready in time), in the order
// the error names them: the ones whose logs explain the failure.
func Culprits(err error) []string {
	var out []string
	walkConditionErrors(err, func(ce *ConditionError) {
		if !contains(out, ce.Service) {
			out = append(out, ce.Service)
		}
	})
	return out
}

// WaitFor waits until the service's containers meet the condition, woken
// by the runtime's events (no polling), and fails as soon as they cannot.
func WaitFor(ctx context.Context, rt Runtime, project, service string, cond compose.DependencyCondition) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, errs := rt.Events(ctx)
	for {
		all, err := rt.Containers(ctx, project)
		if err != nil {
			return err
		}
		cs := ServiceContainers(all, []string{service})
		met, err := ConditionMet(service, cs, cond)
		if met || err != nil {
			return err
		}
		if err := nextEventOf(ctx, events, errs, cs); err != nil {
			return err
		}
	}
}

// nextEventOf waits for an event that may change what cs say: one about
// them, or a new container (another replica). Events of other containers
// (probes of other services write their labels every interval) cost no
// listing.
func nextEventOf(ctx context.Context, events <-chan RuntimeEvent, errs <-chan error, cs []Container) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-errs:
			return fmt.Errorf("runtime events: %w", err)
		case ev := <-events:
			if ev.Kind == EventCreated || slices.ContainsFunc(cs, func(c Container) bool { return c.ID == ev.Container }) {
				return nil
			}
		}
	}
}

// waitDependencies waits for the conditions service s puts on the
// services it depends on, before its containers start.
func (e *Executor) waitDependencies(ctx context.Context, s *compose.Service, g *Graph) error {
	names := make([]string, 0, len(s.DependsOn))
	for name := range s.DependsOn {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		dep := s.DependsOn[name]
		// A dependency scaled to 0 has nothing to wait for (docker compose
		// skips it too).
		if d := e.Project.Service(name); dep.Condition == compose.ConditionStarted || dep.Condition == "" || d == nil || d.Replicas == 0 {
			if d != nil && d.Replicas > 0 {
				// The walk started it before s: met as soon as asked.
				for _, k := range []MarkKind{MarkWaitBegin, MarkWaitEnd} {
					EmitMark(e.Events, Mark{Kind: k, Service: s.Name, Dependency: name, Condition: compose.ConditionStarted})
				}
			}
			continue
		}
		// Reported on each of its containers, as docker compose does
		// ("Container db-1  Healthy"): scripts match those lines.
		kind, targets := e.waitTargets(ctx, name)
		for _, t := range targets {
			e.emit(kind, t, StatusWorking, "Waiting", fmt.Sprintf("%s waits for it: %s", s.Name, dep.Condition))
		}
		EmitMark(e.Events, Mark{Kind: MarkWaitBegin, Service: s.Name, Dependency: name, Condition: dep.Condition})
		err := WaitFor(ctx, e.Runtime, e.Project.Name, name, dep.Condition)
		e.markWaitEnd(ctx, s.Name, name, dep.Condition, err)
		switch {
		case err == nil:
			text := "Healthy"
			if dep.Condition == compose.ConditionCompletedSuccessfully {
				text = "Exited"
			}
			for _, t := range targets {
				e.emit(kind, t, StatusDone, text, "")
			}
		case !dep.Required:
			// docker compose's words first: scripts match them.
			what := "failed to start"
			if dep.Condition == compose.ConditionCompletedSuccessfully {
				what = "didn't complete successfully"
			}
			e.emit(KindService, name, StatusWarning, "Warning", fmt.Sprintf("optional dependency %q %s: %v; %s goes on without it", name, what, err, s.Name))
		default:
			for _, t := range targets {
				e.emit(kind, t, StatusError, "Error", err.Error())
			}
			if dep.Condition == compose.ConditionCompletedSuccessfully {
				return err // compose says this one as it is
			}
			return fmt.Errorf("dependency failed to start: %w", err)
		}
	}
	return nil
}

// markWaitEnd marks the end of service's wait on dependency, with the
// health its containers were seen with then (the probes that decided it).
func (e *Executor) markWaitEnd(ctx context.Context, service, dependency string, cond compose.DependencyCondition, err error) {
	if !marksWanted(e.Events) {
		return
	}
	if all, lerr := e.Runtime.Containers(ctx, e.Project.Name); lerr == nil {
		markHealth(e.Events, dependency, ServiceContainers(all, []string{dependency}))
	}
	m := Mark{Kind: MarkWaitEnd, Service: service, Dependency: dependency, Condition: cond}
	if err != nil {
		m.Err = err.Error()
	}
	EmitMark(e.Events, m)
}

// waitTargets are what a wait for service's condition is reported on: its
// containers (one-offs left out), or the service itself when it has none
// yet or they cannot be listed.
func (e *Executor) waitTargets(ctx context.Context, service string) (Kind, []string) {
	all, err := e.Runtime.Containers(ctx, e.Project.Name)
	if err != nil {
		return KindService, []string{service}
	}
	cs := ServiceContainers(all, []string{service})
	if len(cs) == 0 {
		return KindService, []string{service}
	}
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name
	}
	return KindContainer, names
}

// WaitReady waits until the services' containers are running, and
// healthy when they have a healthcheck; a service that others need to
// complete successfully may have exited with 0 instead.
// Each service's wait is reported on ev (nil: not reported).
func WaitReady(ctx context.Context, p *compose.Project, rt Runtime, ev Events, services []string, timeout time.Duration) error {
	if ev == nil {
		ev = Discard
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	completes := map[string]bool{}
	for _, s := range p.Services {
		for name, d := range s.DependsOn {
			if d.Condition == compose.ConditionCompletedSuccessfully {
				completes[name] = true
			}
		}
	}
	var waited []string
	for _, name := range services {
		if s := p.Service(name); s != nil && s.Replicas > 0 {
			waited = append(waited, name)
			ev.Emit(Event{Kind: KindService, Name: name, Status: StatusWorking, Text: "Waiting"})
		}
	}
	// One subscription and one listing per event for all of them: every
	// service is judged again on each wake-up, in the order given, so one
	// that was ready and then exited fails the wait.
	events, errs := rt.Events(ctx)
	reported := map[string]bool{}
	still := waited
	conds := map[string]compose.DependencyCondition{}
	timedOut := func() error {
		ev.Emit(Event{Kind: KindService, Name: still[0], Status: StatusError, Text: "Error"})
		err := &ConditionError{Service: still[0], Reason: fmt.Sprintf("service %q is not ready after %s (--wait-timeout)", still[0], timeout)}
		EmitMark(ev, Mark{Kind: MarkReady, Service: still[0], Condition: conds[still[0]], Err: err.Error()})
		return err
	}
	for {
		all, err := rt.Containers(ctx, p.Name)
		if err != nil {
			if timeout > 0 && ctx.Err() == context.DeadlineExceeded && len(still) > 0 {
				return timedOut()
			}
			return err
		}
		still = nil
		var watched []Container
		for _, name := range waited {
			cs := ServiceContainers(all, []string{name})
			watched = append(watched, cs...)
			cond := readyCondition(cs, completes[name])
			conds[name] = cond
			met, err := ConditionMet(name, cs, cond)
			if err == nil && met && cond == compose.ConditionStarted {
				err = stillRunning(name, cs)
			}
			if marksWanted(ev) && (err != nil || (met && !reported[name])) {
				markHealth(ev, name, cs)
			}
			switch {
			case err != nil:
				ev.Emit(Event{Kind: KindService, Name: name, Status: StatusError, Text: "Error"})
				EmitMark(ev, Mark{Kind: MarkReady, Service: name, Condition: cond, Err: err.Error()})
				return err
			case met:
				if !reported[name] {
					reported[name] = true
					EmitMark(ev, Mark{Kind: MarkReady, Service: name, Condition: cond})
					ev.Emit(Event{Kind: KindService, Name: name, Status: StatusDone, Text: readyText[cond]})
				}
			default:
				still = append(still, name)
			}
		}
		if len(still) == 0 {
			return nil
		}
		if err := nextEventOf(ctx, events, errs, watched); err != nil {
			if timeout > 0 && ctx.Err() == context.DeadlineExceeded {
				return timedOut()
			}
			return err
		}
	}
}

// readyCondition is what --wait waits for of a service: healthy when it
// has a healthcheck, exited with 0 when others need it to complete, else
// running.
func readyCondition(cs []Container, completes bool) compose.DependencyCondition {
	if completes {
		return compose.ConditionCompletedSuccessfully
	}
	for _, c := range cs {
		if cfg, _ := HealthcheckOf(c.Labels); cfg != nil {
			return compose.ConditionHealthy
		}
	}
	return compose.ConditionStarted
}

var readyText = map[compose.DependencyCondition]string{
	compose.ConditionStarted:               "Running",
	compose.ConditionHealthy:               "Healthy",
	compose.ConditionCompletedSuccessfully: "Exited",
}

// stillRunning fails when a service's container has exited: --wait wants
// services running, not started once.
func stillRunning(service string, cs []Container) error {
	for _, c := range cs {
		if c.State == StateExited {
			return &ConditionError{Service: service, Reason: fmt.Sprintf("container %s exited (%d)", c.Name, c.ExitCode),
				Detail: fmt.Sprintf("service %q exited with code %d", service, c.ExitCode)}
		}
	}
	return nil
}

// AwaitedServices are the services of p whose health a command that
// starts them waits on, sorted: those a service of p depends on with
// condition service_healthy, and with all (up --wait) every service. The
// command announces them (runstate.AnnounceWait) so that the project's
// supervisor probes them eagerly from their start.
func AwaitedServices(p *compose.Project, all bool) []string {
	set := map[string]bool{}
	for _, s := range p.Services {
		if all {
			set[s.Name] = true
		}
		for name, d := range s.DependsOn {
			if d.Condition == compose.ConditionHealthy {
				set[name] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for name := range set {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}
