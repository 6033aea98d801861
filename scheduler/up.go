package scheduler

import (
	"context"
	"fmt"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/berth/berth/compose"
)

// UpOptions are up's choices.
type UpOptions struct {
	ReconcileOptions
	// Parallel bounds how many services are worked on at once; < 1 is unlimited.
	Parallel int
	// NoStart creates containers without starting them.
	NoStart bool
	// StopTimeout overrides the grace period of containers being replaced.
	StopTimeout *time.Duration
	// RenewAnonVolumes gives recreated containers new anonymous volumes
	// instead of the data of the containers they replace (up -V).
	RenewAnonVolumes bool
	// Builder builds the images of services with a build section: the
	// missing ones, or all of them with Build. Nil or NoBuild builds none.
	Builder      Builder
	Build        bool
	NoBuild      bool
	BuildOptions BuildOptions
	// Confirm asks whether to recreate a volume whose configuration
	// changed; nil fails up instead (no terminal and no -y).
	Confirm Confirm
}

// Up makes the project's containers match its services: it observes what
// runs, plans, and executes the plan. The plan is returned even when its
// execution fails, so that callers can tell what was attempted.
func Up(ctx context.Context, p *compose.Project, rt Runtime, nw Network, ev Events, opts UpOptions) (_ *Plan, retErr error) {
	var vo volumeObserver
	if vr, ok := rt.(VolumeRuntime); ok {
		vo = vr
	}
	var nr NetworkReader
	if no, ok := nw.(NetworkObserver); ok {
		nr = no
	}
	g, observed, ro, err := upInputs(ctx, p, rt, vo, nr, opts.Confirm, opts.ReconcileOptions)
	if err != nil {
		return nil, err
	}
	// The networks are made while the images build; until the executor
	// takes them over, a failure removes them again.
	ahead := startNetworksAhead(ctx, p, nw, ro.Networks, opts)
	defer func() {
		switch {
		case ahead == nil:
		case retErr != nil:
			retErr = ahead.abandon(ctx, p, rt, nw, retErr)
		default: // a plan without networks to make (none is up)
			ahead.ready(context.WithoutCancel(ctx)) //nolint:errcheck // as it was not needed
		}
	}()
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
		if err := Build(ctx, p, rt, opts.Builder, services, bo); err != nil {
			return nil, err
		}
	}
	// pull_policy always (or up --pull always) pulls before anything is
	// planned, as docker compose does: a container whose image the pull
	// changed is recreated, and one that is up to date stays.
	if ro.Pulled, err = pullAlways(ctx, p, g, rt, opts); err != nil {
		return nil, err
	}
	if ro.ImageIDs, err = imageIDs(ctx, p, rt); err != nil {
		return nil, err
	}
	plan, err := Reconcile(p, observed, g, ro)
	if err != nil {
		return nil, err
	}
	// The project's shim starts while its networks and containers are
	// made; a failed up that leaves no container stops it again.
	shim := startShimAhead(ctx, p.Name, rt, observed, plan, opts)
	defer func() { retErr = shim.finish(ctx, p.Name, retErr) }()
	warn(ev, plan)
	if vm, ok := rt.(VolumeMaker); ok && p.AllResources {
		if err := vm.EnsureVolumes(ctx, p); err != nil {
			return nil, err
		}
	}
	ex := &Executor{Project: p, Runtime: rt, Network: nw, Events: ev, Parallel: opts.Parallel, NoStart: opts.NoStart, StopTimeout: opts.StopTimeout, NoDeps: opts.NoDeps, RenewAnonVolumes: opts.RenewAnonVolumes,
		networksAhead: ahead}
	handed := ahead
	if slices.ContainsFunc(plan.Prepare, func(op Op) bool { return op.Kind == OpCreateNetworks }) {
		ahead = nil // the executor's now, and the failure's cleanup below
	}
	err = ex.Execute(ctx, plan, g)
	if rerr := handed.ready(context.WithoutCancel(ctx)); err == nil {
		// The project's process is up once up is done, even when no
		// container started (up --no-start) to wait for it.
		err = rerr
	}
	if err != nil {
		// Named volumes are made with the first container that mounts
		// them: those this up made for containers it removed again go too.
		err = releaseVolumes(ctx, rt, err)
	}
	if err != nil && len(plan.Prepare) > 0 {
		// A failed up that leaves the project without containers leaves no
		// networks either (once those made ahead are).
		if handed != nil {
			<-handed.done
		}
		err = removeNetworksIfEmpty(context.WithoutCancel(ctx), p, rt, nw, err)
	}
	return plan, err
}

// pullAlways pulls the images of the services up works on whose pull
// policy is always, opts.Parallel at a time, and returns those services.
func pullAlways(ctx context.Context, p *compose.Project, g *Graph, rt Runtime, opts UpOptions) (map[string]bool, error) {
	services := upServices(g, opts)
	pulled := map[string]bool{}
	eg, ectx := errgroup.WithContext(ctx)
	if opts.Parallel > 0 {
		eg.SetLimit(opts.Parallel)
	}
	for _, name := range services {
		s := p.Service(name)
		if s == nil || s.PullPolicy != compose.PullAlways {
			continue
		}
		pulled[name] = true
		eg.Go(func() error { return rt.EnsureImage(ectx, s) })
	}
	return pulled, eg.Wait()
}

