package containerd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/images/archive"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth/berth/platform"
	"github.com/berth/berth/scheduler"
)

// Push pushes a local image to its registry and returns the digest of
// what its name now points to there. An image whose name points at an
// index is pushed with every platform whose content is stored: the index
// as it is when all are, else a new index of the stored ones (an index
// naming manifests the registry lacks would be refused). The progress
// event names the platforms pushed.
func (c *Client) Push(ctx context.Context, image string) (_ string, retErr error) {
	ref, err := NormalizeRef(image)
	if err != nil {
		return "", err
	}
	img, err := c.client.ImageService().Get(ctx, ref)
	if errdefs.IsNotFound(err) {
		return "", fmt.Errorf("push %s: no such local image: build or pull it first", image)
	}
	if err != nil {
		return "", fmt.Errorf("push %s: %w", image, err)
	}
	ctx, done, err := c.client.WithLease(ctx)
	if err != nil {
		return "", fmt.Errorf("push %s: %w", image, err)
	}
	defer done(context.WithoutCancel(ctx)) //nolint:errcheck // the lease only guards a new index until it is pushed
	target, pushed, err := pushTarget(ctx, c.client.ContentStore(), img)
	if err != nil {
		return "", fmt.Errorf("push %s: %w", image, err)
	}
	c.events.Emit(scheduler.Event{Kind: scheduler.KindImage, Name: image, Status: scheduler.StatusWorking, Text: "Pushing"})
	err = c.client.Push(ctx, ref, target,
		containerd.WithResolver(c.resolver()),
		containerd.WithPlatformMatcher(anyOf(pushed)),
	)
	if err != nil {
		return "", fmt.Errorf("push %s: %w", image, explainPush(err))
	}
	names := make([]string, 0, len(pushed))
	for _, p := range pushed {
		names = append(names, platform.Format(p))
	}
	text := "Pushed"
	if images.IsIndexType(target.MediaType) {
		text = "Pushed (index: " + strings.Join(names, ", ") + ")"
	}
	c.events.Emit(scheduler.Event{Kind: scheduler.KindImage, Name: image, Status: scheduler.StatusDone, Text: text})
	return target.Digest.String(), nil
}

// pushTarget is what pushing img pushes: its target and its platforms
// when all are stored; for an index of which only some are, a new index
// of those (stored under the caller's lease; attestation manifests are
// left out of it, as nested indexes are). It fails when none is stored.
func pushTarget(ctx context.Context, cs content.Store, img images.Image) (ocispec.Descriptor, []ocispec.Platform, error) {
	ps, err := imagePlatforms(ctx, cs, img.Target)
	if err != nil {
		return ocispec.Descriptor{}, nil, err
	}
	var present []ocispec.Platform
	keep := map[digest.Digest]bool{}
	for _, p := range ps {
		if p.Present {
			present = append(present, p.Platform)
			keep[p.Manifest.Digest] = true
		}
	}
	if len(present) == 0 {
		return ocispec.Descriptor{}, nil, fmt.Errorf("none of its platforms is stored here: pull it first")
	}
	if !images.IsIndexType(img.Target.MediaType) {
		return img.Target, present, nil
	}
	idx, err := readIndex(ctx, cs, img.Target)
	if err != nil {
		return ocispec.Descriptor{}, nil, err
	}
	var manifests []ocispec.Descriptor
	for _, m := range idx.Manifests {
		if keep[m.Digest] {
			manifests = append(manifests, m)
		}
	}
	if len(manifests) == len(idx.Manifests) {
		return img.Target, present, nil
	}
	idx.Manifests = manifests
	b, err := json.Marshal(idx)
	if err != nil {
		return ocispec.Descriptor{}, nil, err
	}
	desc := ocispec.Descriptor{MediaType: img.Target.MediaType, Digest: digest.FromBytes(b), Size: int64(len(b))}
	if err := content.WriteBlob(ctx, cs, "push-index-"+desc.Digest.String(), bytes.NewReader(b), desc); err != nil {
		return ocispec.Descriptor{}, nil, fmt.Errorf("write the index of its stored platforms: %w", err)
	}
	// Set on the blob, new or already stored, so that its manifests stay
	// while it does.
	info := content.Info{Digest: desc.Digest, Labels: map[string]string{}}
	var fields []string
	for i, m := range manifests {
		key := fmt.Sprintf("containerd.io/gc.ref.content.m.%d", i)
		info.Labels[key] = m.Digest.String()
		fields = append(fields, "labels."+key)
	}
	if _, err := cs.Update(ctx, info, fields...); err != nil {
		return ocispec.Descriptor{}, nil, fmt.Errorf("write the index of its stored platforms: %w", err)
	}
	return desc, present, nil
}

// Save writes local images to w as one OCI archive (which `berth load`
// and `docker load` read), with every platform of them that is stored.
func (c *Client) Save(ctx context.Context, w io.Writer, images ...string) error {
	return c.SavePlatform(ctx, w, "", images...)
}

// SavePlatform is Save for one platform ("" for every stored one): the
// archive holds each image's index and that platform's manifest, config
// and layers. An image that does not hold the platform fails the save,
// naming the platforms it holds.
func (c *Client) SavePlatform(ctx context.Context, w io.Writer, plat string, images ...string) error {
	is := c.client.ImageService()
	var present []ocispec.Platform
	var opts []archive.ExportOpt
	for _, image := range images {
		ref, err := NormalizeRef(image)
		if err != nil {
			return err
		}
		img, err := is.Get(ctx, ref)
		if errdefs.IsNotFound(err) {
			return fmt.Errorf("save %s: no such local image", image)
		} else if err != nil {
			return fmt.Errorf("save %s: %w", image, err)
		}
		if plat != "" {
			if _, err := c.platformImage(ctx, img, plat); err != nil {
				return fmt.Errorf("save: %w", err)
			}
		} else {
			ps, err := imagePlatforms(ctx, c.client.ContentStore(), img.Target)
			if err != nil {
				return fmt.Errorf("save %s: %w", image, err)
			}
			for _, p := range ps {
				if p.Present {
					present = append(present, p.Platform)
				}
			}
		}
		opts = append(opts, archive.WithImage(is, ref))
	}
	if plat != "" {
		p, _ := platform.Parse(plat) // platformImage checked it
		opts = append(opts, archive.WithPlatform(platforms.Only(p)))
	} else {
		opts = append(opts, archive.WithPlatform(anyOf(present)), archive.WithSkipMissing(c.client.ContentStore()))
	}
	if err := c.client.Export(ctx, w, opts...); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	return nil
}

// anyOf matches the platforms ps, exactly; of two, this host's comes
// first (docker's manifest.json of a saved archive names the first).
func anyOf(ps []ocispec.Platform) platforms.MatchComparer {
	return anyOfMatcher{ps: ps, host: platforms.Default()}
}

type anyOfMatcher struct {
	ps   []ocispec.Platform
	host platforms.MatchComparer
}

func (m anyOfMatcher) Match(p ocispec.Platform) bool {
	for _, q := range m.ps {
		if platforms.OnlyStrict(q).Match(p) {
			return true
		}
	}
	return false
}

func (m anyOfMatcher) Less(a, b ocispec.Platform) bool {
	if m.host.Match(a) != m.host.Match(b) {
		return m.host.Match(a)
	}
	return m.host.Less(a, b)
}
