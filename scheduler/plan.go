package scheduler

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/berth/berth/compose"
)

// OpKind is the kind of a plan operation.
type OpKind string

const (
	// OpEnsureImage makes the service's image available (pull per policy).
	OpEnsureImage OpKind = "ensure-image"
	// OpCreate creates and starts a new container.
	OpCreate OpKind = "create"
	// OpRecreate replaces a container whose configuration changed.
	OpRecreate OpKind = "recreate"
	// OpStart starts an existing, stopped container.
	OpStart OpKind = "start"
	// OpRunning leaves a running, up-to-date container alone.
	OpRunning OpKind = "running"
	// OpRemove stops and removes a container (scale down, orphans, down).
	OpRemove OpKind = "remove"
	// OpRemoveVolume removes a named volume (down -v).
	OpRemoveVolume OpKind = "remove-volume"
	// OpRemoveImage removes an image of the project's services (down --rmi).
	OpRemoveImage OpKind = "remove-image"
	// OpCreateNetworks creates the project's networks before any container.
	OpCreateNetworks OpKind = "create-networks"
	// OpRemoveNetwork removes one network whose configuration changed.
	OpRemoveNetwork OpKind = "remove-network"
	// OpDisconnect and OpReconnect take a kept container off its networks
	// and back on them, around the remaking of a network (recreate.go).
	OpDisconnect OpKind = "disconnect"
	OpReconnect  OpKind = "reconnect"
	// OpRemoveNetworks removes the project's networks after its containers.
	OpRemoveNetworks OpKind = "remove-networks"
	// OpStop stops a running container (stop, restart).
	OpStop OpKind = "stop"
	// OpRestart stops a container if it runs, then starts it (restart),
	// reported as docker compose's restart does: Restarting, Started.
	OpRestart OpKind = "restart"
	// OpRestartDependent stops and starts a running container: a dependent
	// with depends_on restart: true whose dependency up replaced, reported
	// as docker compose's up does (Stopping, Stopped, Starting, Started).
	OpRestartDependent OpKind = "restart-dependent"
	// OpKill sends a signal to a running container.
	OpKill OpKind = "kill"
	// OpPause freezes a running container; OpUnpause thaws it.
	OpPause   OpKind = "pause"
	OpUnpause OpKind = "unpause"
)

// Op is one step of a plan, with the reason it exists.
type Op struct {
	Kind    OpKind
	Service string
	// Name is the container (or volume) the op is about.
	Name string
	// Number is the replica number of a created container.
	Number int
	// Container is the existing container a start, recreate or remove acts on.
	Container *Container
	Reason    string
	// OneOff creates a one-off container (berth run).
	OneOff bool
}

// String renders the op for golden tests and debugging.
func (o Op) String() string {
	s := fmt.Sprintf("%s %s", o.Kind, o.Name)
	if o.Reason != "" {
		s += " (" + o.Reason + ")"
	}
	return s
}

// changes reports whether the op changes anything a user would call a
// change: network upkeep alone is not one.
func (o Op) changes() bool {
	return o.Kind != OpRunning && o.Kind != OpCreateNetworks && o.Kind != OpRemoveNetworks
}

// Plan is what up or down will do: per service, a sequence of ops run in
// order, the services walked along the dependency graph; then ops that
// belong to no service (orphans, volumes).
type Plan struct {
	// Before are what a dry run of up shows up does before it plans:
	// builds and pulls (see DryRunUp). The executor never sees them.
	Before []Op
	// Prepare ops run first: the project's networks.
	Prepare []Op
	// Services maps a service to its ops.
	Services map[string][]Op
	// Order is the walk direction of Services.
	Order Direction
	// Only are the services walked; nil means all that have ops.
	Only []string
	// Extra ops run after the services, when all of theirs succeeded:
	// orphans, volumes, networks, images.
	Extra []Op
	// Warnings are things the user should know that change nothing.
	Warnings []string
}

// Changes reports whether executing the plan would change anything.
func (p *Plan) Changes() bool {
	for _, ops := range p.Services {
		for _, op := range ops {
			if op.changes() {
				return true
			}
		}
	}
	for _, op := range slices.Concat(p.Before, p.Prepare, p.Extra) {
		if op.changes() {
			return true
		}
	}
	return false
}

