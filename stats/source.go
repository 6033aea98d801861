package stats

import (
	"context"
	"sort"

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
// stops while it is read is left out. With all, the services' other
// containers (not one-offs) come too, as Stopped samples, the way docker
// stats --all shows them; the samples are then sorted by name.
func ProjectSource(rt Runtime, project string, services []string, all bool) Source {
	return func(ctx context.Context) ([]Sample, error) {
		cs, err := rt.Containers(ctx, project)
		if err != nil {
			return nil, err
		}
		samples, err := rt.Stats(ctx, scheduler.RunningContainers(cs, services))
		if err != nil || !all {
			return samples, err
		}
		sampled := map[string]bool{}
		for _, s := range samples {
			sampled[s.ID] = true
		}
		for _, c := range scheduler.ServiceContainers(cs, services) {
			if !sampled[c.ID] {
				samples = append(samples, Sample{ID: c.ID, Name: c.Name, Stopped: true})
			}
		}
		sort.Slice(samples, func(i, j int) bool { return samples[i].Name < samples[j].Name })
		return samples, nil
	}
}
