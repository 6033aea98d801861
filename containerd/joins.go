package containerd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	apitask "github.com/containerd/containerd/api/types/task"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
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
	pidOf := func(key string, m compose.NamespaceMode) (string, scheduler.Container, error) {
		var target scheduler.Container
		if name := m.Service(); name != "" {
			cs, err := c.Containers(ctx, project)
			if err != nil {
				return "", target, err
			}
			for _, x := range cs {
				if x.Labels.Service() == name && !x.Labels.OneOff() && x.Labels.Number() == 1 {
					target = x
				}
			}
			if target.ID == "" {
				return "", target, fmt.Errorf("service %q: %s %q: service %s has no container", s.Name, key, m, name)
			}
		} else {
			var err error
			if target, err = c.container(ctx, m.Container()); errdefs.IsNotFound(err) {
				return "", target, fmt.Errorf("service %q: %s %q: no such container", s.Name, key, m)
			} else if err != nil {
				return "", target, fmt.Errorf("service %q: %s %q: %w", s.Name, key, m, err)
			}
		}
		proc, err := c.liveProcess(ctx, target.ID)
		if err != nil {
			return "", target, fmt.Errorf("service %q: %s %q: %w", s.Name, key, m, err)
		}
		return proc, target, nil
	}
	if m := s.Namespaces.IPC; m.Service() != "" || m.Container() != "" {
		proc, target, err := pidOf("ipc", m)
		if err != nil {
			return out, err
		}
		out.IPC, out.Shm, out.IPCFrom = proc+"/ns/ipc", target.Labels[labelShm], target.ID
	}
	if m := s.Namespaces.PID; m.Service() != "" || m.Container() != "" {
		proc, target, err := pidOf("pid", m)
		if err != nil {
			return out, err
		}
		out.PID, out.PIDFrom = proc+"/ns/pid", target.ID
	}
	return out, nil
}

// liveProcess is the /proc directory of the process of a container's task,
// which must be running (or created: its namespaces exist then).
func (c *Client) liveProcess(ctx context.Context, id string) (string, error) {
	proc, err := c.taskProcess(ctx, id)
	if errdefs.IsNotFound(err) || (err == nil && proc.Status != apitask.Status_RUNNING && proc.Status != apitask.Status_CREATED && proc.Status != apitask.Status_PAUSED) {
		return "", fmt.Errorf("container %s is not running: start it first", id)
	}
	if err != nil {
		return "", err
	}
	return "/proc/" + strconv.FormatUint(uint64(proc.Pid), 10), nil
}

// Labels naming the containers whose ipc and pid namespaces a container
// joins: each start joins their processes of the moment, which change
// when they restart.
const (
	labelJoinIPC = "berth.join-ipc"
	labelJoinPID = "berth.join-pid"
)

// joinLabels are the labels of joined.
func joinLabels(j Joined) map[string]string {
	out := map[string]string{}
	if j.IPCFrom != "" {
		out[labelJoinIPC] = j.IPCFrom
	}
	if j.PIDFrom != "" {
		out[labelJoinPID] = j.PIDFrom
	}
	return out
}

// rejoin points the spec of a container that joins others' namespaces at
// their current processes, before its task is made.
func (c *Client) rejoin(ctx context.Context, ctr containerd.Container, sc scheduler.Container) error {
	kinds := []struct {
		label string
		kind  specs.LinuxNamespaceType
		file  string
	}{{labelJoinIPC, specs.IPCNamespace, "ipc"}, {labelJoinPID, specs.PIDNamespace, "pid"}}
	var spec *oci.Spec
	for _, k := range kinds {
		target := sc.Labels[k.label]
		if target == "" {
			continue
		}
		proc, err := c.liveProcess(ctx, target)
		if err != nil {
			return fmt.Errorf("start container %s: it joins the %s namespace of %w", sc.Name, k.file, err)
		}
		if spec == nil {
			if spec, err = ctr.Spec(ctx); err != nil {
				return fmt.Errorf("start container %s: %w", sc.Name, err)
			}
		}
		for i, ns := range spec.Linux.Namespaces {
			if ns.Type == k.kind {
				spec.Linux.Namespaces[i].Path = proc + "/ns/" + k.file
			}
		}
	}
	if spec == nil {
		return nil
	}
	if err := ctr.Update(ctx, containerd.UpdateContainerOpts(containerd.WithSpec(spec))); err != nil {
		return fmt.Errorf("start container %s: update its namespaces: %w", sc.Name, err)
	}
	return nil
}

// labelShm is the host directory of a shareable container's /dev/shm,
// which the containers that join its IPC namespace mount too;
// labelShmSize its size in bytes, for mounting it again after a reboot.
const (
	labelShm     = "berth.shm"
	labelShmSize = "berth.shm-size"
)

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
