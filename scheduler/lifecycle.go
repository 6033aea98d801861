package scheduler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/berth/berth/compose"
)

// LifecycleRequest selects the containers stop, start, restart and kill
// act on, and how.
type LifecycleRequest struct {
	// Services limits the command to these services; nil is all.
	Services []string
	// Timeout overrides the stop grace periods when not nil.
	Timeout *time.Duration
	// Signal is kill's signal (default SIGKILL).
	Signal string
	// Force makes rm remove running containers too (stopping them).
	Force bool
	// NoDeps makes restart leave alone the services that depend on the
	// named ones with depends_on restart: true.
	NoDeps bool
	// RemoveOrphans makes kill also remove the containers of services no
	// longer in the project (docker compose kill --remove-orphans).
	RemoveOrphans bool
	// Volumes makes rm also remove the anonymous volumes of the
	// containers it removes (docker compose rm -v); named volumes stay.
	Volumes  bool
	Parallel int
}

// PlanLifecycle plans stop, start or kill of the selected services'
// existing containers: stops and kills dependents first, starts
// dependencies first (waiting for their depends_on conditions).
func PlanLifecycle(p *compose.Project, observed []Container, g *Graph, kind OpKind, req LifecycleRequest) (*Plan, error) {
	services := g.Services()
	if req.Services != nil {
		for _, s := range req.Services {
			if p.Service(s) == nil {
				return nil, unknownService(p, s)
			}
		}
		services = req.Services
		if kind == OpStart {
			// As docker compose: start SERVICE starts what it depends on.
			services = g.WithDependencies(req.Services)
		}
	}
	plan := &Plan{Services: map[string][]Op{}, Order: DependentsFirst, Only: services}
	if kind == OpStart || kind == OpUnpause || kind == OpRestart {
		plan.Order = DependenciesFirst
	}
	selected := map[string]bool{}
	for _, s := range services {
		selected[s] = true
	}
	for i := range observed {
		c := &observed[i]
		svc := c.Labels.Service()
		if !selected[svc] || c.Labels.OneOff() {
			continue
		}
		running := c.State == StateRunning || c.State == StatePaused
		op := Op{Kind: kind, Service: svc, Name: c.Name, Container: c}
		switch {
		case kind == OpStart && !running:
		case kind == OpRemove && (!running || req.Force):
			op.Reason = "rm"
		case kind == OpUnpause && c.State == StatePaused:
		case kind == OpPause && c.State == StateRunning:
		case kind == OpPause && c.State == StatePaused:
			// As the Docker engine (and so docker compose) refuses it.
			return nil, fmt.Errorf("container %s is already paused", c.Name)
		case kind == OpStop, kind == OpRestart:
			// Stopped ones too: compose prints "Container x  Stopped" for
			// each container stop selects, running or not; restart starts
			// a stopped one.
		case kind == OpKill && running:
			op.Reason = req.Signal
			if op.Reason == "" {
				op.Reason = "SIGKILL"
			}
		default:
			continue
		}
		plan.Services[svc] = append(plan.Services[svc], op)
	}
	if kind == OpKill && req.RemoveOrphans {
		known := knownServices(p)
		for i := range observed {
			c := &observed[i]
			if !c.Labels.OneOff() && !known[c.Labels.Service()] {
				plan.Extra = append(plan.Extra, Op{Kind: OpRemove, Service: c.Labels.Service(), Name: c.Name, Container: c, Reason: "orphan"})
			}
		}
		sort.Slice(plan.Extra, func(i, j int) bool { return plan.Extra[i].Name < plan.Extra[j].Name })
	}
	if kind == OpRemove && req.Volumes {
		plan.Extra = append(plan.Extra, anonVolumesOf(plan)...)
	}
	return plan, nil
}

// anonVolumesOf are the ops removing the anonymous volumes of the
// containers the plan removes, once they are gone: each belongs to its
// container alone (the one that replaces it is given it, not shares it).
func anonVolumesOf(plan *Plan) []Op {
	var names []string
	for _, ops := range plan.Services {
		for _, op := range ops {
			if op.Kind != OpRemove || op.Container == nil {
				continue
			}
			for _, name := range op.Container.Labels.AnonVolumes() {
				names = append(names, name)
			}
		}
	}
	sort.Strings(names)
	out := make([]Op, 0, len(names))
	for _, name := range names {
		out = append(out, Op{Kind: OpRemoveVolume, Name: name})
	}
	return out
}

// Lifecycle stops, starts or kills the project's existing containers. It
// creates nothing: services without containers are left to up. restart
// restarts each container (stopped ones are started) service by service,
// dependencies first, as docker compose does: a service waits only for
// the dependencies it declares with restart: true (see restartProject),
// and the services depending on a named one that way restart with it
// unless NoDeps.
func Lifecycle(ctx context.Context, p *compose.Project, rt Runtime, nw Network, ev Events, kind OpKind, req LifecycleRequest) error {
	p, g, plan, err := planLifecycle(ctx, p, rt, kind, req)
	if err != nil {
		return err
	}
	ex := &Executor{Project: p, Runtime: rt, Network: nw, Events: ev, Parallel: req.Parallel, StopTimeout: req.Timeout}
	if err := ex.Execute(ctx, plan, g); err != nil {
		return fmt.Errorf("%s: %w", kind, err)
	}
	return nil
}

