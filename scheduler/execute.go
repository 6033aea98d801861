package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/containerd/errdefs"

	"github.com/berth/berth/compose"
)

// Executor carries out plans. It decides nothing: every choice is in the plan.
type Executor struct {
	Project *compose.Project
	Runtime Runtime
	Network Network
	Events  Events
	// Parallel bounds how many services are worked on at once; < 1 is unlimited.
	Parallel int
	// NoStart creates containers without starting them.
	NoStart bool
	// StopTimeout overrides the services' stop grace periods when not nil.
	StopTimeout *time.Duration
	// NoDeps starts services without waiting for their dependencies.
	NoDeps bool
	// RenewAnonVolumes gives recreated containers new anonymous volumes
	// instead of those of the containers they replace (up -V).
	RenewAnonVolumes bool
	// networksAhead, when set, is making the project's networks already
	// (Up starts it while images build): the create-networks op waits for
	// it instead, and then hands it over to projectProcess.
	networksAhead *networksAhead
	// projectProcess, when set, is the start of the project's process,
	// which every task's making waits for (see NetworkStarter).
	projectProcess *networksAhead
}

// startTask is Runtime.Start once the project's process is ready.
func (e *Executor) startTask(ctx context.Context, c Container) error {
	if err := e.projectProcess.ready(ctx); err != nil {
		return err
	}
	return e.Runtime.Start(ctx, c)
}

// Execute runs the plan: the services' ops along the dependency graph, then
// the extra ops, only if every service's succeeded (as docker compose's
// down stops at a container it could not remove: the volumes and networks
// it still uses stay). A service whose dependency failed is skipped. Services
// that wait for others have their new containers prepared meanwhile (see
// prepareAhead). The error names every container that failed.
func (e *Executor) Execute(ctx context.Context, plan *Plan, g *Graph) error {
	if e.Events == nil {
		e.Events = Discard
	}
	for _, op := range plan.Prepare {
		if err := e.run(ctx, op); err != nil {
			return err
		}
	}
	only := plan.Only
	if only == nil {
		for s := range plan.Services {
			only = append(only, s)
		}
	}
	prepared := e.prepareAhead(ctx, plan, g, only)
	var removing removals
	var halts *preparedHalts
	if plan.Order == DependentsFirst {
		halts = e.prepareHalts(ctx, plan, only)
	}
	err := g.Walk(ctx, plan.Order, only, e.Parallel, func(ctx context.Context, service string) error {
		defer prepared.markCreated(service)
		if plan.Order == DependentsFirst {
			// Down: what depends on a container waits for its stop only,
			// not for its removal (see down.go).
			return e.haltAll(ctx, &removing, halts, plan.Services[service])
		}
		if e.waitsForDependencies(plan) && startsContainers(plan.Services[service]) {
			if err := e.waitDependencies(ctx, e.Project.Service(service), g); err != nil {
				return err
			}
		}
		if ok, err := e.startPrepared(ctx, prepared, service, plan.Services[service]); ok {
			return err
		}
		for _, op := range plan.Services[service] {
			if err := e.run(ctx, op); err != nil {
				return err
			}
		}
		return nil
	})
	prepared.finish(ctx, e)
	halts.release(ctx)
	if rerr := removing.wait(); rerr != nil {
		err = errors.Join(err, rerr)
	}
	if err != nil {
		return err
	}
	var extraErrs []error
	for i := 0; i < len(plan.Extra); {
		// Container removals in a row (one-offs, orphans) go at once.
		j := i
		for j < len(plan.Extra) && plan.Extra[j].Kind == OpRemove {
			j++
		}
		if j > i {
			extraErrs = append(extraErrs, e.removeAll(ctx, plan.Extra[i:j])...)
			i = j
			continue
		}
		if err := e.run(ctx, plan.Extra[i]); err != nil {
			extraErrs = append(extraErrs, err)
		}
		i++
	}
	return errors.Join(extraErrs...)
}

// waitsForDependencies reports whether the walk of plan starts services
// only once their dependencies meet their conditions.
func (e *Executor) waitsForDependencies(plan *Plan) bool {
	return plan.Order == DependenciesFirst && !e.NoStart && !e.NoDeps
}

