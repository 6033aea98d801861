package scheduler

import (
	"context"
	"slices"

	"github.com/berth/berth/compose"
)

// A dry run (berth --dry-run up, down, stop …) decides as the command
// does and shows the plan, with the reasons of each step, instead of
// executing it. What keeps it from changing anything is the type of what
// it is given: the DryRun functions take only the read-only interfaces
// below, never a Runtime, Network or Builder, and they make no Executor.

// containerLister lists a project's containers ("": every project's).
type containerLister interface {
	Containers(ctx context.Context, project string) ([]Container, error)
}

// imageIDer tells the ID of a local image, "" when it is not present.
type imageIDer interface {
	ImageID(ctx context.Context, image string) (string, error)
}

// Observer is the read-only part of a runtime: what planning reads.
type Observer interface {
	containerLister
	imageIDer
}

// volumeReader lists the machine's named volumes.
type volumeReader interface {
	Volumes(ctx context.Context) ([]Volume, error)
}

// volumeObserver lists the volumes and the containers that use them.
type volumeObserver interface {
	volumeReader
	containerLister
}

// NetworkReader lists the networks a project made, as the network layer
// remembers them; netbridge implements it.
type NetworkReader interface {
	ObserveNetworks(ctx context.Context, project string) ([]ObservedNetwork, error)
}

// Ops only a dry run's plan has: Up does them before it plans (builds,
// pulls) or inside one op (the networks), so its executor never sees them.
const (
	// OpBuild builds a service's image (Name is the image).
	OpBuild OpKind = "build"
	// OpPull pulls an image.
	OpPull OpKind = "pull"
	// OpCreateNetwork makes one of the project's networks.
	OpCreateNetwork OpKind = "create-network"
)

// DryRunUp returns the plan Up would execute for the same arguments, with
// what it would do first (Plan.Before: the builds and the pulls), deciding
// as Up decides and doing none of it. Two things it cannot know: a build
// or pull may change an image, and then Up recreates its containers too
// (the build and pull ops say so); and a volume whose configuration
// changed is shown recreated, which Up asks first (opts.Confirm is never
// called; nil fails as Up fails). nw may be nil.
func DryRunUp(ctx context.Context, p *compose.Project, rt Observer, nw NetworkReader, opts UpOptions) (*Plan, error) {
	var vo volumeObserver
	if v, ok := rt.(volumeObserver); ok {
		vo = v
	}
	ask := opts.Confirm
	if ask != nil {
		ask = func(string) (bool, error) { return true, nil }
	}
	g, observed, ro, err := upInputs(ctx, p, rt, vo, nw, ask, opts.ReconcileOptions)
	if err != nil {
		return nil, err
	}
	// A build or pull that changes the image recreates the service's
	// containers: the step says so when there are some.
	mayRecreate := func(service, reason string) string {
		if slices.ContainsFunc(observed, func(c Container) bool { return !c.Labels.OneOff() && c.Labels.Service() == service }) {
			return reason + "; its containers are recreated if the image changes"
		}
		return reason
	}
	var before []Op
	built := map[string]bool{}
	if opts.Builder != nil && !opts.NoBuild {
		var services []string
		if opts.Services != nil {
			services = g.WithDependencies(opts.Services)
			if opts.NoDeps {
				services = opts.Services
			}
		}
		bo := opts.BuildOptions
		bo.Missing = !opts.Build
		builds, err := DryRunBuild(ctx, p, rt, services, bo)
		if err != nil {
			return nil, err
		}
		for _, op := range builds {
			built[op.Service] = true
			op.Reason = mayRecreate(op.Service, op.Reason)
			before = append(before, op)
		}
	}
	ro.Pulled = map[string]bool{}
	for _, name := range upServices(g, opts) {
		if s := p.Service(name); s != nil && s.PullPolicy == compose.PullAlways {
			ro.Pulled[name] = true
			before = append(before, Op{Kind: OpPull, Service: name, Name: s.ImageName(), Reason: mayRecreate(name, "pull_policy always")})
		}
	}
	if ro.ImageIDs, err = imageIDs(ctx, p, rt); err != nil {
		return nil, err
	}
	plan, err := Reconcile(p, observed, g, ro)
	if err != nil {
		return nil, err
	}
	plan.Before = before
	for name, ops := range plan.Services {
		plan.Services[name] = slices.DeleteFunc(ops, func(op Op) bool {
			// The image is there, or the build above makes it.
			return op.Kind == OpEnsureImage && (built[name] || ro.ImageIDs[name] != "")
		})
		for i, op := range plan.Services[name] {
			if op.Kind == OpEnsureImage {
				plan.Services[name][i].Kind, plan.Services[name][i].Reason = OpPull, "missing, for new containers"
				if p.Service(name).PullPolicy == compose.PullNever {
					plan.Services[name][i].Reason = "missing, but pull_policy is never: up fails"
				}
			}
		}
	}
	plan.Prepare = networkOps(p, plan.Prepare, ro.Networks)
	return plan, nil
}

