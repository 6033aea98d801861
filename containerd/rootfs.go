package containerd

import (
	"context"
	"fmt"
	"os"

	apitask "github.com/containerd/containerd/api/types/task"
	"github.com/containerd/containerd/v2/core/mount"

	"github.com/berth/berth/scheduler"
)

// WithRoot calls fn with the container's root filesystem as a directory of
// the host. While the container's task has a process (running, paused)
// that is the process's /proc/PID/root, where the container's volumes,
// bind mounts and tmpfs are seen as the container sees them. Otherwise
// (created, exited) its snapshot is mounted on a temporary directory for
// the call, without its volumes, and unmounted after.
func (c *Client) WithRoot(ctx context.Context, sc scheduler.Container, fn func(root string) error) error {
	if root, ok := c.processRoot(ctx, sc.ID); ok {
		return fn(root)
	}
	return c.withSnapshot(ctx, sc, mount.WithTempMount, fn)
}

// processRoot is /proc/PID/root of the container's task's process, when
// the task has a live one.
func (c *Client) processRoot(ctx context.Context, id string) (string, bool) {
	proc, err := c.taskProcess(ctx, id)
	if err != nil || proc.Status == apitask.Status_STOPPED || proc.Pid == 0 {
		return "", false
	}
	root := fmt.Sprintf("/proc/%d/root", proc.Pid)
	if _, err := os.Stat(root); err != nil {
		return "", false
	}
	return root, true
}

// WithFilesystem calls fn with a read-only view of the container's own
// filesystem, its image with its changes and without its volumes, bind
// mounts or tmpfs, whether it runs or not: what docker export archives
// and docker commit sees. The snapshot is mounted read-only (overlay's
// upper directory as one more lower one), which leaves a running
// container's own mount alone.
func (c *Client) WithFilesystem(ctx context.Context, sc scheduler.Container, fn func(root string) error) error {
	return c.withSnapshot(ctx, sc, mount.WithReadonlyTempMount, fn)
}

// withSnapshot mounts the container's snapshot on a temporary directory
// with mountTemp (read-write or read-only) for fn, and unmounts it after.
func (c *Client) withSnapshot(ctx context.Context, sc scheduler.Container, mountTemp func(context.Context, []mount.Mount, func(string) error) error, fn func(root string) error) error {
	info, err := c.client.ContainerService().Get(ctx, sc.ID)
	if err != nil {
		return fmt.Errorf("container %s: %w", sc.Name, err)
	}
	mounts, err := c.client.SnapshotService(info.Snapshotter).Mounts(ctx, info.SnapshotKey)
	if err != nil {
		return fmt.Errorf("container %s: its filesystem: %w", sc.Name, err)
	}
	// The temporary mount wraps fn's error in one naming its directory;
	// fn's own is the one to report.
	var fnErr error
	err = mountTemp(ctx, mounts, func(root string) error {
		fnErr = fn(root)
		return fnErr
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("container %s: mount its filesystem: %w", sc.Name, err)
	}
	return nil
}

// ProcessUser is the uid and gid the container's process runs as, from
// its spec (the image's USER or the service's user, resolved when it was
// created): who files written for it belong to, as watch's sync makes
// them.
func (c *Client) ProcessUser(ctx context.Context, sc scheduler.Container) (uid, gid int, err error) {
	ctr, err := c.client.LoadContainer(ctx, sc.ID)
	if err != nil {
		return 0, 0, fmt.Errorf("container %s: %w", sc.Name, err)
	}
	spec, err := ctr.Spec(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("container %s: %w", sc.Name, err)
	}
	if spec.Process == nil {
		return 0, 0, nil
	}
	return int(spec.Process.User.UID), int(spec.Process.User.GID), nil
}
