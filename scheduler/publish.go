package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/berth/berth/compose"
)

// ImagePublisher names and pushes the images a Builder made: what
// PublishImages needs of a runtime besides the builder.
type ImagePublisher interface {
	imageIDer
	ImageRemover
	// TagImage makes target a name of the image source names.
	TagImage(ctx context.Context, source, target string) error
	// Push pushes the local image to the registry its name starts with
	// and returns the digest the name points to there.
	Push(ctx context.Context, image string) (string, error)
}

// PublishOptions say where PublishImages pushes and how it builds.
type PublishOptions struct {
	// Registry, when set, is where every built image goes, as
	// compose.PublishName names it; "" pushes each image to the registry its own
	// name starts with.
	Registry string
	// Build are the builds' options.
	Build BuildOptions
}

// ErrNoRegistry is PublishImages' refusal of a build: service that has no
// registry to go to: no image: and no PublishOptions.Registry.
var ErrNoRegistry = errors.New("names no registry to push to")

// PushError is a push of PublishImages that failed: the services whose
// image it is, the name pushed and the registry it went to.
type PushError struct {
	Services []string
	Image    string
	Registry string
	Err      error
}

func (e *PushError) Error() string {
	noun := "service"
	if len(e.Services) > 1 {
		noun = "services"
	}
	return fmt.Sprintf("%s %s: push image %s to registry %s: %v", noun, quoteList(e.Services), e.Image, e.Registry, e.Err)
}

func (e *PushError) Unwrap() error { return e.Err }

// PublishImages builds the images of the project's build: services (as
// Build does: cached steps are reused), names each compose.PublishName(o.Registry,
// its image name), pushes it, and returns the reference each of these
// services runs: the pushed repository by digest, name@sha256:.... It is
// how a project's images reach a cluster (berth convert kubernetes, and up
// on a cluster), which runs images by digest so that every node runs the
// very image built here. Services sharing an image name are built, tagged
// and pushed once and get the same reference. Nothing is built when a
// service has no name to push to (no registry and no image:,
// ErrNoRegistry); the pushes run at the same time and their failures
// (*PushError) are returned together, the names tagged for them removed.
func PublishImages(ctx context.Context, p *compose.Project, rt ImagePublisher, b Builder, o PublishOptions) (map[string]string, error) {
	targets, err := PublishTargets(p, o.Registry)
	if err != nil {
		return nil, err
	}
	if len(targets) == 0 {
		return map[string]string{}, nil
	}
	// users are the services whose image each local name is.
	users := map[string][]string{}
	for _, s := range p.Services {
		if s.Build != nil {
			users[s.ImageName()] = append(users[s.ImageName()], s.Name)
		}
	}
	if err := Build(ctx, p, rt, b, nil, o.Build); err != nil {
		return nil, err
	}
	locals := make([]string, 0, len(targets))
	for local := range targets {
		locals = append(locals, local)
	}
	sort.Strings(locals)
	var (
		g       errgroup.Group
		mu      sync.Mutex // guards digests and errs
		digests = map[string]string{}
		errs    = make([]error, len(locals))
	)
	for i, local := range locals {
		target := targets[local]
		g.Go(func() error {
			fail := func(err error) {
				sort.Strings(users[local])
				errs[i] = &PushError{Services: users[local], Image: target, Registry: compose.RegistryOf(target), Err: err}
			}
			if target != local {
				// A name made here for a push that fails is taken away
				// again: a failed publish leaves no stray tag behind.
				existed, err := rt.ImageID(ctx, target)
				if err != nil {
					fail(err)
					return nil
				}
				if err := rt.TagImage(ctx, local, target); err != nil {
					fail(err)
					return nil
				}
				if existed == "" {
					defer func() {
						if errs[i] != nil {
							rt.RemoveImage(context.WithoutCancel(ctx), target) //nolint:errcheck // the push's failure is the one reported
						}
					}()
				}
			}
			digest, err := rt.Push(ctx, target)
			if err != nil {
				fail(err)
				return nil
			}
			mu.Lock()
			digests[local] = digest
			mu.Unlock()
			return nil
		})
	}
	g.Wait() //nolint:errcheck // the pushes' errors are in errs
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	refs := map[string]string{}
	for local, services := range users {
		for _, name := range services {
			refs[name] = Repository(targets[local]) + "@" + digests[local]
		}
	}
	return refs, nil
}

// PublishTargets are the names PublishImages pushes the project's built
// images under (compose.PublishName), by their local names. It refuses, with
// ErrNoRegistry, a build: service that has no image: when there is no
// registry: its <project>-<service> has nowhere to go.
func PublishTargets(p *compose.Project, registry string) (map[string]string, error) {
	targets := map[string]string{}
	// from is the first service pushed under each name.
	from := map[string]*compose.Service{}
	for _, s := range p.Services {
		if s.Build == nil {
			continue
		}
		if registry == "" && s.Image == "" {
			return nil, fmt.Errorf("service %q: its image %s (<project>-<service>: it has no image:) %w", s.Name, s.ImageName(), ErrNoRegistry)
		}
		target := compose.PublishName(registry, s.ImageName())
		// Two images under one name: the second push would take the
		// name from the first, whose services would run the wrong image.
		if o := from[target]; o != nil && o.ImageName() != s.ImageName() {
			return nil, fmt.Errorf("services %q and %q: their images %s and %s would both be pushed as %s: give them image: names that differ once the registry host is dropped", o.Name, s.Name, o.ImageName(), s.ImageName(), target)
		}
		from[target] = s
		targets[s.ImageName()] = target
	}
	return targets, nil
}

// Repository is an image reference without its tag or digest:
// 127.0.0.1:5000/app:1.0 -> 127.0.0.1:5000/app.
func Repository(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref
}

// quoteList is names quoted and comma-separated: "db", "migrate".
func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
