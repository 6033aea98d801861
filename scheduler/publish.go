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
	// TagImage makes target a name of the image source names.
	TagImage(ctx context.Context, source, target string) error
	// Push pushes the local image to the registry its name starts with
	// and returns the digest the name points to there.
	Push(ctx context.Context, image string) (string, error)
}

// PublishOptions say where PublishImages pushes and how it builds.
type PublishOptions struct {
	// Registry, when set, is where every built image goes, as
	// PublishName names it; "" pushes each image to the registry its own
	// name starts with.
	Registry string
	// Build are the builds' options.
	Build BuildOptions
}

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
// Build does: cached steps are reused), names each PublishName(o.Registry,
// its image name), pushes it, and returns the reference each of these
// services runs: the pushed repository by digest, name@sha256:.... It is
// how a project's images reach a cluster (berth convert kubernetes, and up
// on a cluster), which runs images by digest so that every node runs the
// very image built here. Services sharing an image name are built, tagged
// and pushed once and get the same reference. Nothing is built when a
// service has no name to push to (no registry and no image:); the pushes
// run at the same time and their failures (*PushError) are returned
// together.
func PublishImages(ctx context.Context, p *compose.Project, rt ImagePublisher, b Builder, o PublishOptions) (map[string]string, error) {
	// targets is the name each built image is pushed under, by its local
	// name; users the services whose image it is.
	targets := map[string]string{}
	users := map[string][]string{}
	for _, s := range p.Services {
		if s.Build == nil {
			continue
		}
		if o.Registry == "" && s.Image == "" {
			return nil, fmt.Errorf("service %q: its image %s (<project>-<service>: it has no image:) names no registry to push to: give a registry, or image: REGISTRY/NAME", s.Name, s.ImageName())
		}
		targets[s.ImageName()] = PublishName(o.Registry, s.ImageName())
		users[s.ImageName()] = append(users[s.ImageName()], s.Name)
	}
	if len(targets) == 0 {
		return map[string]string{}, nil
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
				errs[i] = &PushError{Services: users[local], Image: target, Registry: registryOf(target), Err: err}
			}
			if target != local {
				if err := rt.TagImage(ctx, local, target); err != nil {
					fail(err)
					return nil
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

// PublishName is the name an image is pushed under: with a registry,
// registry/<image without its own registry host> (db:16 ->
// registry/db:16, ghcr.io/org/api -> registry/org/api); without one the
// image's own name.
func PublishName(registry, image string) string {
	if registry == "" {
		return image
	}
	return strings.TrimSuffix(registry, "/") + "/" + imagePath(image)
}

// imagePath is ref without its registry host, if it names one (a first
// component with a dot or a colon, or localhost, as docker reads it).
func imagePath(ref string) string {
	first, rest, ok := strings.Cut(ref, "/")
	if ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return rest
	}
	return ref
}

// registryOf is the registry an image name is pushed to: its first
// component when it is a host, else Docker Hub.
func registryOf(ref string) string {
	first, _, ok := strings.Cut(ref, "/")
	if ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return first
	}
	return "docker.io"
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