// String renders the plan as text, one op a line, services in name order
// with what they wait for: the golden form of plan tests.
func (p *Plan) String() string {
	var b strings.Builder
	for _, op := range slices.Concat(p.Before, p.Prepare) {
		fmt.Fprintf(&b, "%s\n", op)
	}
	names := make([]string, 0, len(p.Services))
	for s := range p.Services {
		names = append(names, s)
	}
	sort.Strings(names)
	for _, s := range names {
		for _, op := range p.Services[s] {
			fmt.Fprintf(&b, "%s: %s\n", s, op)
		}
	}
	for _, op := range p.Extra {
		fmt.Fprintf(&b, "%s\n", op)
	}
	for _, w := range p.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	return b.String()
}

// ReconcileOptions are up's choices.
type ReconcileOptions struct {
	// Services restricts up to these services and their dependencies; nil is all.
	Services []string
	// ForceRecreate recreates containers even when their configuration is unchanged.
	ForceRecreate bool
	// NoRecreate keeps existing containers even when their configuration changed.
	NoRecreate bool
	// RemoveOrphans removes containers of services no longer in the project.
	RemoveOrphans bool
	// IgnoreOrphans keeps quiet about them (run warns about orphans itself).
	IgnoreOrphans bool
	// NoDeps leaves the dependencies of Services alone (up --no-deps).
	NoDeps bool
	// AlwaysRecreateDeps recreates the containers of the services that
	// Services depend on but do not name, even when their configuration
	// is unchanged (up --always-recreate-deps). Without Services every
	// service is named, so it changes nothing, as in docker compose.
	AlwaysRecreateDeps bool
	// ImageIDs are the IDs of the services' images as they are now, by
	// service; a container made from another image is recreated.
	ImageIDs map[string]string
	// Pulled are the services whose image up has just pulled: their new
	// containers need no ensure-image step.
	Pulled map[string]bool
	// forceReason is the reason of a forced recreate when it is not
	// --force-recreate.
	forceReason string
	// Networks are the project's networks as made: one whose config hash
	// changed is recreated, with the containers on it.
	Networks []ObservedNetwork
	// RecreateVolumes are the volumes whose configuration changed that the
	// user agreed to recreate (their data is lost), with the containers
	// mounting them.
	RecreateVolumes []string
}

// Reconcile compares the project's services with the observed containers
// and returns the plan that makes them match. It is a pure function.
func Reconcile(p *compose.Project, observed []Container, g *Graph, opts ReconcileOptions) (*Plan, error) {
	if opts.ForceRecreate && opts.NoRecreate {
		return nil, fmt.Errorf("--force-recreate and --no-recreate cannot be used together")
	}
	services := g.Services()
	if opts.Services != nil {
		for _, s := range opts.Services {
			if p.Service(s) == nil {
				return nil, unknownService(p, s)
			}
		}
		services = g.WithDependencies(opts.Services)
		if opts.NoDeps {
			services = append([]string(nil), opts.Services...)
			sort.Strings(services)
		}
	}
	recreate, reconnect, touched, more, err := recreateResources(p, observed, services, opts)
	if err != nil {
		return nil, err
	}
	if len(more) > 0 {
		services = append(append([]string(nil), services...), more...)
		sort.Strings(services)
	}
	byService := map[string][]Container{}
	for _, c := range observed {
		if c.Labels.OneOff() || touched[c.Name] == removedContainer {
			continue
		}
		if touched[c.Name] == stoppedContainer {
			c.State = StateExited
		}
		byService[c.Labels.Service()] = append(byService[c.Labels.Service()], c)
	}
	plan := &Plan{Prepare: recreate, Services: map[string][]Op{}, Order: DependenciesFirst, Only: services}
	for _, name := range services {
		s := p.Service(name)
		if err := s.CheckReplicas(s.Replicas); err != nil {
			return nil, err
		}
		so := opts
		if opts.AlwaysRecreateDeps && opts.Services != nil && !slices.Contains(opts.Services, name) {
			so.ForceRecreate, so.forceReason = true, "--always-recreate-deps"
		}
		plan.Services[name] = reconcileService(s, byService[name], so)
		if len(s.Unsupported) > 0 {
			plan.Warnings = append(plan.Warnings, fmt.Sprintf("service %q: %s not supported by this version of berth yet: ignored", name, strings.Join(s.Unsupported, ", ")))
		}
	}

	restartDependents(p, services, plan.Services)

	if len(services) > 0 || p.AllResources && len(networksToMake(p)) > 0 {
		// Always, not only when containers are made: it is idempotent, and it
		// restarts the project's DNS daemon if that died. --all-resources
		// makes the networks even when no service is selected.
		plan.Prepare = append(plan.Prepare, Op{Kind: OpCreateNetworks, Name: p.Name})
	}
	plan.Prepare = append(plan.Prepare, reconnect...)
	known := knownServices(p)
	var orphans []string
	for _, c := range observed {
		// As docker compose: a one-off that exited is an orphan too.
		orphan := c.Labels.OneOff() && c.State == StateExited || !c.Labels.OneOff() && !known[c.Labels.Service()]
		if !orphan || touched[c.Name] == removedContainer {
			continue
		}
		if opts.RemoveOrphans {
			c := c
			plan.Extra = append(plan.Extra, Op{Kind: OpRemove, Service: c.Labels.Service(), Name: c.Name, Container: &c, Reason: "orphan"})
		} else {
			orphans = append(orphans, c.Name)
		}
	}
	sort.Slice(plan.Extra, func(i, j int) bool { return plan.Extra[i].Name < plan.Extra[j].Name })
	if len(orphans) > 0 && !opts.IgnoreOrphans {
		sort.Strings(orphans)
		plan.Warnings = append(plan.Warnings, OrphanWarning(orphans))
	}
	return plan, nil
}