// DownRequest are down's choices.
type DownRequest struct {
	DownOptions
	// Images says which of the services' images go too (down --rmi).
	Images ImageRemoval
	// Timeout overrides the services' stop grace periods when not nil.
	Timeout  *time.Duration
	Parallel int
}

// Down stops and removes the project's containers, dependents first, and
// with Volumes its named volumes. p may hold only a name (down -p NAME with
// no compose file): then every container of that project is removed.
func Down(ctx context.Context, p *compose.Project, rt Runtime, nw Network, ev Events, req DownRequest) (*Plan, error) {
	g, plan, err := planDown(ctx, p, rt, req)
	if err != nil {
		return nil, err
	}
	warn(ev, plan)
	// The supervisor leaves what goes alone first: no probe races a stop.
	quiesced := quiesce(ctx, rt, plan)
	ex := &Executor{Project: p, Runtime: rt, Network: nw, Events: ev, Parallel: req.Parallel, StopTimeout: req.Timeout}
	err = ex.Execute(ctx, plan, g)
	if err != nil {
		unquiesce(context.WithoutCancel(ctx), rt, p.Name, quiesced)
	}
	return plan, err
}

// planDown observes the project and decides what Down does, changing
// nothing: rt is only read (Down executes the plan, DryRunDown shows it).
func planDown(ctx context.Context, p *compose.Project, rt Observer, req DownRequest) (*Graph, *Plan, error) {
	g, observed, err := observe(ctx, p, rt)
	if err != nil {
		return nil, nil, err
	}
	opts := req.DownOptions
	if lister, ok := rt.(volumeReader); ok && opts.Volumes {
		all, err := lister.Volumes(ctx)
		if err != nil {
			return nil, nil, err
		}
		for _, v := range all {
			if v.Labels.Project() == p.Name {
				opts.LabelledVolumes = append(opts.LabelledVolumes, v.Name)
			}
		}
	}
	if len(opts.Services) > 0 {
		opts.Services = DownServices(p, g, opts.Services)
	}
	for _, img := range DownImages(p, req.Images, opts.Services) {
		// Only those present: a build service never built has none.
		id, err := rt.ImageID(ctx, img)
		if err != nil {
			return nil, nil, err
		}
		if id != "" {
			opts.Images = append(opts.Images, img)
		}
	}
	return g, PlanDown(p, observed, g, opts), nil
}

// observe builds the project's graph and lists its containers: what every
// plan starts from.
// upInputs is what Up and DryRunUp decide from: it refuses what up cannot
// run (a project known by labels only, volume options berth cannot
// honour) before anything starts, and observes the project's graph and
// containers, the volumes to recreate (vo, when not nil, asking ask) and
// its networks (nr, when not nil), into ro.
func upInputs(ctx context.Context, p *compose.Project, rt containerLister, vo volumeObserver, nr NetworkReader,
	ask Confirm, ro ReconcileOptions) (*Graph, []Container, ReconcileOptions, error) {
	if p.FromLabels {
		// Its labels do not tell networks, ports, mounts: nothing to create from.
		return nil, nil, ro, fmt.Errorf("project %s is known by its containers' labels only: up needs its compose file", p.Name)
	}
	for _, v := range p.Volumes {
		if !v.External {
			if _, err := v.Local(); err != nil {
				return nil, nil, ro, err
			}
		}
	}
	g, observed, err := observe(ctx, p, rt)
	if err != nil {
		return nil, nil, ro, err
	}
	if vo != nil {
		if ro.RecreateVolumes, err = confirmVolumes(ctx, p, vo, ask); err != nil {
			return nil, nil, ro, err
		}
	}
	if nr != nil {
		if ro.Networks, err = nr.ObserveNetworks(ctx, p.Name); err != nil {
			return nil, nil, ro, err
		}
	}
	return g, observed, ro, nil
}

func observe(ctx context.Context, p *compose.Project, rt containerLister) (*Graph, []Container, error) {
	g, err := NewGraph(p)
	if err != nil {
		return nil, nil, err
	}
	observed, err := rt.Containers(ctx, p.Name)
	if err != nil {
		return nil, nil, err
	}
	return g, observed, nil
}

func warn(ev Events, plan *Plan) {
	if ev == nil {
		return
	}
	for _, w := range plan.Warnings {
		ev.Emit(Event{Kind: KindService, Status: StatusWarning, Text: "Warning", Detail: w})
	}
}

// platformImageIDer is a Runtime that tells the ID of an image's content for
// a platform: a service with platform: runs that content, so the ID its
// containers are compared with is that one.
type platformImageIDer interface {
	PlatformImageID(ctx context.Context, image, platform string) (string, error)
}

// serviceImageID is the ID of s's image as s runs it.
// imageIDs are the IDs of the services' images that are there, by
// service; a service whose image is missing has none.
func imageIDs(ctx context.Context, p *compose.Project, rt imageIDer) (map[string]string, error) {
	ids := map[string]string{}
	for _, s := range p.Services {
		id, err := serviceImageID(ctx, rt, s)
		if err != nil {
			return nil, fmt.Errorf("service %q: %w", s.Name, err)
		}
		if id != "" {
			ids[s.Name] = id
		}
	}
	return ids, nil
}

func serviceImageID(ctx context.Context, rt imageIDer, s *compose.Service) (string, error) {
	if pi, ok := rt.(platformImageIDer); ok && s.Platform != "" {
		return pi.PlatformImageID(ctx, s.ImageName(), s.Platform)
	}
	return rt.ImageID(ctx, s.ImageName())
}