// planLifecycle observes the project and decides what Lifecycle does,
// changing nothing: rt is only read. It returns the project as the plan
// walks it (restart's differs, see restartProject).
func planLifecycle(ctx context.Context, p *compose.Project, rt containerLister, kind OpKind, req LifecycleRequest) (*compose.Project, *Graph, *Plan, error) {
	if kind == OpRestart {
		if req.Services != nil && !req.NoDeps {
			req.Services = RestartDependents(p, req.Services)
		}
		p = restartProject(p)
	}
	g, observed, err := observe(ctx, p, rt)
	if err != nil {
		return nil, nil, nil, err
	}
	plan, err := PlanLifecycle(p, observed, g, kind, req)
	if err != nil {
		return nil, nil, nil, err
	}
	if (kind == OpStart || kind == OpRestart) && len(observed) > 0 {
		// Its background process supervises what starts (and it
		// died with the machine, after a reboot).
		plan.Prepare = []Op{{Kind: OpCreateNetworks, Name: p.Name}}
	}
	return p, g, plan, nil
}

// restartProject is p as restart walks it: each service's depends_on
// reduced to the dependencies declared with restart: true, the only ones
// a restart orders by and waits for (docker compose drops the others).
// p itself is left as it is.
func restartProject(p *compose.Project) *compose.Project {
	out := *p
	out.Services = make([]*compose.Service, len(p.Services))
	for i, s := range p.Services {
		c := *s
		c.DependsOn = nil
		for name, d := range s.DependsOn {
			if !d.Restart {
				continue
			}
			if c.DependsOn == nil {
				c.DependsOn = map[string]compose.Dependency{}
			}
			c.DependsOn[name] = d
		}
		out.Services[i] = &c
	}
	return &out
}

// RemoveOneOff removes the project's container id as it is now, stopping
// it first if it still runs (berth run --rm, after the command: the state
// the container was created in says nothing then, and an interrupted run
// leaves it running). A container that is gone already is no error.
func RemoveOneOff(ctx context.Context, p *compose.Project, rt Runtime, nw Network, id string) error {
	cs, err := rt.Containers(ctx, p.Name)
	if err != nil {
		return fmt.Errorf("remove container %s: %w", id, err)
	}
	for _, c := range cs {
		if c.ID == id {
			ex := &Executor{Project: p, Runtime: rt, Network: nw, Events: Discard}
			return ex.remove(ctx, c)
		}
	}
	return nil
}

// containerRemover and namespaceRemover are what RemoveExited needs of
// the runtime and the network layer.
type (
	containerRemover interface {
		Remove(ctx context.Context, c Container) error
	}
	namespaceRemover interface {
		Disconnect(ctx context.Context, project, container string) error
		DeleteNamespace(ctx context.Context, project, name string) error
	}
)

// RemoveExited removes a container that has exited, with its network
// namespace: what the project's supervisor does with a one-off of
// run --rm -d once it exits. The container goes last, as docker's: once
// it is no longer listed, nothing of it is left (a script that waits for
// it to go may then check its ports, addresses and namespaces), and a
// failure leaves it listed for rm to finish.
func RemoveExited(ctx context.Context, rt containerRemover, nw namespaceRemover, c Container) error {
	if err := nw.Disconnect(ctx, c.Labels.Project(), c.ID); err != nil {
		return err
	}
	if err := nw.DeleteNamespace(ctx, c.Labels.Project(), c.ID); err != nil {
		return err
	}
	return rt.Remove(ctx, c)
}

// ServiceContainer finds replica index (from 1) of a service among the
// project's containers, for exec and the like; it must be running. Index
// 0 is the service's first running container, as docker compose picks
// it: the replicas by number, then its one-offs (run -d).
func ServiceContainer(ctx context.Context, rt Runtime, p *compose.Project, service string, index int) (Container, error) {
	if index == 0 {
		return firstRunning(ctx, rt, p, service)
	}
	c, err := ServiceReplica(ctx, rt, p, service, index)
	var missing noReplicaError
	switch {
	case errors.As(err, &missing):
		// docker compose's words first: scripts match them.
		return Container{}, fmt.Errorf("service %q is not running container #%d: run berth up -d %s first", service, index, service)
	case err != nil:
		return Container{}, err
	case c.State != StateRunning:
		return Container{}, fmt.Errorf("service %q is not running container #%d (container %s is %s): start it with berth up -d %s", service, index, c.Name, c.State, service)
	}
	return c, nil
}

// noReplicaError is ServiceReplica's error for a replica that does not exist.
type noReplicaError struct {
	service string
	index   int
}

func (e noReplicaError) Error() string {
	return fmt.Sprintf("service %q has no container %d: run berth up -d %s first", e.service, e.index, e.service)
}