// reconcileService plans one service: s.Replicas containers exist, run
// and are up to date. The replicas kept are the lowest-numbered ones that
// exist; the others go, highest number first, and missing replicas take the
// lowest free numbers: scaling 3 to 1 keeps replica 1, scaling 1 to 3 adds
// 2 and 3, and a scale never touches the replicas it keeps.
func reconcileService(s *compose.Service, observed []Container, opts ReconcileOptions) []Op {
	sort.Slice(observed, func(i, j int) bool {
		if observed[i].Labels.Number() != observed[j].Labels.Number() {
			return observed[i].Labels.Number() < observed[j].Labels.Number()
		}
		return observed[i].Created.After(observed[j].Created)
	})
	byNumber := map[int]*Container{}
	var numbers []int
	var ops, removals []Op
	for i := range observed {
		c := &observed[i]
		n := c.Labels.Number()
		switch {
		case n >= 1 && byNumber[n] != nil:
			removals = append(removals, Op{Kind: OpRemove, Service: s.Name, Name: c.Name, Container: c, Reason: fmt.Sprintf("duplicate of replica %d", n)})
		case n < 1 || len(numbers) >= s.Replicas:
			removals = append(removals, Op{Kind: OpRemove, Service: s.Name, Name: c.Name, Container: c, Reason: fmt.Sprintf("scale down to %d", s.Replicas)})
		default:
			byNumber[n] = c
			numbers = append(numbers, n)
		}
	}
	for n := 1; len(numbers) < s.Replicas; n++ {
		if byNumber[n] == nil {
			numbers = append(numbers, n)
		}
	}
	sort.Ints(numbers)
	needImage := false
	for _, n := range numbers {
		name := s.ContainerNameFor(n)
		c := byNumber[n]
		switch {
		case c == nil:
			ops = append(ops, Op{Kind: OpCreate, Service: s.Name, Name: name, Number: n, Reason: "missing"})
			needImage = true
		case !opts.NoRecreate && (opts.ForceRecreate || c.Labels.ConfigHash() != s.ConfigHash || imageChanged(c, opts.ImageIDs[s.Name])):
			reason := configChangedReason(c, s)
			switch {
			case opts.ForceRecreate:
				reason = cmp.Or(opts.forceReason, "--force-recreate")
			case c.Labels.ConfigHash() == s.ConfigHash:
				reason = "image changed"
			}
			ops = append(ops, Op{Kind: OpRecreate, Service: s.Name, Name: name, Number: n, Container: c, Reason: reason})
			needImage = true
		case c.State != StateRunning:
			ops = append(ops, Op{Kind: OpStart, Service: s.Name, Name: c.Name, Number: n, Container: c, Reason: string(c.State)})
		default:
			ops = append(ops, Op{Kind: OpRunning, Service: s.Name, Name: c.Name, Number: n, Container: c})
		}
	}
	// Highest replica first, as docker compose scales down.
	sort.Slice(removals, func(i, j int) bool {
		return removals[i].Container.Labels.Number() > removals[j].Container.Labels.Number()
	})
	if needImage && !opts.Pulled[s.Name] {
		ops = append([]Op{{Kind: OpEnsureImage, Service: s.Name, Name: s.ImageName(), Reason: "for new containers"}}, ops...)
	}
	return append(removals, ops...)
}

