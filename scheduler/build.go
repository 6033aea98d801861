package scheduler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

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
	// SSH are agents forwarded to every build besides its section's
	// build.ssh (build --ssh): id to an agent socket or key files, an
	// empty list meaning $SSH_AUTH_SOCK.
	SSH map[string][]string
	// Missing builds only the images that are not present yet.
	Missing bool
	// Memory limits each RUN step's memory, in bytes; 0 is no limit.
	Memory int64
	// Platform overrides the services' platform: and build.platforms: the
	// platform every image is built for (build --platform), or several,
	// comma-separated (each image an index); "" keeps theirs.
	Platform string
	// Out receives the builds' output (default: discarded).
	Out io.Writer
}

// Build builds the images of the named services (every service with a
// build section when none is named), the independent ones at the same
// time. Services sharing an image name are built once. When builds fail,
// the others still run to their end, and the error joins the failures.
func Build(ctx context.Context, p *compose.Project, rt imageIDer, b Builder, services []string, opts BuildOptions) error {
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	todo, err := buildTargets(p, services)
	if err != nil {
		return err
	}
	// built is closed when the build of an image ended; failed tells how.
	built := map[string]chan struct{}{}
	failed := map[string]*error{}
	for _, s := range todo {
		if _, ok := built[s.ImageName()]; !ok {
			built[s.ImageName()] = make(chan struct{})
			failed[s.ImageName()] = new(error)
		}
	}
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
		if why, err := buildReason(ctx, rt, s, opts); err != nil {
			return err
		} else if why == "" {
			close(built[image])
			continue
		}
		g.Go(func() error {
			defer close(built[image])
			for _, dep := range s.Build.After {
				d := p.Service(dep)
				if d == nil || built[d.ImageName()] == nil {
					continue // not built here: its image is used as it is
				}
				<-built[d.ImageName()]
				if *failed[d.ImageName()] != nil {
					errs[i] = fmt.Errorf("service %q: not built: the build of service %q, whose image it uses, failed", s.Name, dep)
					*failed[image] = errs[i]
					return nil
				}
			}
			errs[i] = b.BuildImage(ctx, s, opts, opts.Out)
			*failed[image] = errs[i]
			return nil
		})
	}
	g.Wait() //nolint:errcheck // the builds' errors are in errs
	return errors.Join(errs...)
}

// buildReason says why Build builds s's image, "" when it does not: with
// opts.Missing only an image that is not present (and whose pull policy
// is not never) is built.
func buildReason(ctx context.Context, rt imageIDer, s *compose.Service, opts BuildOptions) (string, error) {
	if !opts.Missing {
		return "asked to build", nil
	}
	id, err := rt.ImageID(ctx, s.ImageName())
	if err != nil {
		return "", fmt.Errorf("service %q: %w", s.Name, err)
	}
	if id != "" || s.PullPolicy == compose.PullNever {
		return "", nil
	}
	return "image missing", nil
}

// buildTargets are the services Build builds the images of: the named
// ones with a build section (all such when services is nil) and, first,
// those whose images their builds use; sorted by name.
func buildTargets(p *compose.Project, services []string) ([]*compose.Service, error) {
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
				return nil, unknownService(p, name)
			}
			if s.Build != nil {
				todo = append(todo, s)
			}
		}
	}
	// The services whose images a build uses (service: contexts) are
	// built too, and first.
	named := map[string]bool{}
	for _, s := range todo {
		named[s.Name] = true
	}
	for i := 0; i < len(todo); i++ {
		for _, dep := range todo[i].Build.After {
			if d := p.Service(dep); d != nil && d.Build != nil && !named[dep] {
				named[dep] = true
				todo = append(todo, d)
			}
		}
	}
	sort.Slice(todo, func(i, j int) bool { return todo[i].Name < todo[j].Name })
	if err := buildCycle(p, todo); err != nil {
		return nil, err
	}
	return todo, nil
}

// buildCycle refuses builds that use each other's images (service:
// contexts), which could never start: it names the cycle.
func buildCycle(p *compose.Project, todo []*compose.Service) error {
	state := map[string]int{} // 1: on the path, 2: done
	var path []string
	var visit func(name string) error
	visit = func(name string) error {
		switch state[name] {
		case 1:
			i := slices.Index(path, name)
			return fmt.Errorf("build cycle: %s: the builds use each other's images (build.additional_contexts service:)", strings.Join(append(path[i:], name), " -> "))
		case 2:
			return nil
		}
		s := p.Service(name)
		if s == nil || s.Build == nil {
			return nil
		}
		state[name] = 1
		path = append(path, name)
		for _, dep := range s.Build.After {
			if err := visit(dep); err != nil {
				return err
			}
		}
		path = path[:len(path)-1]
		state[name] = 2
		return nil
	}
	for _, s := range todo {
		if err := visit(s.Name); err != nil {
			return err
		}
	}
	return nil
}