// startsContainers reports whether a service's ops start a container.
func startsContainers(ops []Op) bool {
	for _, op := range ops {
		switch op.Kind {
		case OpCreate, OpRecreate, OpStart, OpRestart, OpRestartDependent:
			return true
		}
	}
	return false
}

func (e *Executor) emit(kind Kind, name string, st Status, text, detail string) {
	e.Events.Emit(Event{Kind: kind, Name: name, Status: st, Text: text, Detail: detail})
}

// step reports one step on a resource: working, then done or an error.
func (e *Executor) step(kind Kind, name, working, done, detail string, do func() error) error {
	e.emit(kind, name, StatusWorking, working, detail)
	if err := do(); err != nil {
		e.emit(kind, name, StatusError, "Error", "")
		return err
	}
	e.emit(kind, name, StatusDone, done, "")
	return nil
}

// quiet runs a step that reports only its failure.
func (e *Executor) quiet(kind Kind, name string, err error) error {
	if err != nil {
		e.emit(kind, name, StatusError, "Error", "")
	}
	return err
}

func (e *Executor) run(ctx context.Context, op Op) error {
	c := op.Container
	switch op.Kind {
	case OpEnsureImage:
		return e.quiet(KindImage, op.Name, e.Runtime.EnsureImage(ctx, e.Project.Service(op.Service)))
	case OpRunning:
		e.emit(KindContainer, op.Name, StatusDone, "Running", "")
		return nil
	case OpStart:
		if e.NoStart { // create, up --no-start: an existing container is left as it is
			e.emit(KindContainer, op.Name, StatusDone, "Created", "")
			return nil
		}
		return e.step(KindContainer, op.Name, "Starting", "Started", "", func() error {
			if err := e.reattach(ctx, *c); err != nil {
				return err
			}
			if err := e.holdPorts(ctx, *c); err != nil {
				return err
			}
			return e.startTask(ctx, e.withHooks(*c))
		})
	case OpCreate:
		return e.create(ctx, op)
	case OpRecreate:
		if err := e.step(KindContainer, op.Name, "Recreate", "Recreated", op.Reason, func() error { return e.remove(ctx, *c) }); err != nil {
			return err
		}
		return e.create(ctx, op)
	case OpRemove:
		return e.step(KindContainer, op.Name, "Stopping", "Removed", op.Reason, func() error { return e.remove(ctx, *c) })
	case OpStop:
		return e.step(KindContainer, op.Name, "Stopping", "Stopped", op.Reason, func() error {
			if err := e.Runtime.Stop(ctx, e.withHooks(*c), e.stopTimeout(*c)); err != nil {
				return err
			}
			if ph, ok := e.Network.(PortHolder); ok {
				return ph.ReleasePorts(ctx, e.Project.Name, c.ID)
			}
			return nil
		})
	case OpRestart:
		return e.step(KindContainer, op.Name, "Restarting", "Started", op.Reason, func() error {
			if c.State == StateRunning || c.State == StatePaused {
				if err := e.Runtime.Stop(ctx, e.withHooks(*c), e.stopTimeout(*c)); err != nil {
					return err
				}
			}
			if err := e.reattach(ctx, *c); err != nil {
				return err
			}
			if err := e.holdPorts(ctx, *c); err != nil {
				return err
			}
			return e.startTask(ctx, e.withHooks(*c))
		})
	case OpRestartDependent:
		if err := e.step(KindContainer, op.Name, "Stopping", "Stopped", op.Reason, func() error {
			return e.Runtime.Stop(ctx, e.withHooks(*c), e.stopTimeout(*c))
		}); err != nil {
			return err
		}
		return e.step(KindContainer, op.Name, "Starting", "Started", "", func() error { return e.startTask(ctx, e.withHooks(*c)) })
	case OpKill:
		return e.step(KindContainer, op.Name, "Killing", "Killed", op.Reason, func() error { return e.Runtime.Kill(ctx, *c, op.Reason) })
	case OpPause:
		return e.step(KindContainer, op.Name, "Pausing", "Paused", "", func() error { return e.Runtime.Pause(ctx, *c, true) })
	case OpUnpause:
		return e.step(KindContainer, op.Name, "Unpausing", "Unpaused", "", func() error { return e.Runtime.Pause(ctx, *c, false) })
	case OpCreateNetworks:
		return e.createNetworks(ctx, op.Name)
	case OpRemoveNetworks:
		return e.removeNetworks(ctx, op.Name)
	case OpRemoveNetwork:
		no, ok := e.Network.(NetworkObserver)
		if !ok {
			return fmt.Errorf("network %s: this network layer cannot remove one network", op.Name)
		}
		// As docker compose: one line, once it is gone.
		if err := no.RemoveNetwork(ctx, e.Project.Name, op.Name); err != nil {
			e.emit(KindNetwork, op.Name, StatusError, "Error", "")
			return fmt.Errorf("remove network %s: %w", op.Name, err)
		}
		e.emit(KindNetwork, op.Name, StatusDone, "Removed", "")
		return nil
	case OpDisconnect:
		return e.quiet(KindContainer, op.Name, e.Network.Disconnect(ctx, e.Project.Name, c.ID))
	case OpReconnect:
		return e.quiet(KindContainer, op.Name, e.reconnect(ctx, *c))
	case OpRemoveVolume:
		return e.step(KindVolume, op.Name, "Removing", "Removed", "", func() error { return e.Runtime.RemoveVolume(ctx, op.Name) })
	case OpRemoveImage:
		return e.removeImage(ctx, op.Name)
	}
	return fmt.Errorf("unknown plan operation %q", op.Kind)
}