// configChangedReason says why a container whose config hash differs from
// its service's is recreated, naming the parts of the configuration that
// changed when the container records them: "config changed (environment,
// ports)". A container an older berth made records only the whole hash.
func configChangedReason(c *Container, s *compose.Service) string {
	parts := compose.ChangedParts(c.Labels.ConfigParts(), s.ConfigParts)
	if len(parts) == 0 {
		return "config hash changed"
	}
	return "config changed (" + strings.Join(parts, ", ") + ")"
}

// restartDependents turns the running containers of services that
// depend on a created, recreated or restarted service with restart: true
// into restarts, transitively, as docker compose does after it updates a
// dependency.
func restartDependents(p *compose.Project, services []string, ops map[string][]Op) {
	updated := func(service string) string {
		for _, op := range ops[service] {
			switch op.Kind {
			case OpCreate, OpRecreate:
				return string(op.Kind)
			case OpRestart, OpRestartDependent:
				return string(OpRestart)
			}
		}
		return ""
	}
	for changed := true; changed; {
		changed = false
		for _, name := range services {
			s := p.Service(name)
			for _, dep := range slices.Sorted(maps.Keys(s.DependsOn)) { // the same reason every time
				d, how := s.DependsOn[dep], updated(dep)
				if !d.Restart || how == "" {
					continue
				}
				for i, op := range ops[name] {
					if op.Kind == OpRunning {
						ops[name][i].Kind, ops[name][i].Reason = OpRestartDependent, fmt.Sprintf("dependency %s: %s", dep, how)
						changed = true
					}
				}
			}
		}
	}
}

