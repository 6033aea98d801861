package containerd

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	apitask "github.com/containerd/containerd/api/types/task"
	"github.com/containerd/errdefs"

	"github.com/berth/berth/scheduler"
)

// ContainerConfig is what a container's OCI spec and task tell of it
// beyond its labels: what docker inspect shows in Config and HostConfig.
type ContainerConfig struct {
	// Entrypoint and Cmd are its command line, split where the image's
	// entrypoint ends (all of it is Cmd when it does not start with it).
	Entrypoint, Cmd []string
	Env             []string
	WorkingDir      string
	User            string
	Hostname        string
	Tty             bool
	// MemoryLimit is in bytes, NanoCPUs in billionths of a CPU; 0 is none.
	MemoryLimit, NanoCPUs int64
	// Pid is its process's host pid; 0 when it does not run.
	Pid int
	// Mounts are its volumes and host paths (not berth's own /etc files).
	Mounts []ContainerMount
}

// ContainerMount is one of a container's mounts, as docker inspect's
// Mounts shows it.
type ContainerMount struct {
	// Type is "volume" (Name is the volume) or "bind".
	Type, Name, Source, Destination string
	RW                              bool
}

// ownMounts are the files berth mounts into every container.
var ownMounts = []string{"/etc/hostname", "/etc/hosts", "/etc/resolv.conf", "/dev/shm"}

// ContainerConfig reads a container's configuration from its spec (and its
// image's entrypoint), and its pid from its task.
func (c *Client) ContainerConfig(ctx context.Context, sc scheduler.Container) (ContainerConfig, error) {
	var out ContainerConfig
	ctr, err := c.client.LoadContainer(ctx, sc.ID)
	if err != nil {
		return out, fmt.Errorf("container %s: %w", sc.Name, err)
	}
	spec, err := ctr.Spec(ctx)
	if err != nil {
		return out, fmt.Errorf("container %s: read its spec: %w", sc.Name, err)
	}
	out.Hostname = spec.Hostname
	if p := spec.Process; p != nil {
		out.Cmd = withoutInit(p.Args)
		out.Env = slices.Clone(p.Env)
		out.WorkingDir = p.Cwd
		out.Tty = p.Terminal
		if p.User.UID != 0 || p.User.GID != 0 {
			out.User = fmt.Sprintf("%d:%d", p.User.UID, p.User.GID)
		}
	}
	root := c.volumesRoot()
	for _, m := range spec.Mounts {
		if m.Type != "bind" || !filepath.IsAbs(m.Source) || slices.Contains(ownMounts, m.Destination) || m.Destination == InitPath || m.Destination == ProbeAgentPath {
			continue
		}
		cm := ContainerMount{Type: "bind", Source: m.Source, Destination: m.Destination, RW: !slices.Contains(m.Options, "ro")}
		if rel, err := filepath.Rel(root, m.Source); err == nil {
			if name, rest, ok := strings.Cut(rel, string(filepath.Separator)); ok && rest == "_data" && name != ".." {
				cm.Type, cm.Name = "volume", name
			}
		}
		out.Mounts = append(out.Mounts, cm)
	}
	if l := spec.Linux; l != nil && l.Resources != nil {
		if m := l.Resources.Memory; m != nil && m.Limit != nil && *m.Limit > 0 {
			out.MemoryLimit = *m.Limit
		}
		if cpu := l.Resources.CPU; cpu != nil && cpu.Quota != nil && cpu.Period != nil && *cpu.Quota > 0 && *cpu.Period > 0 {
			out.NanoCPUs = *cpu.Quota * 1e9 / int64(*cpu.Period)
		}
	}
	if ref, err := NormalizeRef(sc.Image); err == nil {
		if img, err := c.client.GetImage(ctx, ref); err == nil {
			if cfg, err := img.Spec(ctx); err == nil {
				if ep := cfg.Config.Entrypoint; len(ep) > 0 && len(out.Cmd) >= len(ep) && slices.Equal(out.Cmd[:len(ep)], ep) {
					out.Entrypoint, out.Cmd = ep, out.Cmd[len(ep):]
				}
			}
		}
	}
	proc, err := c.taskProcess(ctx, sc.ID)
	switch {
	case errdefs.IsNotFound(err):
	case err != nil:
		return out, fmt.Errorf("container %s: %w", sc.Name, err)
	case proc.Status == apitask.Status_RUNNING || proc.Status == apitask.Status_PAUSED:
		out.Pid = int(proc.Pid)
	}
	return out, nil
}

// ImageExposedPorts are the ports an image's config exposes (EXPOSE), as
// "80/tcp", sorted: what docker run -P publishes.
func (c *Client) ImageExposedPorts(ctx context.Context, image string) ([]string, error) {
	ref, err := NormalizeRef(image)
	if err != nil {
		return nil, err
	}
	img, err := c.client.GetImage(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", image, err)
	}
	cfg, err := img.Spec(ctx)
	if err != nil {
		return nil, fmt.Errorf("image %s: read its config: %w", image, err)
	}
	var out []string
	for p := range cfg.Config.ExposedPorts {
		out = append(out, p)
	}
	slices.Sort(out)
	return out, nil
}