// createNetworks makes the project's networks. As docker compose does, it
// reports each network that did not exist ("Creating", then "Created") and
// says nothing of those that exist. A network layer that cannot list its
// networks makes them without a word.
func (e *Executor) createNetworks(ctx context.Context, project string) error {
	if a := e.networksAhead; a != nil {
		e.networksAhead = nil // a second op makes them again, as without it
		e.projectProcess = a
		return e.networkSteps(a.names, "Creating", "Created", func() error { return a.wait(ctx) })
	}
	no, ok := e.Network.(NetworkObserver)
	if !ok {
		return e.quiet(KindNetwork, project, e.Network.EnsureNetworks(ctx, e.Project))
	}
	have, err := observedNetworkNames(ctx, no, project)
	if err != nil {
		return err
	}
	var fresh []string
	for _, name := range networksToMake(e.Project) {
		if !have[name] {
			fresh = append(fresh, name)
		}
	}
	return e.networkSteps(fresh, "Creating", "Created", func() error { return e.Network.EnsureNetworks(ctx, e.Project) })
}

// removeNetworks removes the project's networks, reporting each one.
func (e *Executor) removeNetworks(ctx context.Context, project string) error {
	no, ok := e.Network.(NetworkObserver)
	if !ok {
		return e.quiet(KindNetwork, project, e.Network.RemoveNetworks(ctx, project))
	}
	have, err := observedNetworkNames(ctx, no, project)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(have))
	for name := range have {
		names = append(names, name)
	}
	sort.Strings(names)
	return e.networkSteps(names, "Removing", "Removed", func() error { return e.Network.RemoveNetworks(ctx, project) })
}

// networkSteps reports one step done at once on several networks.
func (e *Executor) networkSteps(names []string, working, done string, do func() error) error {
	for _, name := range names {
		e.emit(KindNetwork, name, StatusWorking, working, "")
	}
	if err := do(); err != nil {
		for _, name := range names {
			e.emit(KindNetwork, name, StatusError, "Error", "")
		}
		return err
	}
	for _, name := range names {
		e.emit(KindNetwork, name, StatusDone, done, "")
	}
	return nil
}

func observedNetworkNames(ctx context.Context, no NetworkObserver, project string) (map[string]bool, error) {
	observed, err := no.ObserveNetworks(ctx, project)
	if err != nil {
		return nil, fmt.Errorf("list the networks of project %s: %w", project, err)
	}
	have := make(map[string]bool, len(observed))
	for _, n := range observed {
		have[n.Name] = true
	}
	return have, nil
}

