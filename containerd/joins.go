package containerd

import (
	"context"
	"fmt"
	"strconv"

	"github.com/containerd/errdefs"

	"github.com/berth/berth/compose"
)

// joined resolves the namespaces of other containers the service's ipc
// and pid keys name (service:NAME: replica 1 of the project's service;
// container:NAME: a container of that name) to the /proc paths of their
// tasks' processes, which must exist.
func (c *Client) joined(ctx context.Context, project string, s *compose.Service) (Joined, error) {
	var out Joined
	pidOf := func(key string, m compose.NamespaceMode) (string, error) {
		id := m.Container()
		if name := m.Service(); name != "" {
			cs, err := c.Containers(ctx, project)
			if err != nil {
				return "", err
			}
			id = ""
			for _, x := range cs {
				if x.Labels.Service() == name && !x.Labels.OneOff() && x.Labels.Number() == 1 {
					id = x.ID
				}
			}
			if id == "" {
				return "", fmt.Errorf("service %q: %s %q: service %s has no container", s.Name, key, m, name)
			}
		}
		proc, err := c.taskProcess(ctx, id)
		if errdefs.IsNotFound(err) {
			return "", fmt.Errorf("service %q: %s %q: container %s is not running: start it first", s.Name, key, m, id)
		}
		if err != nil {
			return "", fmt.Errorf("service %q: %s %q: %w", s.Name, key, m, err)
		}
		return "/proc/" + strconv.FormatUint(uint64(proc.Pid), 10), nil
	}
	if m := s.Namespaces.IPC; m.Service() != "" || m.Container() != "" {
		proc, err := pidOf("ipc", m)
		if err != nil {
			return out, err
		}
		out.IPC, out.Shm = proc+"/ns/ipc", proc+"/root/dev/shm"
	}
	if m := s.Namespaces.PID; m.Service() != "" || m.Container() != "" {
		proc, err := pidOf("pid", m)
		if err != nil {
			return out, err
		}
		out.PID = proc + "/ns/pid"
	}
	return out, nil
}
