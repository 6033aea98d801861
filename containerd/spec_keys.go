package containerd

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berth/berth/compose"
)

// Joined are the namespaces of other containers a new container joins
// (ipc and pid of service:NAME and container:NAME), resolved by Create to
// the /proc paths of those containers' tasks.
type Joined struct {
	// IPC and PID are namespace paths, or "".
	IPC, PID string
	// IPCFrom and PIDFrom are the containers they belong to.
	IPCFrom, PIDFrom string
	// Shm is the host directory of the /dev/shm the container shares:
	// that of the one whose IPC namespace it joins, as Docker shares it,
	// or its own when it is shareable; "" for a tmpfs of its own.
	Shm string
}

// cgroupSupport is what the host's cgroups can do, which the blkio keys
// need to know (Docker discards what the kernel lacks; berth refuses it
// by name, as it cannot warn at create).
type cgroupSupport struct {
	// Unified is cgroup v2.
	Unified bool
	// BlkioWeight is true when the block I/O controller has weights
	// (blkio.weight, or io.weight on v2: a CFQ or BFQ scheduler).
	BlkioWeight bool
	// BlkioThrottle is true when it has device throttles.
	BlkioThrottle bool
}

// hostCgroups probes the host's cgroups at root (/sys/fs/cgroup).
func hostCgroups(root string) cgroupSupport {
	exists := func(p ...string) bool {
		for _, x := range p {
			if _, err := os.Stat(filepath.Join(root, x)); err == nil {
				return true
			}
		}
		return false
	}
	if exists("cgroup.controllers") {
		ctrl, _ := os.ReadFile(filepath.Join(root, "cgroup.controllers"))
		hasIO := strings.Contains(" "+strings.TrimSpace(string(ctrl))+" ", " io ")
		weights, _ := filepath.Glob(filepath.Join(root, "*", "io.*weight"))
		return cgroupSupport{Unified: true, BlkioThrottle: hasIO, BlkioWeight: hasIO && len(weights) > 0}
	}
	return cgroupSupport{
		BlkioWeight:   exists("blkio/blkio.weight", "blkio/blkio.bfq.weight"),
		BlkioThrottle: exists("blkio/blkio.throttle.read_bps_device"),
	}
}

// deviceNumber is the major and minor number of a device node.
func deviceNumber(p string) (int64, int64, error) {
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		return 0, 0, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK && st.Mode&unix.S_IFMT != unix.S_IFCHR {
		return 0, 0, fmt.Errorf("%s is not a device", p)
	}
	return int64(unix.Major(uint64(st.Rdev))), int64(unix.Minor(uint64(st.Rdev))), nil
}

// runtimeKeyOpts are the spec options of the namespace keys (ipc, pid,
// uts, userns_mode, cgroup), cgroup_parent, cpuset, blkio_config and
// device_cgroup_rules.
func runtimeKeyOpts(s *compose.Service, joined Joined, cg cgroupSupport) ([]oci.SpecOpts, error) {
	var opts []oci.SpecOpts
	ns := s.Namespaces
	join := func(kind specs.LinuxNamespaceType, key string, m compose.NamespaceMode, p string) error {
		switch {
		case m.Host():
			opts = append(opts, oci.WithHostNamespace(kind))
		case m.Service() != "" || m.Container() != "":
			if p == "" {
				return fmt.Errorf("service %q: %s %q: its container is not running", s.Name, key, m)
			}
			opts = append(opts, oci.WithLinuxNamespace(specs.LinuxNamespace{Type: kind, Path: p}))
		}
		return nil
	}
	if err := join(specs.IPCNamespace, "ipc", ns.IPC, joined.IPC); err != nil {
		return nil, err
	}
	switch {
	case ns.IPC.Host():
		opts = append(opts, withShm(&specs.Mount{Destination: "/dev/shm", Type: "bind", Source: "/dev/shm", Options: []string{"rbind", "rprivate"}}))
	case ns.IPC == "none":
		opts = append(opts, withShm(nil))
	case joined.Shm != "":
		opts = append(opts, withShm(&specs.Mount{Destination: "/dev/shm", Type: "bind", Source: joined.Shm, Options: []string{"rbind", "rprivate"}}))
	}
	if err := join(specs.PIDNamespace, "pid", ns.PID, joined.PID); err != nil {
		return nil, err
	}
	if ns.UTS.Host() {
		opts = append(opts, oci.WithHostNamespace(specs.UTSNamespace), oci.WithHostname(""), withDomainname(""))
	}
	switch ns.Cgroup {
	case "host":
		opts = append(opts, oci.WithHostNamespace(specs.CgroupNamespace))
	case "private":
		opts = append(opts, oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.CgroupNamespace}))
	}
	// userns_mode: host is what berth does anyway: no user namespace.

	if parent := s.CgroupParent; parent != "" {
		opts = append(opts, func(_ context.Context, _ oci.Client, c *containers.Container, sp *oci.Spec) error {
			sp.Linux.CgroupsPath = path.Join("/", parent, c.ID)
			return nil
		})
	}
	r := s.Resources
	if r.CPUSet != "" {
		opts = append(opts, oci.WithCPUs(r.CPUSet))
	}
	for _, rule := range r.DeviceCgroupRules {
		d, err := compose.ParseDeviceCgroupRule(rule)
		if err != nil {
			return nil, fmt.Errorf("service %q: %w", s.Name, err)
		}
		opts = append(opts, func(_ context.Context, _ oci.Client, _ *containers.Container, sp *oci.Spec) error {
			if sp.Linux.Resources == nil {
				sp.Linux.Resources = &specs.LinuxResources{}
			}
			sp.Linux.Resources.Devices = append(sp.Linux.Resources.Devices,
				specs.LinuxDeviceCgroup{Allow: true, Type: d.Type, Major: d.Major, Minor: d.Minor, Access: d.Access})
			return nil
		})
	}
	if b := r.Blkio; b != nil {
		o, err := blkioOpt(s.Name, b, cg)
		if err != nil {
			return nil, err
		}
		opts = append(opts, o)
	}
	return opts, nil
}

