package containerd

import (
	"context"
	"fmt"
	"io"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images/archive"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth/berth/scheduler"
)

// Push pushes a local image to its registry, for this host's platform,
// and returns the pushed manifest's digest.
func (c *Client) Push(ctx context.Context, image string) (string, error) {
	ref, err := NormalizeRef(image)
	if err != nil {
		return "", err
	}
	img, err := c.client.GetImage(ctx, ref)
	if errdefs.IsNotFound(err) {
		return "", fmt.Errorf("push %s: no such local image: build or pull it first", image)
	}
	if err != nil {
		return "", fmt.Errorf("push %s: %w", image, err)
	}
	c.events.Emit(scheduler.Event{Kind: scheduler.KindImage, Name: image, Status: scheduler.StatusWorking, Text: "Pushing"})
	target := img.Target()
	err = c.client.Push(ctx, ref, target,
		containerd.WithResolver(c.resolver()),
		containerd.WithPlatformMatcher(platforms.Default()),
	)
	if err != nil {
		return "", fmt.Errorf("push %s: %w", image, explainPull(err))
	}
	c.events.Emit(scheduler.Event{Kind: scheduler.KindImage, Name: image, Status: scheduler.StatusDone, Text: "Pushed"})
	return target.Digest.String(), nil
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
func (c *Client) SavePlatform(ctx context.Context, w io.Writer, platform string, images ...string) error {
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
		if platform != "" {
			if _, err := c.platformImage(ctx, img, platform); err != nil {
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
	if platform != "" {
		p, _ := ParsePlatform(platform) // platformImage checked it
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
