package scheduler

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/berth/berth/compose"
)

// RunRequest is a one-off command in a new container of a service (berth
// run).
type RunRequest struct {
	Service string
	// Command and Entrypoint replace the service's when not nil.
	Command, Entrypoint []string
	// Env adds to the service's environment.
	Env     map[string]string
	User    string
	WorkDir string
	// NoDeps does not start the services it depends on.
	NoDeps bool
	// ServicePorts publishes the service's ports (off by default, as in
	// docker compose: the service may be running beside it).
	ServicePorts bool
	// Ports are extra ports to publish.
	Ports []compose.PortMapping
	// Mounts are extra volumes (run -v); one at a target the service
	// already mounts something on replaces that.
	Mounts []compose.Mount
	// TTY gives the process a terminal; Interactive keeps stdin open:
	// attached it is the caller's, Detached it is held open as stdin_open
	// does.
	TTY, Interactive, Detached bool
	// Name is the container's name; "" makes <project>-<service>-run-<id>.
	Name string
	// CapAdd and CapDrop add to the service's cap_add and cap_drop.
	CapAdd, CapDrop []string
	// Labels add to the service's labels.
	Labels map[string]string
	// UseAliases gives the one-off the service's names on its networks
	// (the service name and its aliases), so that it is reached as the
	// service is; without it only its container name resolves to it, as
	// docker compose run does.
	UseAliases bool
	// PullPolicy overrides the service's pull_policy when not "".
	PullPolicy compose.PullPolicy
	// Builder, when not nil, builds the service's image first: when it
	// is missing, or always with Build.
	Builder      Builder
	Build        bool
	BuildOptions BuildOptions
	// AutoRemove has the project's supervisor remove the container once
	// it exits (run --rm -d: berth run has returned by then).
	AutoRemove bool
	// RemoveOrphans removes the project's orphans first: containers of
	// services not in the project, and one-offs that exited. Otherwise
	// they are named in a warning, unless IgnoreOrphans.
	RemoveOrphans, IgnoreOrphans bool
}

// CreateOneOff starts the services the one-off's service depends on
// (unless NoDeps; they are brought up as up would) and creates, without
// starting, its container. The caller starts it attached, and removes it
// with RemoveContainer when asked to.
func CreateOneOff(ctx context.Context, p *compose.Project, rt Runtime, nw Network, ev Events, req RunRequest) (Container, error) {
	base := p.Service(req.Service)
	if base == nil {
		return Container{}, unknownService(p, req.Service)
	}
	if ev == nil {
		ev = Discard
	}
	g, err := NewGraph(p)
	if err != nil {
		return Container{}, err
	}
	var deps []string
	for _, d := range g.WithDependencies([]string{req.Service}) {
		if d != req.Service {
			deps = append(deps, d)
		}
	}
	if err := runOrphans(ctx, p, rt, nw, ev, req); err != nil {
		return Container{}, err
	}
	if req.Builder != nil {
		// The services it depends on are built here too (once), as up
		// builds what it starts: their up below builds nothing.
		services := []string{req.Service}
		if !req.NoDeps {
			services = append(services, deps...)
		}
		bo := req.BuildOptions
		bo.Missing = !req.Build
		if err := Build(ctx, p, rt, req.Builder, services, bo); err != nil {
			return Container{}, err
		}
	}
	if !req.NoDeps && len(deps) > 0 {
		if _, err := Up(ctx, p, rt, nw, ev, UpOptions{ReconcileOptions: ReconcileOptions{Services: deps, IgnoreOrphans: true}}); err != nil {
			return Container{}, fmt.Errorf("start the services %s depends on: %w", req.Service, err)
		}
	}
	if !req.NoDeps {
		deps := &Executor{Project: p, Runtime: rt, Network: nw, Events: ev}
		if err := deps.waitDependencies(ctx, base, g); err != nil {
			return Container{}, err
		}
	}

	s := oneOffService(base, req)
	one := *p
	one.Services = []*compose.Service{s}
	name := req.Name
	if name == "" {
		b := make([]byte, 6)
		rand.Read(b) //nolint:errcheck // crypto/rand does not fail on Linux
		name = s.OneOffName(hex.EncodeToString(b))
	}
	if err := nw.EnsureNetworks(ctx, &one); err != nil {
		return Container{}, err
	}
	ex := &Executor{Project: &one, Runtime: rt, Network: nw, Events: ev, NoStart: true}
	if err := ex.run(ctx, Op{Kind: OpEnsureImage, Service: s.Name, Name: s.ImageName()}); err != nil {
		return Container{}, err
	}
	c, err := ex.createContainer(ctx, Op{Kind: OpCreate, Service: s.Name, Name: name, Number: 1, OneOff: true, Reason: "run"})
	if err != nil {
		// The volumes its creation made (run -v new:/x) go with it.
		return Container{}, releaseVolumes(ctx, rt, err)
	}
	return c, nil
}

