package containerd

import (
	"context"
	"fmt"
	"strings"
	"time"

	v1 "github.com/containerd/cgroups/v3/cgroup1/stats"
	v2 "github.com/containerd/cgroups/v3/cgroup2/stats"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"
	"github.com/containerd/typeurl/v2"

	"github.com/berth/berth/hostproc"
	"github.com/berth/berth/scheduler"
	"github.com/berth/berth/stats"
)

var _ stats.Runtime = (*Client)(nil)

// Pids lists the host pids of the processes of the container's task (its
// cgroup's), for top.
func (c *Client) Pids(ctx context.Context, sc scheduler.Container) ([]int, error) {
	task, err := c.runningTask(ctx, sc)
	if err != nil {
		return nil, err
	}
	procs, err := task.Pids(ctx)
	if err != nil {
		return nil, fmt.Errorf("container %s: list its processes: %w", sc.Name, err)
	}
	pids := make([]int, 0, len(procs))
	for _, p := range procs {
		pids = append(pids, int(p.Pid))
	}
	return pids, nil
}

// Stats reads a running container's counters: CPU time, memory, block
// I/O and pids from its cgroup through containerd's task metrics (cgroup
// v1 or v2), and network traffic from its namespace's /proc/PID/net/dev
// (none when it shares the host's network). The error satisfies
// errdefs.IsNotFound when the container stopped meanwhile.
func (c *Client) Stats(ctx context.Context, sc scheduler.Container) (stats.Sample, error) {
	task, err := c.runningTask(ctx, sc)
	if err != nil {
		return stats.Sample{}, err
	}
	m, err := task.Metrics(ctx)
	if err != nil {
		return stats.Sample{}, fmt.Errorf("container %s: metrics: %w", sc.Name, err)
	}
	s := stats.Sample{ID: sc.ID, Name: sc.Name}
	if m.Timestamp != nil {
		s.At = m.Timestamp.AsTime()
	}
	data, err := typeurl.UnmarshalAny(m.Data)
	if err != nil {
		return stats.Sample{}, fmt.Errorf("container %s: metrics: %w", sc.Name, err)
	}
	switch v := data.(type) {
	case *v1.Metrics:
		cgroup1Sample(&s, v)
	case *v2.Metrics:
		cgroup2Sample(&s, v)
	default:
		return stats.Sample{}, fmt.Errorf("container %s: metrics of unknown type %T", sc.Name, data)
	}
	pid := int(task.Pid())
	host, err := hostproc.Host.SharesHostNetwork(pid)
	if err != nil {
		return stats.Sample{}, fmt.Errorf("container %s: network namespace: %w", sc.Name, err)
	}
	if !host {
		if s.NetRx, s.NetTx, err = hostproc.Host.NetDev(pid); err != nil {
			return stats.Sample{}, fmt.Errorf("container %s: network counters: %w", sc.Name, err)
		}
	}
	return s, nil
}

func cgroup1Sample(s *stats.Sample, m *v1.Metrics) {
	if m.CPU != nil && m.CPU.Usage != nil {
		s.CPU = time.Duration(m.CPU.Usage.Total)
	}
	if m.Memory != nil && m.Memory.Usage != nil {
		s.Mem, s.MemLimit = withoutCache(m.Memory.Usage.Usage, m.Memory.TotalInactiveFile), m.Memory.Usage.Limit
	}
	if m.Pids != nil {
		s.Pids = m.Pids.Current
	}
	if m.Blkio != nil {
		for _, e := range m.Blkio.IoServiceBytesRecursive {
			switch strings.ToLower(e.Op) {
			case "read":
				s.BlockRead += e.Value
			case "write":
				s.BlockWrite += e.Value
			}
		}
	}
}

func cgroup2Sample(s *stats.Sample, m *v2.Metrics) {
	if m.CPU != nil {
		s.CPU = time.Duration(m.CPU.UsageUsec) * time.Microsecond
	}
	if m.Memory != nil {
		s.Mem, s.MemLimit = withoutCache(m.Memory.Usage, m.Memory.InactiveFile), m.Memory.UsageLimit
	}
	if m.Pids != nil {
		s.Pids = m.Pids.Current
	}
	if m.Io != nil {
		for _, e := range m.Io.Usage {
			s.BlockRead += e.Rbytes
			s.BlockWrite += e.Wbytes
		}
	}
}

// withoutCache is memory usage less the inactive page cache, as docker
// stats shows it.
func withoutCache(usage, inactiveFile uint64) uint64 {
	if inactiveFile < usage {
		return usage - inactiveFile
	}
	return usage
}

// runningTask is the task of a container that has processes; its error
// satisfies errdefs.IsNotFound when the container or its task is gone.
func (c *Client) runningTask(ctx context.Context, sc scheduler.Container) (containerd.Task, error) {
	ctr, err := c.client.LoadContainer(ctx, sc.ID)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", sc.Name, err)
	}
	task, err := ctr.Task(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", sc.Name, err)
	}
	st, err := task.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", sc.Name, err)
	}
	if st.Status == containerd.Stopped {
		return nil, fmt.Errorf("container %s is not running: %w", sc.Name, errdefs.ErrNotFound)
	}
	return task, nil
}