// networksToMake names the networks Network.EnsureNetworks makes for the
// project: those its services use (all of them with --all-resources),
// except external ones. Sorted.
func networksToMake(p *compose.Project) []string {
	keys := map[string]bool{}
	for _, s := range p.Services {
		for _, sn := range s.Networks {
			keys[sn.Key] = true
		}
	}
	if p.AllResources {
		for key := range p.Networks {
			keys[key] = true
		}
	}
	var names []string
	for key := range keys {
		if n, ok := p.Networks[key]; ok && !n.External {
			names = append(names, n.Name)
		}
	}
	sort.Strings(names)
	return names
}

// ImageRemover is what down --rmi needs of the runtime.
type ImageRemover interface {
	// RemoveImage deletes a local image. One a container still uses is
	// kept, with an error satisfying errdefs.IsConflict; a missing one is
	// errdefs.IsNotFound.
	RemoveImage(ctx context.Context, image string) error
}

// removeImage removes an image; one still in use (by another project's
// container) is a warning, as docker compose says "Resource is still in use".
func (e *Executor) removeImage(ctx context.Context, name string) error {
	rm, ok := e.Runtime.(ImageRemover)
	if !ok {
		return fmt.Errorf("remove image %s: this runtime cannot remove images", name)
	}
	e.emit(KindImage, name, StatusWorking, "Removing", "")
	err := rm.RemoveImage(ctx, name)
	switch {
	case errdefs.IsConflict(err):
		e.emit(KindImage, name, StatusWarning, "Resource is still in use", err.Error())
		return nil
	case errdefs.IsNotFound(err):
		e.emit(KindImage, name, StatusDone, "Removed", "")
		return nil
	case err != nil:
		e.emit(KindImage, name, StatusError, "Error", "")
		return err
	}
	e.emit(KindImage, name, StatusDone, "Removed", "")
	return nil
}

// create makes a container with its network namespace and starts it. A
// container this run made and could not start is removed again, with its
// namespace, so that a failed up leaves nothing half-made.
func (e *Executor) create(ctx context.Context, op Op) error {
	c, err := e.createContainer(ctx, op)
	if err != nil || e.NoStart {
		return err
	}
	return e.startNew(ctx, op, c)
}

// createContainer makes a container with its network namespace, or
// nothing when it fails.
func (e *Executor) createContainer(ctx context.Context, op Op) (_ Container, retErr error) {
	s := e.Project.Service(op.Service)
	e.emit(KindContainer, op.Name, StatusWorking, "Creating", op.Reason)
	defer func() {
		if retErr != nil {
			e.emit(KindContainer, op.Name, StatusError, "Error", "")
		}
	}()
	netns, own, err := e.namespaceFor(ctx, s, op.Name)
	if err != nil {
		return Container{}, err
	}
	defer func() {
		if retErr != nil && own {
			// Rollback; the first error is the one to report.
			cleanup := context.WithoutCancel(ctx)
			e.Network.Disconnect(cleanup, e.Project.Name, op.Name)      //nolint:errcheck
			e.Network.DeleteNamespace(cleanup, e.Project.Name, op.Name) //nolint:errcheck
		}
	}()
	var nameservers []string
	if own {
		if nameservers, err = e.Network.Connect(ctx, e.Project, s, op.Name, netns); err != nil {
			return Container{}, err
		}
	}
	req := CreateRequest{Project: e.Project, Service: s, Number: op.Number, Name: op.Name, NetNS: netns, DNS: nameservers, OneOff: op.OneOff,
		AnonVolumes: anonVolumes(s, op.Container, e.RenewAnonVolumes)}
	if len(nameservers) > 0 {
		req.HostGateway = nameservers[0] // berth's DNS listens on the network's gateway, the host's address there
	}
	c, err := e.Runtime.Create(ctx, req)
	if err != nil {
		return Container{}, err
	}
	e.emit(KindContainer, op.Name, StatusDone, "Created", "")
	return c, nil
}

