package compose

import (
	"context"
	"fmt"
	"sort"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
)

// DigestResolver asks an image's registry for the digest its name (a
// normalized REPO:TAG) points at now: the manifest's, or the index's of a
// multi-platform image, as docker's distribution inspect gives it.
type DigestResolver func(ctx context.Context, image string) (string, error)

// ResolveImageDigests pins every service's image to the digest its
// registry gives for it, as docker compose's --resolve-image-digests does
// (compose-go's WithImagesResolved): the name normalized, its tag kept,
// @sha256:… added ("docker.io/library/redis:7@sha256:…"). An image already
// pinned to a digest is left as it is; a service without an image (built
// only) too. Each image is asked for once. The error names the service.
func ResolveImageDigests(ctx context.Context, spec *types.Project, resolve DigestResolver) (*types.Project, error) {
	resolved := map[string]string{}
	out := spec
	for _, name := range spec.ServiceNames() {
		s := spec.Services[name]
		if s.Image == "" {
			continue
		}
		pinned, err := pinImage(ctx, s.Image, resolve, resolved)
		if err != nil {
			return nil, fmt.Errorf("service %q: %w", name, err)
		}
		if pinned == s.Image {
			continue
		}
		if out == spec {
			// The caller's project is not changed.
			copied := *spec
			copied.Services = make(types.Services, len(spec.Services))
			for k, v := range spec.Services {
				copied.Services[k] = v
			}
			out = &copied
		}
		s.Image = pinned
		out.Services[name] = s
	}
	return out, nil
}

// pinImage is image with the digest its registry gives for it; seen keeps
// the answers by normalized name.
func pinImage(ctx context.Context, image string, resolve DigestResolver, seen map[string]string) (string, error) {
	named, err := reference.ParseDockerRef(image)
	if err != nil {
		return "", fmt.Errorf("image %q: %w", image, err)
	}
	if _, ok := named.(reference.Canonical); ok {
		return named.String(), nil
	}
	d, ok := seen[named.String()]
	if !ok {
		if d, err = resolve(ctx, named.String()); err != nil {
			return "", fmt.Errorf("resolve the digest of image %s: %w", named.String(), err)
		}
		seen[named.String()] = d
	}
	dg, err := digest.Parse(d)
	if err != nil {
		return "", fmt.Errorf("resolve the digest of image %s: the registry gave %q: %w", named.String(), d, err)
	}
	pinned, err := reference.WithDigest(named, dg)
	if err != nil {
		return "", fmt.Errorf("image %s: %w", named.String(), err)
	}
	return pinned.String(), nil
}

// ResolveModelImageDigests is ResolveImageDigests for a model not
// interpolated (config --no-interpolate --resolve-image-digests): the
// services' image strings, as written, are pinned in place. An image
// holding a variable is one the registry is asked for as it is, as docker
// compose does; it fails as an invalid name.
func ResolveModelImageDigests(ctx context.Context, model map[string]any, resolve DigestResolver) error {
	services, _ := model["services"].(map[string]any)
	names := make([]string, 0, len(services))
	for name := range services {
		names = append(names, name)
	}
	sort.Strings(names)
	resolved := map[string]string{}
	for _, name := range names {
		s, _ := services[name].(map[string]any)
		image, _ := s["image"].(string)
		if image == "" {
			continue
		}
		pinned, err := pinImage(ctx, image, resolve, resolved)
		if err != nil {
			return fmt.Errorf("service %q: %w", name, err)
		}
		s["image"] = pinned
	}
	return nil
}

// ImageDigestsFile is the name of the override publish
// --resolve-image-digests adds to the artifact, as docker compose names it.
const ImageDigestsFile = "image-digests.yaml"

// ImagesOnly is the project reduced to its services' images: the
// override file docker compose's config --lock-image-digests prints, and
// publish --resolve-image-digests adds to the artifact
// (image-digests.yaml). Services without an image are left out.
func ImagesOnly(spec *types.Project) *types.Project {
	services := types.Services{}
	for name, s := range spec.Services {
		if s.Image != "" {
			services[name] = types.ServiceConfig{Image: s.Image}
		}
	}
	return &types.Project{Services: services}
}

// ImagesOnlyModel is ImagesOnly for a model not interpolated: everything
// but services.*.image removed, in place.
func ImagesOnlyModel(model map[string]any) {
	for key, v := range model {
		if key != "services" {
			delete(model, key)
			continue
		}
		services, _ := v.(map[string]any)
		for name, sv := range services {
			s, _ := sv.(map[string]any)
			if _, ok := s["image"]; !ok {
				delete(services, name)
				continue
			}
			for k := range s {
				if k != "image" {
					delete(s, k)
				}
			}
		}
	}
}
