package build

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"github.com/berth/berth/platform"
)

// buildIndex builds req once per platform of req.Platforms, at the same
// time, each with its own cache entries (the keys start with the
// platform), and names an OCI image index of the platforms' manifests, in
// the order given, under req's tags. The manifests are held by the
// index (and, until it is written, by the lease of the whole build).
func (b *Builder) buildIndex(ctx context.Context, req Request) (*Result, error) {
	plats := make([]ocispec.Platform, 0, len(req.Platforms))
	seen := map[string]bool{}
	for _, s := range req.Platforms {
		p, err := platform.Parse(s)
		if err != nil {
			return nil, err
		}
		if seen[platforms.Format(p)] {
			return nil, fmt.Errorf("platform %s is given twice: list each platform once", platforms.Format(p))
		}
		seen[platforms.Format(p)] = true
		if err := platform.Local(b.cfg.BinfmtDir).Check(p, "building for"); err != nil {
			return nil, err
		}
		plats = append(plats, p)
	}
	owner, err := newOwner(b.proc)
	if err != nil {
		return nil, err
	}
	// One lease for every platform's build: their manifests have no name
	// until the index does. A killed berth's lease is found by its owner.
	ctx, done, err := b.client.WithLease(ctx, leases.WithRandomID(), leases.WithExpiration(6*time.Hour),
		leases.WithLabel(LabelOwner, owner.String()), leases.WithLabel(leasePurpose, "build"))
	if err != nil {
		return nil, fmt.Errorf("build: lease: %w", err)
	}
	defer done(context.WithoutCancel(ctx)) //nolint:errcheck // the lease expires anyway

	results := make([]*Result, len(plats))
	g, gctx := errgroup.WithContext(ctx)
	for i, p := range plats {
		sub := req
		sub.Platforms, sub.Platform, sub.Tags = nil, platforms.Format(p), nil
		sub.Name = strings.TrimSpace(req.Name + " " + platforms.Format(p))
		g.Go(func() error {
			r, err := b.Build(gctx, sub)
			if err != nil {
				return fmt.Errorf("%s: %w", platforms.Format(p), err)
			}
			results[i] = r
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}

	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: make([]ocispec.Descriptor, len(results))}
	idx.SchemaVersion = 2
	labels := map[string]string{}
	res := &Result{}
	for i, r := range results {
		m := r.Manifest
		p := r.Platform
		m.Platform = &p
		idx.Manifests[i] = m
		labels[fmt.Sprintf("containerd.io/gc.ref.content.m.%d", i)] = m.Digest.String()
		res.Steps += r.Steps
		res.Cached += r.Cached
	}
	raw, err := json.Marshal(idx)
	if err != nil {
		return nil, err
	}
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: digest.FromBytes(raw), Size: int64(len(raw))}
	if err := content.WriteBlob(ctx, b.client.ContentStore(), "berth-build-"+desc.Digest.Encoded(), strings.NewReader(string(raw)), desc, content.WithLabels(labels)); err != nil {
		return nil, fmt.Errorf("write image index: %w", err)
	}
	start := time.Now()
	if err := b.name(ctx, req.Tags, desc); err != nil {
		return nil, err
	}
	newOutput(req.Out, req.Name).linef("naming to %s done %s", strings.Join(req.Tags, ", "), since(start))
	res.Manifest, res.Config = desc, desc.Digest
	return res, nil
}

// imageGetter and contentInfo are what named needs of containerd's image
// and content stores.
type imageGetter interface {
	Get(ctx context.Context, name string) (images.Image, error)
}

type contentInfo interface {
	Info(ctx context.Context, dgst digest.Digest) (content.Info, error)
}

// named reports whether every tag (one at least) points at the manifest
// target already and the manifest and its config are in the content store:
// then a build has nothing to write or name. Tags that are missing or
// point elsewhere, or missing content, say false; only other errors are
// returned.
func named(ctx context.Context, is imageGetter, cs contentInfo, tags []string, target ocispec.Descriptor, config digest.Digest) (bool, error) {
	if len(tags) == 0 {
		// The platforms' manifests of an index: the index's lease holds
		// them only once they are written under it.
		return false, nil
	}
	for _, tag := range tags {
		img, err := is.Get(ctx, tag)
		if errdefs.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("image %s: %w", tag, err)
		}
		if img.Target.Digest != target.Digest || img.Target.MediaType != target.MediaType || img.Target.Size != target.Size {
			return false, nil
		}
	}
	for _, d := range []digest.Digest{target.Digest, config} {
		if _, err := cs.Info(ctx, d); errdefs.IsNotFound(err) {
			return false, nil
		} else if err != nil {
			return false, fmt.Errorf("image %s: %w", tags[0], err)
		}
	}
	return true, nil
}

// name points each tag at target.
func (b *Builder) name(ctx context.Context, tags []string, target ocispec.Descriptor) error {
	is := b.client.ImageService()
	for _, tag := range tags {
		rec := images.Image{Name: tag, Target: ocispec.Descriptor{MediaType: target.MediaType, Digest: target.Digest, Size: target.Size}}
		if _, err := is.Create(ctx, rec); err != nil {
			if !errdefs.IsAlreadyExists(err) {
				return fmt.Errorf("name image %s: %w", tag, err)
			}
			if _, err := is.Update(ctx, rec, "target"); err != nil {
				return fmt.Errorf("name image %s: %w", tag, err)
			}
		}
	}
	return nil
}
