package stats

import (
	"context"

	"github.com/berth/berth/scheduler"
)

// Runtime is what a project's source reads; berth's containerd client
// implements it.
type Runtime interface {
	Containers(ctx context.Context, project string) ([]scheduler.Container, error)
	// Stats reads the counters of running containers, a sample each in
	// their order; those that stopped meanwhile are left out.
	Stats(ctx context.Context, cs []scheduler.Container) ([]Sample, error)
}

// ProjectSource samples the running (and paused) containers of a
// project's services, all when none are given, looking them up anew at
// every sample so that containers coming and going are followed. One that
// stops while it is read is left out.
func ProjectSource(rt Runtime, project string, services []string) Source {
	return func(ctx context.Context) ([]Sample, error) {
		cs, err := rt.Containers(ctx, project)
		if err != nil {
			return nil, err
		}
		return rt.Stats(ctx, scheduler.RunningContainers(cs, services))
	}
}
