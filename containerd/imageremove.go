package containerd

import (
	"context"
	"fmt"

	"github.com/containerd/errdefs"

	"github.com/berth/berth/scheduler"
)

var _ scheduler.ImageRemover = (*Client)(nil)

// RemoveImage deletes a local image by name, as docker rmi does: one that
// a container of any project was made from is kept, with an error that
// satisfies errdefs.IsConflict (its snapshots would outlive the name); a
// missing one is errdefs.IsNotFound. The content goes with containerd's
// garbage collection.
func (c *Client) RemoveImage(ctx context.Context, image string) error {
	ref, err := NormalizeRef(image)
	if err != nil {
		return err
	}
	cs, err := c.Containers(ctx, "")
	if err != nil {
		return fmt.Errorf("remove image %s: %w", image, err)
	}
	for _, sc := range cs {
		if used, err := NormalizeRef(sc.Image); err == nil && used == ref {
			return fmt.Errorf("image %s is used by container %s: %w", image, sc.Name, errdefs.ErrConflict)
		}
	}
	if err := c.client.ImageService().Delete(ctx, ref); err != nil {
		return fmt.Errorf("remove image %s: %w", image, err)
	}
	return nil
}
