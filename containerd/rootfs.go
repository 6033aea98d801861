package containerd

import (
	"context"
	"fmt"
	"os"

	containerd "github.com/containerd/containerd/v2/client"
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
	ctr, err := c.client.LoadContainer(ctx, sc.ID)
	if err != nil {
		return fmt.Errorf("container %s: %w", sc.Name, err)
	}
	if root, ok := c.processRoot(ctx, ctr); ok {
		return fn(root)
	}
	info, err := ctr.Info(ctx)
	if err != nil {
		return fmt.Errorf("container %s: %w", sc.Name, err)
	}
	mounts, err := c.client.SnapshotService(info.Snapshotter).Mounts(ctx, info.SnapshotKey)
	if err != nil {
		return fmt.Errorf("container %s: its filesystem: %w", sc.Name, err)
	}
	// WithTempMount wraps fn's error in one naming the temporary
	// directory; fn's own is the one to report.
	var fnErr error
	err = mount.WithTempMount(ctx, mounts, func(root string) error {
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

// processRoot is /proc/PID/root of the container's task's process, when
// the task has a live one.
func (c *Client) processRoot(ctx context.Context, ctr containerd.Container) (string, bool) {
	task, err := ctr.Task(ctx, nil)
	if err != nil {
		return "", false
	}
	st, err := task.Status(ctx)
	if err != nil || st.Status == containerd.Stopped || task.Pid() == 0 {
		return "", false
	}
	root := fmt.Sprintf("/proc/%d/root", task.Pid())
	if _, err := os.Stat(root); err != nil {
		return "", false
	}
	return root, true
}