// startNew starts a container this run created (prepared or not); one
// that fails is removed again with its namespace.
func (e *Executor) startNew(ctx context.Context, op Op, c Container) error {
	err := e.step(KindContainer, op.Name, "Starting", "Started", "", func() error { return e.startTask(ctx, c) })
	if err != nil {
		if rerr := e.discard(ctx, c); rerr != nil {
			return fmt.Errorf("%w (and removing the container failed: %v)", err, rerr)
		}
	}
	return err
}

// discard removes a container this run created and did not start, with
// its namespace, even when ctx has ended.
func (e *Executor) discard(ctx context.Context, c Container) error {
	return e.remove(context.WithoutCancel(ctx), c)
}

// reattach gives a stopped container its network namespace and networks
// back when they are gone, as after a reboot of the host: the namespace
// is made again at the same path and joined to the same networks, with the
// same addresses (the allocations outlive the reboot).
func (e *Executor) reattach(ctx context.Context, c Container) error {
	s := e.Project.Service(c.Labels.Service())
	if s == nil || c.Labels.NetNSPath() == "" || s.NetworkMode == "host" || strings.HasPrefix(s.NetworkMode, "service:") {
		return nil
	}
	ok, err := e.Network.NamespaceExists(ctx, e.Project.Name, c.ID)
	if err != nil || ok {
		return err
	}
	if e.Project.FromLabels {
		// The labels do not tell its networks: it would start unconnected.
		return fmt.Errorf("container %s: its network namespace is gone (did the host restart?): start it with berth up from its compose file", c.Name)
	}
	path, err := e.Network.CreateNamespace(ctx, e.Project.Name, c.ID)
	if err != nil {
		return fmt.Errorf("container %s: %w", c.Name, err)
	}
	if path != c.Labels.NetNSPath() {
		e.Network.DeleteNamespace(context.WithoutCancel(ctx), e.Project.Name, c.ID) //nolint:errcheck // the error below matters
		return fmt.Errorf("container %s: its network namespace was %s, now %s: recreate it with up --force-recreate", c.Name, c.Labels.NetNSPath(), path)
	}
	if _, err := e.Network.Connect(ctx, e.Project, s, c.ID, path); err != nil {
		return fmt.Errorf("container %s: %w", c.Name, err)
	}
	return nil
}

// PortHolder is a network layer that holds a container's published host
// ports only while it runs, as Docker's proxy does: a stopped container's
// are free for other programs, and taken again when it starts.
type PortHolder interface {
	// ReleasePorts frees the host ports of a container that stopped; it
	// keeps them noted as the container's for its next start.
	ReleasePorts(ctx context.Context, project, container string) error
	// HoldPorts takes them again before the container starts; one that
	// another program took fails, naming the port and its holder.
	HoldPorts(ctx context.Context, project, container string) error
}

// holdPorts takes a container's host ports again before it starts.
func (e *Executor) holdPorts(ctx context.Context, c Container) error {
	if ph, ok := e.Network.(PortHolder); ok {
		return ph.HoldPorts(ctx, e.Project.Name, c.ID)
	}
	return nil
}

// reconnect puts a container a network recreation took off its networks
// back on them, in the namespace it kept, and writes its resolv.conf and
// hosts again: the networks' gateways (berth's DNS server) may have moved.
func (e *Executor) reconnect(ctx context.Context, c Container) error {
	s := e.Project.Service(c.Labels.Service())
	if s == nil || c.Labels.NetNSPath() == "" {
		return nil
	}
	nameservers, err := e.Network.Connect(ctx, e.Project, s, c.ID, c.Labels.NetNSPath())
	if err != nil {
		return fmt.Errorf("container %s: %w", c.Name, err)
	}
	if w, ok := e.Runtime.(EtcWriter); ok {
		if err := w.WriteEtc(ctx, c, s, nameservers); err != nil {
			return fmt.Errorf("container %s: %w", c.Name, err)
		}
	}
	return nil
}

// EtcWriter is a runtime that writes a container's /etc/resolv.conf and
// /etc/hosts again for new nameservers (the first is also its
// host-gateway), as a network it is on was made again.
type EtcWriter interface {
	WriteEtc(ctx context.Context, c Container, s *compose.Service, nameservers []string) error
}