// RestartDependents returns services plus, transitively, the services
// that depend on one of them with restart: true: what berth restart acts on.
func RestartDependents(p *compose.Project, services []string) []string {
	out := append([]string(nil), services...)
	for changed := true; changed; {
		changed = false
		for _, s := range p.Services {
			if contains(out, s.Name) {
				continue
			}
			for dep, d := range s.DependsOn {
				if d.Restart && contains(out, dep) {
					out = append(out, s.Name)
					changed = true
					break
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// DownOptions are down's choices.
type DownOptions struct {
	// RemoveOrphans also removes containers of services not in the project.
	RemoveOrphans bool
	// Volumes also removes the project's named volumes.
	Volumes bool
	// LabelledVolumes are volumes labelled with the project that its file
	// may not declare (run -v made them, or a service since removed): with
	// Volumes they go too.
	LabelledVolumes []string
	// Services limits down to these services (nil: the whole project);
	// see DownServices for which a down SERVICE... names. The networks,
	// and with Volumes the volumes, then stay while other containers use
	// them.
	Services []string
	// Images are the images to remove once the containers are gone
	// (down --rmi, see DownImages).
	Images []string
}

// imageChanged reports whether the container was made from another image
// than the service's image now is (both known).
func imageChanged(c *Container, now string) bool {
	was := c.Labels.ImageID()
	return now != "" && was != "" && was != now
}

// DownServices are the services down SERVICE... removes, as docker
// compose's down does: with the compose file, the named ones only (compose
// loads the project restricted to them and their dependencies, so the
// services that depend on them are not in its model, and stay); for a
// project known by name only (from its containers' labels), the named ones
// and the services that depend on them, transitively, as compose then
// walks the containers' graph from the named services up. Sorted, each
// once.
func DownServices(p *compose.Project, g *Graph, services []string) []string {
	if p.FromLabels && g != nil {
		return g.WithDependents(services)
	}
	out := slices.Clone(services)
	slices.Sort(out)
	return slices.Compact(out)
}

// PlanDown returns the plan that removes the project's containers, in
// reverse dependency order. p may have no services (only a project name was
// given): then every container of the project goes.
func PlanDown(p *compose.Project, observed []Container, g *Graph, opts DownOptions) *Plan {
	plan := &Plan{Services: map[string][]Op{}, Order: DependentsFirst}
	known := knownServices(p)
	var selected map[string]bool
	if opts.Services != nil {
		selected = map[string]bool{}
		for _, s := range opts.Services {
			selected[s] = true
		}
	}
	var orphans []string
	// kept are the containers down SERVICE leaves: what they use stays.
	var kept []Container
	for i := range observed {
		c := &observed[i]
		svc := c.Labels.Service()
		op := Op{Kind: OpRemove, Service: svc, Name: c.Name, Container: c}
		switch {
		case selected != nil && !selected[svc]:
			kept = append(kept, *c)
		case c.Labels.OneOff():
			op.Reason = "one-off"
			plan.Extra = append(plan.Extra, op)
		case known[svc] && g != nil && contains(g.Services(), svc):
			plan.Services[svc] = append(plan.Services[svc], op)
		case len(p.Services) == 0 && len(p.DisabledServices) == 0:
			op.Reason = "project " + p.Name
			plan.Extra = append(plan.Extra, op)
		case !known[svc] && opts.RemoveOrphans:
			op.Reason = "orphan"
			plan.Extra = append(plan.Extra, op)
		case !known[svc]:
			orphans = append(orphans, c.Name)
			kept = append(kept, *c)
		default: // a disabled service's container: down removes it too, as docker compose does
			plan.Extra = append(plan.Extra, op)
		}
	}
	if selected != nil {
		plan.Only = sortedKeys(selected)
	}
	for s := range plan.Services {
		sort.Slice(plan.Services[s], func(i, j int) bool { return plan.Services[s][i].Name < plan.Services[s][j].Name })
	}
	sort.Slice(plan.Extra, func(i, j int) bool { return plan.Extra[i].Name < plan.Extra[j].Name })
	if len(orphans) > 0 {
		sort.Strings(orphans)
		plan.Warnings = append(plan.Warnings, fmt.Sprintf("found orphan containers (%s) for this project; run down with --remove-orphans to remove them too", strings.Join(orphans, ", ")))
	}
	for _, img := range opts.Images {
		plan.Extra = append(plan.Extra, Op{Kind: OpRemoveImage, Name: img})
	}
	if opts.Volumes {
		inUse := map[string]bool{}
		if selected != nil {
			for _, c := range kept {
				for _, v := range c.Volumes {
					inUse[v] = true
				}
			}
		}
		keys := make([]string, 0, len(p.Volumes))
		for k := range p.Volumes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := p.Volumes[k]
			if v.External || inUse[v.Name] {
				continue
			}
			plan.Extra = append(plan.Extra, Op{Kind: OpRemoveVolume, Name: v.Name})
		}
		for _, name := range opts.LabelledVolumes {
			if !inUse[name] && !slices.ContainsFunc(plan.Extra, func(op Op) bool { return op.Kind == OpRemoveVolume && op.Name == name }) {
				plan.Extra = append(plan.Extra, Op{Kind: OpRemoveVolume, Name: name})
			}
		}
	}
	if selected == nil || len(kept) == 0 {
		plan.Extra = append(plan.Extra, Op{Kind: OpRemoveNetworks, Name: p.Name})
	}
	return plan
}

// sortedKeys are the keys of a set, sorted.
func sortedKeys(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ImageRemoval is down --rmi's choice of images.
type ImageRemoval string

const (
	// ImagesLocal are the images without a custom tag: those berth built
	// for services with no image: key ("<project>-<service>").
	ImagesLocal ImageRemoval = "local"
	// ImagesAll are the images every service uses.
	ImagesAll ImageRemoval = "all"
)

// ParseImageRemoval reads down --rmi's value.
func ParseImageRemoval(s string) (ImageRemoval, error) {
	switch m := ImageRemoval(s); m {
	case "", ImagesLocal, ImagesAll:
		return m, nil
	}
	return "", fmt.Errorf("--rmi %q: use local (the images berth built for services without image:) or all (every image the services use)", s)
}

// DownImages are the images of the services (all when services is nil)
// that down --rmi mode names, sorted and each once.
func DownImages(p *compose.Project, mode ImageRemoval, services []string) []string {
	if mode == "" {
		return nil
	}
	set := map[string]bool{}
	for _, s := range p.Services {
		if services != nil && !slices.Contains(services, s.Name) {
			continue
		}
		own := s.Image == ""
		if p.FromLabels {
			own = OwnImage(p, s)
		}
		if mode == ImagesAll || own {
			set[s.ImageName()] = true
		}
	}
	return sortedKeys(set)
}

// knownServices are the project's services, enabled or not: containers of
// any other service are orphans.
func knownServices(p *compose.Project) map[string]bool {
	known := map[string]bool{}
	for _, s := range p.ServiceNames() {
		known[s] = true
	}
	for _, s := range p.DisabledServices {
		known[s] = true
	}
	return known
}

func unknownService(p *compose.Project, name string) error {
	for _, d := range p.DisabledServices {
		if d == name {
			return fmt.Errorf("service %q is not enabled: its profile is not active (use --profile)", name)
		}
	}
	return fmt.Errorf("no such service: %s: the project's services are %s", name, strings.Join(p.ServiceNames(), ", "))
}
