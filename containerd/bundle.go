package containerd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth/berth/bundle"
)

var _ bundle.BlobSource = (*Client)(nil)

// ErrPlatformMissing is returned (wrapped) by BundleImage for an image
// whose content for the platform is not here: pull or build it for it.
var ErrPlatformMissing = errors.New("no content for the platform here")

// BundleImage describes a local image for a bundle: its manifest for
// platform (the image's own, or the one an index names for platform) and
// the blobs it needs, manifest first. The image's content for that
// platform must be in the content store (pulled or built for it).
func (c *Client) BundleImage(ctx context.Context, image, platform string) (bundle.Image, []bundle.Blob, error) {
	ref, err := NormalizeRef(image)
	if err != nil {
		return bundle.Image{}, nil, err
	}
	p, err := platforms.Parse(platform)
	if err != nil {
		return bundle.Image{}, nil, fmt.Errorf("image %s: invalid platform %q: %w", image, platform, err)
	}
	p = platforms.Normalize(p)
	img, err := c.client.ImageService().Get(ctx, ref)
	if errdefs.IsNotFound(err) {
		return bundle.Image{}, nil, fmt.Errorf("image %s is not present: build or pull it first", image)
	}
	if err != nil {
		return bundle.Image{}, nil, fmt.Errorf("image %s: %w", image, err)
	}
	cs := c.client.ContentStore()
	desc, man, err := platformManifest(ctx, cs, img.Target, platforms.OnlyStrict(p))
	if err != nil {
		return bundle.Image{}, nil, fmt.Errorf("image %s for %s: %w", image, platforms.Format(p), err)
	}
	blobs := []bundle.Blob{{Digest: desc.Digest, Size: desc.Size, MediaType: desc.MediaType}}
	for _, d := range append([]ocispec.Descriptor{man.Config}, man.Layers...) {
		if _, err := cs.Info(ctx, d.Digest); err != nil {
			return bundle.Image{}, nil, fmt.Errorf("image %s for %s: blob %s: %w (pull the image with --platform %s)", image, platforms.Format(p), d.Digest, ErrPlatformMissing, platforms.Format(p))
		}
		blobs = append(blobs, bundle.Blob{Digest: d.Digest, Size: d.Size, MediaType: d.MediaType})
	}
	out := bundle.Image{Name: image, Digest: desc.Digest, MediaType: desc.MediaType, Platform: platforms.Format(p)}
	for _, b := range blobs {
		out.Size += b.Size
		out.Blobs = append(out.Blobs, b.Digest)
	}
	return out, blobs, nil
}

// platformManifest finds the image manifest for the platform match
// takes, under desc (a manifest, or an index naming several).
func platformManifest(ctx context.Context, cs content.Store, desc ocispec.Descriptor, match platforms.MatchComparer) (ocispec.Descriptor, ocispec.Manifest, error) {
	data, err := content.ReadBlob(ctx, cs, desc)
	if errdefs.IsNotFound(err) {
		return desc, ocispec.Manifest{}, fmt.Errorf("manifest %s: %w", desc.Digest, ErrPlatformMissing)
	}
	if err != nil {
		return desc, ocispec.Manifest{}, err
	}
	switch {
	case images.IsIndexType(desc.MediaType):
		var idx ocispec.Index
		if err := json.Unmarshal(data, &idx); err != nil {
			return desc, ocispec.Manifest{}, fmt.Errorf("decode index %s: %w", desc.Digest, err)
		}
		for _, m := range idx.Manifests {
			if m.Platform == nil || !match.Match(*m.Platform) || images.IsAttestationType(m.MediaType) {
				continue
			}
			return platformManifest(ctx, cs, m, match)
		}
		return desc, ocispec.Manifest{}, fmt.Errorf("the image has no manifest for this platform: %w", ErrPlatformMissing)
	case images.IsManifestType(desc.MediaType):
		var man ocispec.Manifest
		if err := json.Unmarshal(data, &man); err != nil {
			return desc, ocispec.Manifest{}, fmt.Errorf("decode manifest %s: %w", desc.Digest, err)
		}
		cfg, err := content.ReadBlob(ctx, cs, man.Config)
		if err != nil {
			return desc, ocispec.Manifest{}, fmt.Errorf("read config %s: %w", man.Config.Digest, err)
		}
		var ic ocispec.Image
		if err := json.Unmarshal(cfg, &ic); err != nil {
			return desc, ocispec.Manifest{}, fmt.Errorf("decode config %s: %w", man.Config.Digest, err)
		}
		if !match.Match(platforms.Normalize(ic.Platform)) {
			return desc, ocispec.Manifest{}, fmt.Errorf("the image is for %s: %w", platforms.Format(platforms.Normalize(ic.Platform)), ErrPlatformMissing)
		}
		desc.Platform = nil
		return desc, man, nil
	}
	return desc, ocispec.Manifest{}, fmt.Errorf("unknown media type %s", desc.MediaType)
}

// ReadBlob opens a blob of the content store.
func (c *Client) ReadBlob(ctx context.Context, b bundle.Blob) (io.ReadCloser, error) {
	ra, err := c.client.ContentStore().ReaderAt(ctx, ocispec.Descriptor{Digest: b.Digest, Size: b.Size, MediaType: b.MediaType})
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{content.NewReader(ra), ra}, nil
}