// namespaceFor returns the network namespace a new container joins and
// whether the container owns it: its own new one, the host's (""), or
// that of replica 1 of another service (network_mode: service:X).
func (e *Executor) namespaceFor(ctx context.Context, s *compose.Service, name string) (string, bool, error) {
	mode := s.NetworkMode
	switch {
	case mode == "host":
		return "", false, nil
	case strings.HasPrefix(mode, "service:"):
		target := strings.TrimPrefix(mode, "service:")
		cs, err := e.Runtime.Containers(ctx, e.Project.Name)
		if err != nil {
			return "", false, err
		}
		for _, c := range cs {
			if c.Labels.Service() == target && !c.Labels.OneOff() && c.Labels.Number() == 1 && c.Labels.NetNSPath() != "" {
				return c.Labels.NetNSPath(), false, nil
			}
		}
		return "", false, fmt.Errorf("service %q: network_mode %q: service %q has no container with a network namespace", s.Name, mode, target)
	case strings.HasPrefix(mode, "container:"):
		return "", false, fmt.Errorf("service %q: network_mode %q is not supported yet: use service:NAME for a service of this project", s.Name, mode)
	case mode == "", mode == "none", mode == "bridge", mode == "default":
		path, err := e.Network.CreateNamespace(ctx, e.Project.Name, name)
		if err != nil {
			return "", false, fmt.Errorf("service %q: %w", s.Name, err)
		}
		return path, true, nil
	}
	return "", false, fmt.Errorf("service %q: network_mode %q is not supported", s.Name, mode)
}

// stopTimeout is how long a stop of c waits before killing it: its grace
// period, or the executor's timeout.
func (e *Executor) stopTimeout(c Container) time.Duration {
	timeout := compose.DefaultStopGracePeriod
	if d, err := time.ParseDuration(c.Labels[compose.LabelStopGrace]); err == nil {
		timeout = d
	}
	if e.StopTimeout != nil {
		timeout = *e.StopTimeout
	}
	return timeout
}

// withHooks gives c the post_start and pre_stop hooks of its service in
// the compose file, when the project comes from one (see Container.PreStop
// and PostStart): docker compose runs those, not the ones the container
// was created with.
func (e *Executor) withHooks(c Container) Container {
	if e.Project == nil || e.Project.FromLabels {
		return c
	}
	s := e.Project.Service(c.Labels.Service())
	if s == nil {
		return c
	}
	c.PreStop, c.PostStart = []compose.Hook{}, []compose.Hook{}
	if len(s.PreStop) > 0 {
		c.PreStop = s.PreStop
	}
	if len(s.PostStart) > 0 {
		c.PostStart = s.PostStart
	}
	return c
}

// remove stops a container, removes it, takes it off its networks and
// deletes its network namespace. Once its process is gone, the runtime's
// part (its task and shim, its snapshot) and the network's (veths,
// addresses, namespace) wait for nothing of each other: they run at
// once, and both have been done, or tried, when it returns. A container
// whose runtime removal failed stays without its namespace, which its
// next start makes again (see reattach).
func (e *Executor) remove(ctx context.Context, c Container) error {
	if c.State == StateRunning || c.State == StatePaused {
		if err := e.Runtime.Stop(ctx, e.withHooks(c), e.stopTimeout(c)); err != nil {
			return err
		}
	}
	left := make(chan error, 1)
	go func() { left <- e.leaveNetworks(ctx, c) }()
	err := e.Runtime.Remove(ctx, c)
	if nerr := <-left; nerr != nil {
		return errors.Join(err, nerr)
	}
	return err
}

// leaveNetworks takes a container whose process is gone off its networks
// and deletes its network namespace.
func (e *Executor) leaveNetworks(ctx context.Context, c Container) error {
	if err := e.Network.Disconnect(ctx, c.Labels.Project(), c.ID); err != nil {
		return err
	}
	return e.Network.DeleteNamespace(ctx, c.Labels.Project(), c.ID)
}
