package containerd

import (
	"context"
	"fmt"
	"io"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images/archive"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"

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
// and `docker load` read), for this host's platform.
func (c *Client) Save(ctx context.Context, w io.Writer, images ...string) error {
	is := c.client.ImageService()
	opts := []archive.ExportOpt{archive.WithPlatform(platforms.DefaultStrict())}
	for _, image := range images {
		ref, err := NormalizeRef(image)
		if err != nil {
			return err
		}
		if _, err := is.Get(ctx, ref); errdefs.IsNotFound(err) {
			return fmt.Errorf("save %s: no such local image", image)
		} else if err != nil {
			return fmt.Errorf("save %s: %w", image, err)
		}
		opts = append(opts, archive.WithImage(is, ref))
	}
	if err := c.client.Export(ctx, w, opts...); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	return nil
}
