package build

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
)

// ownerFilter selects what carries an owner label: build containers and
// build leases.
var ownerFilter = fmt.Sprintf("labels.%q", LabelOwner)

// Reap removes what builds of berth processes that are gone (killed, or
// their machine rebooted) left behind: their build containers with their
// tasks, which takes the shims and the mounts of their root file systems
// with them, and the snapshots they ran on; their leases, which lets
// containerd collect what only those held; their networks; their FIFO
// and /etc directories. What a build whose process still runs uses is
// left alone, so that builds of two berth processes never disturb each
// other. Every build and `berth builder prune` calls it.
func (b *Builder) Reap(ctx context.Context) error {
	var errs []error
	ctrs, err := b.client.Containers(ctx, ownerFilter)
	if err != nil {
		errs = append(errs, fmt.Errorf("list build containers: %w", err))
	}
	for _, c := range ctrs {
		labels, err := c.Labels(ctx)
		if errdefs.IsNotFound(err) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("build container %s: %w", c.ID(), err))
			continue
		}
		if stale(b.proc, labels[LabelOwner]) {
			errs = append(errs, b.removeContainer(ctx, c))
		}
	}
	ls := b.client.LeasesService()
	held, err := ls.List(ctx, ownerFilter)
	if err != nil {
		errs = append(errs, fmt.Errorf("list build leases: %w", err))
	}
	for _, l := range held {
		if !stale(b.proc, l.Labels[LabelOwner]) {
			continue
		}
		if err := ls.Delete(ctx, l, leases.SynchronousDelete); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete build lease %s: %w", l.ID, err))
		}
	}
	errs = append(errs, b.reapHost(ctx))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("clean up interrupted builds: %w", err)
	}
	return nil
}

// reapHost removes the networks and the FIFO and /etc directories of
// builds whose owner is gone.
func (b *Builder) reapHost(ctx context.Context) error {
	var errs []error
	if b.cfg.Network != nil {
		ids, err := b.cfg.Network.BuildNetworks(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("list build networks: %w", err))
		}
		for _, id := range ids {
			if stale(b.proc, id) {
				errs = append(errs, b.cfg.Network.RemoveBuildNetwork(ctx, id))
			}
		}
	}
	for _, dir := range []string{b.cfg.FIFODir, b.cfg.EtcDir} {
		errs = append(errs, b.removeStale(dir))
	}
	errs = append(errs, b.removeStaleMounts(filepath.Join(b.cfg.StateDir, "mounts")))
	return errors.Join(errs...)
}

// removeStaleMounts removes the bind mount copies and mounted stages of
// builds that are gone (see build.mountDir), unmounting the stages first
// so that removing never reaches into a snapshot.
func (b *Builder) removeStaleMounts(dir string) error {
	if b.cfg.StateDir == "" {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if !stale(b.proc, e.Name()) {
			continue
		}
		owned := filepath.Join(dir, e.Name())
		subs, _ := os.ReadDir(owned)
		unmounted := true
		for _, s := range subs {
			root := filepath.Join(owned, s.Name(), "root")
			if err := mount.UnmountAll(root, unix.MNT_DETACH); err != nil {
				errs = append(errs, fmt.Errorf("unmount %s: %w", root, err))
				unmounted = false
			}
		}
		if unmounted {
			errs = append(errs, os.RemoveAll(owned))
		}
	}
	return errors.Join(errs...)
}

// removeContainer kills and deletes a build container's task, the
// container, and the snapshot it ran on.
func (b *Builder) removeContainer(ctx context.Context, c containerd.Container) error {
	info, err := c.Info(ctx)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("build container %s: %w", c.ID(), err)
	}
	task, err := c.Task(ctx, nil)
	switch {
	case err == nil:
		// To the end even when ctx ends: a delete cancelled midway
		// leaves containerd a task record that refuses the ID again.
		if _, err := task.Delete(context.WithoutCancel(ctx), containerd.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("build container %s: delete task: %w", c.ID(), err)
		}
	case !errdefs.IsNotFound(err):
		return fmt.Errorf("build container %s: task: %w", c.ID(), err)
	}
	if err := c.Delete(ctx); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("delete build container %s: %w", c.ID(), err)
	}
	if info.SnapshotKey != "" {
		err := b.client.SnapshotService(info.Snapshotter).Remove(ctx, info.SnapshotKey)
		if err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("build container %s: remove snapshot: %w", c.ID(), err)
		}
	}
	return nil
}

// removeStale removes the entries of dir named after an owner that is gone.
func (b *Builder) removeStale(dir string) error {
	if dir == "" {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if stale(b.proc, e.Name()) {
			errs = append(errs, os.RemoveAll(filepath.Join(dir, e.Name())))
		}
	}
	return errors.Join(errs...)
}
