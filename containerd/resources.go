package containerd

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth/berth/compose"
)

// cfsPeriod is the CFS period cpus: is turned into a quota of, as Docker does.
const cfsPeriod = 100000

// rlimits are the ulimit names compose files use, and their kernel names.
var rlimits = map[string]string{
	"core": "RLIMIT_CORE", "cpu": "RLIMIT_CPU", "data": "RLIMIT_DATA", "fsize": "RLIMIT_FSIZE",
	"locks": "RLIMIT_LOCKS", "memlock": "RLIMIT_MEMLOCK", "msgqueue": "RLIMIT_MSGQUEUE", "nice": "RLIMIT_NICE",
	"nofile": "RLIMIT_NOFILE", "nproc": "RLIMIT_NPROC", "rss": "RLIMIT_RSS", "rtprio": "RLIMIT_RTPRIO",
	"rttime": "RLIMIT_RTTIME", "sigpending": "RLIMIT_SIGPENDING", "stack": "RLIMIT_STACK", "as": "RLIMIT_AS",
}

// resourceOpts are the spec options of a service's resource limits,
// ulimits, sysctls and devices.
func resourceOpts(s *compose.Service) ([]oci.SpecOpts, error) {
	r := s.Resources
	var opts []oci.SpecOpts
	if r.MemLimit > 0 {
		opts = append(opts, oci.WithMemoryLimit(uint64(r.MemLimit)))
	}
	if r.MemSwapLimit != 0 {
		opts = append(opts, oci.WithMemorySwap(r.MemSwapLimit))
	}
	if r.MemReservation > 0 {
		opts = append(opts, withLinuxResources(func(res *specs.LinuxResources) {
			v := r.MemReservation
			res.Memory.Reservation = &v
		}))
	}
	switch {
	case r.CPUQuota != 0 || r.CPUPeriod != 0:
		period := uint64(r.CPUPeriod)
		if period == 0 {
			period = cfsPeriod
		}
		opts = append(opts, oci.WithCPUCFS(r.CPUQuota, period))
	case r.CPUs > 0:
		opts = append(opts, oci.WithCPUCFS(int64(r.CPUs*cfsPeriod), cfsPeriod))
	}
	if r.CPUShares > 0 {
		opts = append(opts, oci.WithCPUShares(uint64(r.CPUShares)))
	}
	if r.PidsLimit != 0 {
		opts = append(opts, oci.WithPidsLimit(r.PidsLimit))
	}
	if r.ShmSize > 0 {
		opts = append(opts, withShmSize(r.ShmSize))
	}
	if r.OomScoreAdj != 0 {
		if r.OomScoreAdj < -1000 || r.OomScoreAdj > 1000 {
			return nil, fmt.Errorf("service %q: oom_score_adj %d: give a value from -1000 to 1000", s.Name, r.OomScoreAdj)
		}
		adj := int(r.OomScoreAdj)
		opts = append(opts, func(_ context.Context, _ oci.Client, _ *containers.Container, sp *oci.Spec) error {
			sp.Process.OOMScoreAdj = &adj
			return nil
		})
	}
	var limits []specs.POSIXRlimit
	for _, u := range r.Ulimits {
		kind, ok := rlimits[strings.ToLower(u.Name)]
		if !ok {
			return nil, fmt.Errorf("service %q: ulimits.%s: unknown limit (known: nofile, nproc, core, memlock, stack, ...)", s.Name, u.Name)
		}
		limits = append(limits, specs.POSIXRlimit{Type: kind, Soft: uint64(u.Soft), Hard: uint64(u.Hard)})
	}
	if len(limits) > 0 {
		opts = append(opts, func(_ context.Context, _ oci.Client, _ *containers.Container, sp *oci.Spec) error {
			kept := sp.Process.Rlimits[:0]
			for _, l := range sp.Process.Rlimits {
				replaced := false
				for _, n := range limits {
					replaced = replaced || n.Type == l.Type
				}
				if !replaced {
					kept = append(kept, l)
				}
			}
			sp.Process.Rlimits = append(kept, limits...)
			return nil
		})
	}
	if len(r.Sysctls) > 0 {
		opts = append(opts, func(_ context.Context, _ oci.Client, _ *containers.Container, sp *oci.Spec) error {
			if sp.Linux.Sysctl == nil {
				sp.Linux.Sysctl = map[string]string{}
			}
			for k, v := range r.Sysctls {
				sp.Linux.Sysctl[k] = v
			}
			return nil
		})
	}
	for _, d := range r.Devices {
		opts = append(opts, oci.WithDevices(d.Source, d.Target, d.Permissions))
	}
	return opts, nil
}

func withLinuxResources(f func(*specs.LinuxResources)) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, sp *oci.Spec) error {
		if sp.Linux.Resources == nil {
			sp.Linux.Resources = &specs.LinuxResources{}
		}
		if sp.Linux.Resources.Memory == nil {
			sp.Linux.Resources.Memory = &specs.LinuxMemory{}
		}
		f(sp.Linux.Resources)
		return nil
	}
}

// withShmSize sets the size of the container's /dev/shm.
func withShmSize(size int64) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, sp *oci.Spec) error {
		for i, m := range sp.Mounts {
			if m.Destination != "/dev/shm" {
				continue
			}
			var opts []string
			for _, o := range m.Options {
				if !strings.HasPrefix(o, "size=") {
					opts = append(opts, o)
				}
			}
			sp.Mounts[i].Options = append(opts, "size="+strconv.FormatInt(size, 10))
		}
		return nil
	}
}
