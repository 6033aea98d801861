package scheduler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	"golang.org/x/sync/errgroup"

	"github.com/berth/berth/compose"
)

// Builder builds the images of services that have a build section.
type Builder interface {
	// BuildImage builds the service's image and names it s.ImageName()
	// (and the build's tags), writing its progress to out.
	BuildImage(ctx context.Context, s *compose.Service, opts BuildOptions, out io.Writer) error
}

// BuildOptions are build's choices.
type BuildOptions struct {
	// NoCache runs every step; Pull pulls base images even when present.
	NoCache, Pull bool
	// Args override the build sections' args.
	Args map[string]string
	// Network overrides the build sections' network: RUN steps' network
	// ("default", "host" or "none"; "" keeps each section's).
	Network string
	// Allow are entitlements granted to every build besides its section's
	// (build --allow): "network.host" lets RUN --network=host run.
	Allow []string
	// Missing builds only the images that are not present yet.
	Missing bool
	// Memory limits each RUN step's memory, in bytes; 0 is no limit.
	Memory int64
	// Out receives the builds' output (default: discarded).
	Out io.Writer
}

// Build builds the images of the named services (every service with a
// build section when none is named), the independent ones at the same
// time. Services sharing an image name are built once. When builds fail,
// the others still run to their end, and the error joins the failures.
func Build(ctx context.Context, p *compose.Project, rt Runtime, b Builder, services []string, opts BuildOptions) error {
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	var todo []*compose.Service
	if services == nil {
		for _, s := range p.Services {
			if s.Build != nil {
				todo = append(todo, s)
			}
		}
	} else {
		for _, name := range services {
			s := p.Service(name)
			if s == nil {
				return unknownService(p, name)
			}
			if s.Build != nil {
				todo = append(todo, s)
			}
		}
	}
	sort.Slice(todo, func(i, j int) bool { return todo[i].Name < todo[j].Name })
	seen := map[string]bool{}
	// A failed build does not cancel the others: each runs to its end, so
	// that a long step of one is not lost (and run again) for another's
	// mistake; the failures are reported together when all are done.
	var g errgroup.Group
	errs := make([]error, len(todo))
	for i, s := range todo {
		image := s.ImageName()
		if seen[image] {
			continue
		}
		seen[image] = true
		if opts.Missing {
			id, err := rt.ImageID(ctx, image)
			if err != nil {
				return fmt.Errorf("service %q: %w", s.Name, err)
			}
			if id != "" || s.PullPolicy == compose.PullNever {
				continue
			}
		}
		g.Go(func() error {
			errs[i] = b.BuildImage(ctx, s, opts, opts.Out)
			return nil
		})
	}
	g.Wait() //nolint:errcheck // the builds' errors are in errs
	return errors.Join(errs...)
}