// blkioOpt is blkio_config as the spec's block I/O resources; device paths
// become their numbers.
func blkioOpt(service string, b *compose.BlkioConfig, cg cgroupSupport) (oci.SpecOpts, error) {
	io := &specs.LinuxBlockIO{}
	if b.Weight != 0 || len(b.WeightDevice) > 0 {
		if !cg.BlkioWeight {
			return nil, fmt.Errorf("service %q: blkio_config weights: this kernel's block I/O controller has no weights (no CFQ or BFQ scheduler): remove weight and weight_device", service)
		}
	}
	if b.Weight != 0 {
		w := b.Weight
		io.Weight = &w
	}
	for _, d := range b.WeightDevice {
		maj, minor, err := deviceNumber(d.Path)
		if err != nil {
			return nil, fmt.Errorf("service %q: blkio_config.weight_device %s: %w", service, d.Path, err)
		}
		w := d.Weight
		io.WeightDevice = append(io.WeightDevice, specs.LinuxWeightDevice{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: maj, Minor: minor}, Weight: &w})
	}
	throttles := []struct {
		key  string
		list []compose.BlkioRate
		out  *[]specs.LinuxThrottleDevice
	}{
		{"device_read_bps", b.ReadBps, &io.ThrottleReadBpsDevice},
		{"device_write_bps", b.WriteBps, &io.ThrottleWriteBpsDevice},
		{"device_read_iops", b.ReadIOps, &io.ThrottleReadIOPSDevice},
		{"device_write_iops", b.WriteIOps, &io.ThrottleWriteIOPSDevice},
	}
	for _, th := range throttles {
		if len(th.list) > 0 && !cg.BlkioThrottle {
			return nil, fmt.Errorf("service %q: blkio_config.%s: this kernel's cgroups have no block I/O throttling: remove it", service, th.key)
		}
		for _, d := range th.list {
			maj, minor, err := deviceNumber(d.Path)
			if err != nil {
				return nil, fmt.Errorf("service %q: blkio_config.%s %s: %w", service, th.key, d.Path, err)
			}
			*th.out = append(*th.out, specs.LinuxThrottleDevice{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: maj, Minor: minor}, Rate: d.Rate})
		}
	}
	return func(_ context.Context, _ oci.Client, _ *containers.Container, sp *oci.Spec) error {
		if sp.Linux.Resources == nil {
			sp.Linux.Resources = &specs.LinuxResources{}
		}
		sp.Linux.Resources.BlockIO = io
		return nil
	}, nil
}

// withShm replaces the container's /dev/shm tmpfs by m, or drops it (nil).
func withShm(m *specs.Mount) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, sp *oci.Spec) error {
		kept := sp.Mounts[:0]
		for _, x := range sp.Mounts {
			if x.Destination != "/dev/shm" {
				kept = append(kept, x)
			}
		}
		sp.Mounts = kept
		if m != nil {
			sp.Mounts = append(sp.Mounts, *m)
		}
		return nil
	}
}
