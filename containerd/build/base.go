package build

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/identity"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// baseManifest is what an image's manifest for one platform says: read
// once per builder, as it is content (the key is the image's target
// digest and the platform), so that builds side by side FROM the same
// image read it once.
type baseManifest struct {
	once     sync.Once
	manifest ocispec.Manifest
	config   []byte
	err      error
}

// bases holds the builder's baseManifests.
type bases struct {
	mu sync.Mutex // guards m
	m  map[string]*baseManifest
}

// get returns the entry of key, made by read when it is first asked for.
// A failed read is not kept: the next build tries again.
func (bs *bases) get(key string, read func() (ocispec.Manifest, []byte, error)) (ocispec.Manifest, []byte, error) {
	bs.mu.Lock()
	if bs.m == nil {
		bs.m = map[string]*baseManifest{}
	}
	e, ok := bs.m[key]
	if !ok {
		e = &baseManifest{}
		bs.m[key] = e
	}
	bs.mu.Unlock()
	e.once.Do(func() { e.manifest, e.config, e.err = read() })
	if e.err != nil {
		bs.mu.Lock()
		if bs.m[key] == e {
			delete(bs.m, key)
		}
		bs.mu.Unlock()
	}
	return e.manifest, e.config, e.err
}

// image loads a local image (pulling it when missing or pull is set) as a
// stage base for platform plat: the config, layers and snapshot chain of
// its manifest for plat (the image may be an index). The image is
// unpacked only when a step runs on it (the result's unpack): a build
// whose steps all come from the cache needs none of its snapshots. lease
// is called before anything is pulled.
func (b *Builder) image(ctx context.Context, ref string, pull bool, plat ocispec.Platform, lease func(context.Context) error) (*stageResult, error) {
	name, err := normalize(ref)
	if err != nil {
		return nil, err
	}
	match := platforms.Only(plat)
	ensured := false
	ensure := func() error {
		ensured = true
		if b.cfg.EnsureImage == nil {
			return nil
		}
		if err := lease(ctx); err != nil {
			return err
		}
		return b.cfg.EnsureImage(ctx, ref, pull, plat)
	}
	if pull {
		if err := ensure(); err != nil {
			return nil, err
		}
	}
	var img images.Image
	var manifest ocispec.Manifest
	var raw []byte
	for {
		img, err = b.client.ImageService().Get(ctx, name)
		if err == nil {
			manifest, raw, err = b.bases.get(img.Target.Digest.String()+" "+platforms.Format(plat), func() (ocispec.Manifest, []byte, error) {
				return b.readBase(ctx, img.Target, match)
			})
		}
		// Missing, or without a manifest for plat: EnsureImage pulls it,
		// once.
		if err == nil || ensured || !errdefs.IsNotFound(err) {
			break
		}
		if err := ensure(); err != nil {
			return nil, err
		}
	}
	if err != nil {
		if _, noManifest := err.(noManifestError); noManifest {
			return nil, fmt.Errorf("image %s has no manifest for %s: %w (pull or load the image for that platform)", ref, platforms.Format(plat), err)
		}
		return nil, fmt.Errorf("image %s: %w", ref, err)
	}
	var cfg dockerspec.DockerOCIImage
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("image %s: config: %w", ref, err)
	}
	// A plain manifest (no index) is taken whatever the matcher: its config
	// says what it is for (when it says anything).
	if got := platforms.Normalize(ocispec.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant}); cfg.Architecture != "" && !match.Match(got) {
		return nil, fmt.Errorf("image %s is for %s, not %s: pull or load the image for that platform", ref, platforms.Format(got), platforms.Format(plat))
	}
	if len(cfg.RootFS.DiffIDs) != len(manifest.Layers) {
		return nil, fmt.Errorf("image %s: config lists %d layers, manifest %d", ref, len(cfg.RootFS.DiffIDs), len(manifest.Layers))
	}
	r := &stageResult{image: cfg}
	r.descs = make([]ocispec.Descriptor, len(manifest.Layers))
	for i, l := range manifest.Layers {
		l.MediaType = ociLayerType(l.MediaType)
		l.Annotations = nil
		r.descs[i] = l
	}
	r.diffIDs = append([]digest.Digest{}, cfg.RootFS.DiffIDs...)
	if len(r.diffIDs) > 0 {
		r.chain = identity.ChainID(r.diffIDs)
		unpacked := containerd.NewImageWithPlatform(b.client, img, match)
		r.unpack = func(ctx context.Context) error {
			if ok, err := unpacked.IsUnpacked(ctx, b.cfg.Snapshotter); err == nil && ok {
				return nil
			}
			if err := unpacked.Unpack(ctx, b.cfg.Snapshotter); err != nil {
				return fmt.Errorf("image %s: unpack: %w", ref, err)
			}
			return nil
		}
	}
	r.key = "image:" + manifest.Config.Digest.String()
	if cfg.Created != nil {
		r.created = *cfg.Created
	}
	return r, nil
}

// noManifestError is images.Manifest's error: the image has no manifest
// for the platform, or its content is missing.
type noManifestError struct{ error }

func (e noManifestError) Unwrap() error { return e.error }

// readBase reads the manifest of target for the platform match selects,
// and its config blob.
func (b *Builder) readBase(ctx context.Context, target ocispec.Descriptor, match platforms.MatchComparer) (ocispec.Manifest, []byte, error) {
	cs := b.client.ContentStore()
	manifest, err := images.Manifest(ctx, cs, target, match)
	if err != nil {
		return ocispec.Manifest{}, nil, noManifestError{err}
	}
	raw, err := content.ReadBlob(ctx, cs, manifest.Config)
	if err != nil {
		return ocispec.Manifest{}, nil, fmt.Errorf("read config: %w", err)
	}
	return manifest, raw, nil
}