// upServices are the services up works on.
func upServices(g *Graph, opts UpOptions) []string {
	if opts.Services == nil {
		return g.Services()
	}
	if opts.NoDeps {
		return opts.Services
	}
	return g.WithDependencies(opts.Services)
}

// networkOps replaces a create-networks op, which makes every network of
// the project that is missing, with one create-network op for each of
// those: the networks observed are there, except those the plan removes
// first (their configuration changed).
func networkOps(p *compose.Project, ops []Op, observed []ObservedNetwork) []Op {
	var out []Op
	for _, op := range ops {
		if op.Kind != OpCreateNetworks {
			out = append(out, op)
			continue
		}
		for _, name := range networksToMake(p) {
			reason := "missing"
			if slices.ContainsFunc(ops, func(o Op) bool { return o.Kind == OpRemoveNetwork && o.Name == name }) {
				reason = "configuration changed"
			} else if slices.ContainsFunc(observed, func(o ObservedNetwork) bool { return o.Name == name }) {
				continue
			}
			out = append(out, Op{Kind: OpCreateNetwork, Name: name, Reason: reason})
		}
	}
	return out
}

// removeNetworkOps replaces a remove-networks op with one remove-network
// op for each network the project made that is there.
func removeNetworkOps(ops []Op, observed []ObservedNetwork) []Op {
	var out []Op
	for _, op := range ops {
		if op.Kind != OpRemoveNetworks {
			out = append(out, op)
			continue
		}
		for _, n := range observed {
			out = append(out, Op{Kind: OpRemoveNetwork, Name: n.Name})
		}
	}
	return out
}

// DryRunBuild returns what Build would build for the same arguments, one
// OpBuild per image with the reason, building nothing.
func DryRunBuild(ctx context.Context, p *compose.Project, rt imageIDer, services []string, opts BuildOptions) ([]Op, error) {
	todo, err := buildTargets(p, services)
	if err != nil {
		return nil, err
	}
	var ops []Op
	seen := map[string]bool{}
	for _, s := range todo {
		if seen[s.ImageName()] {
			continue
		}
		seen[s.ImageName()] = true
		why, err := buildReason(ctx, rt, s, opts)
		if err != nil {
			return nil, err
		}
		if why != "" {
			ops = append(ops, Op{Kind: OpBuild, Service: s.Name, Name: s.ImageName(), Reason: why})
		}
	}
	return ops, nil
}

// DryRunDown returns the plan Down would execute for the same arguments,
// with the networks it removes named, doing none of it. nw may be nil.
func DryRunDown(ctx context.Context, p *compose.Project, rt Observer, nw NetworkReader, req DownRequest) (*Plan, error) {
	_, plan, err := planDown(ctx, p, rt, req)
	if err != nil {
		return nil, err
	}
	var observed []ObservedNetwork
	if nw != nil {
		if observed, err = nw.ObserveNetworks(ctx, p.Name); err != nil {
			return nil, err
		}
	}
	plan.Extra = removeNetworkOps(plan.Extra, observed)
	return plan, nil
}

// DryRunLifecycle returns the plan Lifecycle (stop, start, restart, kill,
// rm, pause, unpause) would execute, doing none of it. nw may be nil.
func DryRunLifecycle(ctx context.Context, p *compose.Project, rt containerLister, nw NetworkReader, kind OpKind, req LifecycleRequest) (*Plan, error) {
	p, _, plan, err := planLifecycle(ctx, p, rt, kind, req)
	if err != nil {
		return nil, err
	}
	var observed []ObservedNetwork
	if nw != nil {
		if observed, err = nw.ObserveNetworks(ctx, p.Name); err != nil {
			return nil, err
		}
	}
	plan.Prepare = networkOps(p, plan.Prepare, observed)
	return plan, nil
}

// WalkOrder sorts services as a walk of the graph in direction dir may
// take them, so that a dry run reads in the order the work is done:
// dependencies first (up, start), or dependents first (down, stop).
// Services the graph does not know (orphans, a project known by its
// labels) come last, by name.
func (g *Graph) WalkOrder(services []string, dir Direction) []string {
	var known, unknown []string
	for _, s := range services {
		if _, ok := g.deps[s]; ok {
			known = append(known, s)
		} else {
			unknown = append(unknown, s)
		}
	}
	known = g.byDepth(known)
	if dir == DependentsFirst {
		slices.Reverse(known)
	}
	slices.Sort(unknown)
	return append(known, unknown...)
}