// runOrphans warns about the project's orphans, or removes them when
// asked, as docker compose does before a run: the containers of services
// not in the project, and the one-offs that exited.
func runOrphans(ctx context.Context, p *compose.Project, rt Runtime, nw Network, ev Events, req RunRequest) error {
	if req.IgnoreOrphans && !req.RemoveOrphans {
		return nil
	}
	cs, err := rt.Containers(ctx, p.Name)
	if err != nil {
		return err
	}
	known := knownServices(p)
	var orphans []Container
	for _, c := range cs {
		if c.Labels.OneOff() && c.State == StateExited || !c.Labels.OneOff() && !known[c.Labels.Service()] {
			orphans = append(orphans, c)
		}
	}
	sort.Slice(orphans, func(i, j int) bool { return orphans[i].Name < orphans[j].Name })
	if len(orphans) == 0 {
		return nil
	}
	if !req.RemoveOrphans {
		names := make([]string, len(orphans))
		for i, c := range orphans {
			names[i] = c.Name
		}
		ev.Emit(Event{Kind: KindService, Status: StatusWarning, Text: "Warning", Detail: OrphanWarning(names)})
		return nil
	}
	ex := &Executor{Project: p, Runtime: rt, Network: nw, Events: ev}
	for _, c := range orphans {
		if err := ex.run(ctx, Op{Kind: OpRemove, Service: c.Labels.Service(), Name: c.Name, Container: &c, Reason: "orphan"}); err != nil {
			return err
		}
	}
	return nil
}

// OrphanWarning is docker compose's warning about orphan containers,
// word for word (scripts look for it).
func OrphanWarning(names []string) string {
	return fmt.Sprintf("Found orphan containers ([%s]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.", strings.Join(names, " "))
}

// oneOffService is the service as berth run runs it: its command, no
// container_name, no restart policy, its ports only when asked.
func oneOffService(base *compose.Service, req RunRequest) *compose.Service {
	s := *base
	s.ContainerName = ""
	s.Replicas = 1
	s.Restart = compose.RestartPolicy{Condition: compose.RestartNo}
	if req.Command != nil {
		s.Command = req.Command
	}
	if req.Entrypoint != nil {
		s.Entrypoint = req.Entrypoint
	}
	s.Environment = maps.Clone(base.Environment)
	for k, v := range req.Env {
		s.Environment[k] = &v
	}
	if req.User != "" {
		s.User = req.User
	}
	if req.WorkDir != "" {
		s.WorkingDir = req.WorkDir
	}
	if !req.ServicePorts {
		s.Ports = nil
	}
	s.Ports = append(append([]compose.PortMapping{}, s.Ports...), req.Ports...)
	if len(req.Mounts) > 0 {
		var mounts []compose.Mount
		for _, m := range s.Mounts {
			if !slices.ContainsFunc(req.Mounts, func(r compose.Mount) bool { return r.Target == m.Target }) {
				mounts = append(mounts, m)
			}
		}
		s.Mounts = append(mounts, req.Mounts...)
	}
	s.Tty, s.StdinOpen = req.TTY, req.Interactive && req.Detached
	s.CapAdd = append(slices.Clone(s.CapAdd), req.CapAdd...)
	s.CapDrop = append(slices.Clone(s.CapDrop), req.CapDrop...)
	if len(req.Labels) > 0 || req.AutoRemove {
		s.Labels = maps.Clone(s.Labels)
		if s.Labels == nil {
			s.Labels = map[string]string{}
		}
		maps.Copy(s.Labels, req.Labels)
		if req.AutoRemove {
			s.Labels[compose.LabelAutoRemove] = "true"
		}
	}
	if req.PullPolicy != "" {
		s.PullPolicy = req.PullPolicy
	}
	s.NoServiceNames = !req.UseAliases
	return &s
}