// MissingBlobs are the blobs of blobs the content store lacks.
func (c *Client) MissingBlobs(ctx context.Context, blobs []bundle.Blob) ([]bundle.Blob, error) {
	var out []bundle.Blob
	cs := c.client.ContentStore()
	for _, b := range blobs {
		_, err := cs.Info(ctx, b.Digest)
		if errdefs.IsNotFound(err) {
			out = append(out, b)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("look up blob %s: %w", b.Digest, err)
		}
	}
	return out, nil
}

// ImportBundle writes a verified bundle's blobs into the content store
// (open reads the bundle again; each blob is checked against its digest
// as it is written) and names its images after the model's images,
// pointing at the bundled manifests (an image of that name is replaced),
// then unpacks them. No registry is contacted. Undo puts the image store
// back as it was and removes the blobs it wrote; on error ImportBundle
// has done that itself.
func (c *Client) ImportBundle(ctx context.Context, b *bundle.Bundle, open func() (io.ReadCloser, error)) (undo func(context.Context) error, retErr error) {
	m := &b.Manifest
	p, err := platforms.Parse(m.Platform)
	if err != nil {
		return nil, fmt.Errorf("bundle platform %q: %w", m.Platform, err)
	}
	ctx, done, err := c.client.WithLease(ctx)
	if err != nil {
		return nil, fmt.Errorf("import bundle: %w", err)
	}
	defer done(ctx) //nolint:errcheck // the images hold their content once made
	cs := c.client.ContentStore()
	is := c.client.ImageService()
	var written []digest.Digest
	type previous struct {
		name   string
		old    *images.Image
		exists bool
	}
	var touched []previous
	undo = func(ctx context.Context) error {
		var firstErr error
		keep := func(err error) {
			if err != nil && !errdefs.IsNotFound(err) && firstErr == nil {
				firstErr = err
			}
		}
		for i := len(touched) - 1; i >= 0; i-- {
			t := touched[i]
			if t.exists {
				_, err := is.Update(ctx, *t.old, "target")
				keep(err)
			} else {
				keep(is.Delete(ctx, t.name))
			}
		}
		for _, d := range written {
			keep(cs.Delete(ctx, d))
		}
		return firstErr
	}
	defer func() {
		if retErr != nil {
			undo(context.WithoutCancel(ctx)) //nolint:errcheck // the import's error is the one to report
		}
	}()
	labels := map[digest.Digest]map[string]string{}
	for _, img := range m.Images {
		l := map[string]string{}
		for i, d := range img.Blobs[1:] {
			if i == 0 {
				l["containerd.io/gc.ref.content.config"] = d.String()
				continue
			}
			l["containerd.io/gc.ref.content.l."+strconv.Itoa(i-1)] = d.String()
		}
		labels[img.Digest] = l
	}
	f, err := open()
	if err != nil {
		return nil, fmt.Errorf("import bundle: %w", err)
	}
	defer f.Close()
	err = bundle.Blobs(f, func(bl bundle.Blob, r io.Reader) error {
		if _, err := cs.Info(ctx, bl.Digest); err == nil {
			return nil
		}
		desc := ocispec.Descriptor{Digest: bl.Digest, Size: bl.Size, MediaType: bl.MediaType}
		var opts []content.Opt
		if l, ok := labels[bl.Digest]; ok {
			opts = append(opts, content.WithLabels(l))
		}
		if err := content.WriteBlob(ctx, cs, "berth-bundle-"+bl.Digest.String(), r, desc, opts...); err != nil {
			return fmt.Errorf("import blob %s: %w", bl.Digest, err)
		}
		written = append(written, bl.Digest)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, img := range m.Images {
		ref, err := NormalizeRef(img.Name)
		if err != nil {
			return nil, err
		}
		target := ocispec.Descriptor{MediaType: img.MediaType, Digest: img.Digest, Size: blobSize(m, img.Digest)}
		old, err := is.Get(ctx, ref)
		switch {
		case err == nil:
			if old.Target.Digest == img.Digest {
				break
			}
			touched = append(touched, previous{name: ref, old: &old, exists: true})
			updated := old
			updated.Target = target
			if _, err := is.Update(ctx, updated, "target"); err != nil {
				return nil, fmt.Errorf("tag image %s: %w", img.Name, err)
			}
		case errdefs.IsNotFound(err):
			touched = append(touched, previous{name: ref})
			if _, err := is.Create(ctx, images.Image{Name: ref, Target: target}); err != nil {
				return nil, fmt.Errorf("tag image %s: %w", img.Name, err)
			}
		default:
			return nil, fmt.Errorf("look up image %s: %w", img.Name, err)
		}
		i, err := c.client.GetImage(ctx, ref)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", img.Name, err)
		}
		i = containerd.NewImageWithPlatform(c.client, i.Metadata(), platforms.OnlyStrict(platforms.Normalize(p)))
		if err := i.Unpack(ctx, c.snapshotter); err != nil {
			return nil, fmt.Errorf("unpack image %s: %w", img.Name, err)
		}
	}
	return undo, nil
}

// blobSize is a blob's size as the bundle lists it.
func blobSize(m *bundle.Manifest, d digest.Digest) int64 {
	for _, b := range m.Blobs {
		if b.Digest == d {
			return b.Size
		}
	}
	if m.Base != nil {
		for _, b := range m.Base.Blobs {
			if b.Digest == d {
				return b.Size
			}
		}
	}
	return 0
}