// firstRunning is ServiceContainer's pick for index 0.
func firstRunning(ctx context.Context, rt Runtime, p *compose.Project, service string) (Container, error) {
	if p.Service(service) == nil {
		return Container{}, unknownService(p, service)
	}
	cs, err := rt.Containers(ctx, p.Name)
	if err != nil {
		return Container{}, err
	}
	var running []Container
	for _, c := range cs {
		if c.Labels.Service() == service && c.State == StateRunning {
			running = append(running, c)
		}
	}
	if len(running) == 0 {
		return Container{}, fmt.Errorf("service %q is not running: start it with berth up -d %s", service, service)
	}
	sort.SliceStable(running, func(i, j int) bool {
		a, b := running[i], running[j]
		if a.Labels.OneOff() != b.Labels.OneOff() {
			return !a.Labels.OneOff()
		}
		if a.Labels.OneOff() {
			return a.Created.Before(b.Created)
		}
		return a.Labels.Number() < b.Labels.Number()
	})
	return running[0], nil
}

// ServiceReplica finds replica index (from 1) of a service among the
// project's containers (one-offs left out), in whatever state it is: cp
// works on stopped containers too.
func ServiceReplica(ctx context.Context, rt Runtime, p *compose.Project, service string, index int) (Container, error) {
	// A project known by name only (no compose file) is checked by its
	// containers' labels alone.
	if len(p.Services) > 0 && p.Service(service) == nil {
		return Container{}, unknownService(p, service)
	}
	cs, err := rt.Containers(ctx, p.Name)
	if err != nil {
		return Container{}, err
	}
	for _, c := range cs {
		if c.Labels.Service() == service && c.Labels.Number() == index && !c.Labels.OneOff() {
			return c, nil
		}
	}
	return Container{}, noReplicaError{service: service, index: index}
}

// ServiceReplicas are the containers of a service, in whatever state, by
// replica number, then its one-off containers (berth run) when oneOffs:
// what cp copies into. A service without any is an error.
func ServiceReplicas(ctx context.Context, rt Runtime, p *compose.Project, service string, oneOffs bool) ([]Container, error) {
	if p.Service(service) == nil {
		return nil, unknownService(p, service)
	}
	cs, err := rt.Containers(ctx, p.Name)
	if err != nil {
		return nil, err
	}
	var out, runs []Container
	for _, c := range cs {
		switch {
		case c.Labels.Service() != service:
		case !c.Labels.OneOff() || oneOffs:
			out = append(out, c)
		default:
			runs = append(runs, c)
		}
	}
	if len(out) == 0 {
		// A service that has only one-offs (run -d) is reached in them,
		// as exec reaches it.
		out = runs
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no container found for service %q: run berth up -d %s first", service, service)
	}
	sort.Slice(out, func(i, j int) bool {
		if a, b := out[i].Labels.OneOff(), out[j].Labels.OneOff(); a != b {
			return b
		}
		if a, b := out[i].Labels.Number(), out[j].Labels.Number(); a != b {
			return a < b
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// ServiceContainers are the containers of cs of the given services (all
// when none are given), one-offs left out, sorted by name: what logs and
// attached up show.
func ServiceContainers(cs []Container, services []string) []Container {
	var out []Container
	for _, c := range cs {
		if c.Labels.OneOff() || (len(services) > 0 && !slices.Contains(services, c.Labels.Service())) {
			continue
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// RunningContainers are the ServiceContainers whose processes exist
// (running or paused): what top and stats look at.
func RunningContainers(cs []Container, services []string) []Container {
	var out []Container
	for _, c := range ServiceContainers(cs, services) {
		if c.State == StateRunning || c.State == StatePaused {
			out = append(out, c)
		}
	}
	return out
}

// ProjectSummary is one project as berth ls shows it.
type ProjectSummary struct {
	Name string `json:"Name"`
	// Status counts containers by state: "running(2), exited(1)".
	Status      string `json:"Status"`
	ConfigFiles string `json:"ConfigFiles"`
	// Running counts the containers whose processes exist (running or
	// paused): ls leaves out projects without any.
	Running int `json:"-"`
}

// SummarizeProjects groups containers by project, sorted by name.
func SummarizeProjects(cs []Container) []ProjectSummary {
	type acc struct {
		states map[State]int
		files  string
	}
	byName := map[string]*acc{}
	for _, c := range cs {
		name := c.Labels.Project()
		if name == "" || c.Labels.OneOff() {
			continue
		}
		a := byName[name]
		if a == nil {
			a = &acc{states: map[State]int{}}
			byName[name] = a
		}
		a.states[c.State]++
		if f := c.Labels[compose.LabelConfigFiles]; f != "" {
			a.files = f
		}
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]ProjectSummary, 0, len(names))
	for _, n := range names {
		a := byName[n]
		var parts []string
		for _, st := range []State{StateRunning, StatePaused, StateCreated, StateExited, StateUnknown} {
			if k := a.states[st]; k > 0 {
				parts = append(parts, fmt.Sprintf("%s(%d)", st, k))
			}
		}
		out = append(out, ProjectSummary{Name: n, Status: strings.Join(parts, ", "), ConfigFiles: a.files,
			Running: a.states[StateRunning] + a.states[StatePaused]})
	}
	return out
}
