package containerd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/scheduler"
)

// joined resolves the namespaces of other containers the service's ipc
// and pid keys name (service:NAME: replica 1 of the project's service;
// container:NAME: a container of that name) to the /proc paths of their
// tasks' processes, which must exist.
func (c *Client) joined(ctx context.Context, project string, s *compose.Service) (Joined, error) {
	var out Joined
	// pidOf returns the /proc directory of the target's process and the
	// target's labels.
	pidOf := func(key string, m compose.NamespaceMode) (string, compose.Labels, error) {
		var target scheduler.Container
		if name := m.Service(); name != "" {
			cs, err := c.Containers(ctx, project)
			if err != nil {
				return "", nil, err
			}
			for _, x := range cs {
				if x.Labels.Service() == name && !x.Labels.OneOff() && x.Labels.Number() == 1 {
					target = x
				}
			}
			if target.ID == "" {
				return "", nil, fmt.Errorf("service %q: %s %q: service %s has no container", s.Name, key, m, name)
			}
		} else {
			var err error
			if target, err = c.container(ctx, m.Container()); errdefs.IsNotFound(err) {
				return "", nil, fmt.Errorf("service %q: %s %q: no such container", s.Name, key, m)
			} else if err != nil {
				return "", nil, fmt.Errorf("service %q: %s %q: %w", s.Name, key, m, err)
			}
		}
		proc, err := c.taskProcess(ctx, target.ID)
		if errdefs.IsNotFound(err) {
			return "", nil, fmt.Errorf("service %q: %s %q: container %s is not running: start it first", s.Name, key, m, target.Name)
		}
		if err != nil {
			return "", nil, fmt.Errorf("service %q: %s %q: %w", s.Name, key, m, err)
		}
		return "/proc/" + strconv.FormatUint(uint64(proc.Pid), 10), target.Labels, nil
	}
	if m := s.Namespaces.IPC; m.Service() != "" || m.Container() != "" {
		proc, labels, err := pidOf("ipc", m)
		if err != nil {
			return out, err
		}
		out.IPC, out.Shm = proc+"/ns/ipc", labels[labelShm]
	}
	if m := s.Namespaces.PID; m.Service() != "" || m.Container() != "" {
		proc, _, err := pidOf("pid", m)
		if err != nil {
			return out, err
		}
		out.PID = proc + "/ns/pid"
	}
	return out, nil
}

// labelShm is the host directory of a shareable container's /dev/shm,
// which the containers that join its IPC namespace mount too.
const labelShm = "berth.shm"

// defaultShmSize is Docker's /dev/shm size.
const defaultShmSize = 64 << 20

// shareableShm reports whether the service's containers get a /dev/shm
// on the host that others can share: ipc: shareable, or a service of the
// project joins its IPC namespace (Docker needs the donor to say
// shareable; compose projects rarely do, so berth infers it).
func shareableShm(p *compose.Project, s *compose.Service) bool {
	if s.Namespaces.IPC == "shareable" {
		return true
	}
	if p == nil {
		return false
	}
	for _, other := range p.Services {
		if other.Namespaces.IPC.Service() == s.Name {
			return true
		}
	}
	return false
}

// mountShm mounts a tmpfs of size bytes at dir unless one is there (a
// reboot unmounts it; the container's next start mounts it again).
func mountShm(dir string, size int64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var st, parent unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return err
	}
	if err := unix.Stat(filepath.Dir(dir), &parent); err != nil {
		return err
	}
	if st.Dev != parent.Dev {
		return nil // mounted already
	}
	if size <= 0 {
		size = defaultShmSize
	}
	opts := "mode=1777,size=" + strconv.FormatInt(size, 10)
	if err := unix.Mount("shm", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, opts); err != nil {
		return fmt.Errorf("mount /dev/shm tmpfs at %s: %w", dir, err)
	}
	return nil
}

// unmountShm undoes mountShm; one not mounted is not an error.
func unmountShm(dir string) error {
	if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil && err != unix.EINVAL && err != unix.ENOENT {
		return fmt.Errorf("unmount %s: %w", dir, err)
	}
	return nil
}
