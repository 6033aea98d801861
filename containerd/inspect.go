package containerd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	v1 "github.com/containerd/cgroups/v3/cgroup1/stats"
	v2 "github.com/containerd/cgroups/v3/cgroup2/stats"
	"github.com/containerd/containerd/api/services/tasks/v1"
	"github.com/containerd/containerd/api/types"
	apitask "github.com/containerd/containerd/api/types/task"
	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"github.com/containerd/typeurl/v2"

	"github.com/berth/berth/hostproc"
	"github.com/berth/berth/scheduler"
	"github.com/berth/berth/stats"
)

var _ stats.Runtime = (*Client)(nil)

// Pids lists the host pids of the processes of the container's task (its
// cgroup's), for top.
func (c *Client) Pids(ctx context.Context, sc scheduler.Container) ([]int, error) {
	proc, err := c.taskProcess(ctx, sc.ID)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", sc.Name, err)
	}
	if proc.Status == apitask.Status_STOPPED {
		return nil, fmt.Errorf("container %s is not running: %w", sc.Name, errdefs.ErrNotFound)
	}
	resp, err := c.client.TaskService().ListPids(ctx, &tasks.ListPidsRequest{ContainerID: sc.ID})
	if err != nil {
		return nil, fmt.Errorf("container %s: list its processes: %w", sc.Name, errgrpc.ToNative(err))
	}
	pids := make([]int, 0, len(resp.Processes))
	for _, p := range resp.Processes {
		pids = append(pids, int(p.Pid))
	}
	return pids, nil
}

// Stats reads the counters of running containers, in their order: CPU
// time, memory, block I/O and pids from their cgroups through containerd's
// task metrics (cgroup v1 or v2), and network traffic from their
// namespaces' /proc/PID/net/dev (none for those on the host's network).
// Those that stopped meanwhile are left out. Two requests to containerd,
// whatever the number of containers: the tasks (their pids) and their
// metrics.
func (c *Client) Stats(ctx context.Context, cs []scheduler.Container) ([]stats.Sample, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	list, err := c.client.TaskService().List(ctx, &tasks.ListTasksRequest{})
	if err != nil {
		return nil, fmt.Errorf("stats: list tasks: %w", errgrpc.ToNative(err))
	}
	pids := make(map[string]int, len(list.Tasks))
	for _, t := range list.Tasks {
		if t.Status != apitask.Status_STOPPED && t.Pid != 0 {
			pids[t.ID] = int(t.Pid)
		}
	}
	var filters []string
	for _, sc := range cs {
		if pids[sc.ID] != 0 {
			filters = append(filters, fmt.Sprintf("id==%q", sc.ID))
		}
	}
	if len(filters) == 0 {
		return nil, nil
	}
	resp, err := c.client.TaskService().Metrics(ctx, &tasks.MetricsRequest{Filters: filters})
	if err != nil {
		return nil, fmt.Errorf("stats: metrics: %w", errgrpc.ToNative(err))
	}
	metrics := make(map[string]*types.Metric, len(resp.Metrics))
	for _, m := range resp.Metrics {
		metrics[m.ID] = m
	}
	var out []stats.Sample
	for _, sc := range cs {
		m := metrics[sc.ID]
		if m == nil {
			continue // stopped meanwhile: containerd leaves it out
		}
		s, err := metricsSample(sc, m)
		if err != nil {
			return nil, err
		}
		if sc.Labels.NetNSPath() != "" { // else on the host's network, whose traffic is not its own
			s.NetRx, s.NetTx, err = hostproc.Host.NetDev(pids[sc.ID])
			if errors.Is(err, fs.ErrNotExist) {
				continue // stopped meanwhile
			}
			if err != nil {
				return nil, fmt.Errorf("container %s: network counters: %w", sc.Name, err)
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// metricsSample is a container's sample of its task's metrics.
func metricsSample(sc scheduler.Container, m *types.Metric) (stats.Sample, error) {
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
