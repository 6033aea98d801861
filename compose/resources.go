package compose

import (
	"fmt"
	"maps"
	"sort"

	"github.com/compose-spec/compose-go/v2/types"
)

// Resources are a service's resource limits and kernel settings.
type Resources struct {
	// MemLimit, MemReservation and MemSwapLimit are bytes (0: none;
	// MemSwapLimit -1: unlimited swap).
	MemLimit, MemReservation, MemSwapLimit int64
	// CPUs is how many CPUs' worth of time it may use (0: no limit).
	CPUs      float64
	CPUShares int64
	// CPUPeriod and CPUQuota are the CFS values when given directly.
	CPUPeriod, CPUQuota int64
	PidsLimit           int64
	// ShmSize is /dev/shm's size in bytes (0: Docker's 64 MiB).
	ShmSize     int64
	OomScoreAdj int64
	Ulimits     []Ulimit
	Sysctls     map[string]string
	Devices     []Device
	// CPUSet is the CPUs it may run on ("0-2,4"), or "".
	CPUSet string
	// Blkio is its blkio_config, or nil.
	Blkio *BlkioConfig
	// DeviceCgroupRules are device_cgroup_rules, checked by ParseDeviceCgroupRule.
	DeviceCgroupRules []string
}

// Ulimit is one rlimit.
type Ulimit struct {
	Name       string
	Soft, Hard int64
}

// Device is a host device made available in the container.
type Device struct {
	Source, Target, Permissions string
}

// resourcesOf reads the service's limits; deploy.resources.limits wins
// over the service-level keys, as in docker compose.
func resourcesOf(sc types.ServiceConfig) (Resources, error) {
	r := Resources{
		MemLimit: int64(sc.MemLimit), MemReservation: int64(sc.MemReservation), MemSwapLimit: int64(sc.MemSwapLimit),
		CPUs: float64(sc.CPUS), CPUShares: sc.CPUShares, CPUPeriod: sc.CPUPeriod, CPUQuota: sc.CPUQuota,
		PidsLimit: sc.PidsLimit, ShmSize: int64(sc.ShmSize), OomScoreAdj: sc.OomScoreAdj,
		Sysctls: maps.Clone(map[string]string(sc.Sysctls)),
	}
	if d := sc.Deploy; d != nil {
		if l := d.Resources.Limits; l != nil {
			if l.MemoryBytes != 0 {
				r.MemLimit = int64(l.MemoryBytes)
			}
			if l.NanoCPUs != 0 {
				r.CPUs = float64(l.NanoCPUs)
			}
			if l.Pids != 0 {
				r.PidsLimit = l.Pids
			}
		}
		if res := d.Resources.Reservations; res != nil && res.MemoryBytes != 0 {
			r.MemReservation = int64(res.MemoryBytes)
		}
	}
	if r.CPUs < 0 {
		return r, fmt.Errorf("cpus must not be negative (got %v)", r.CPUs)
	}
	if r.MemSwapLimit > 0 && r.MemLimit > 0 && r.MemSwapLimit < r.MemLimit {
		return r, fmt.Errorf("memswap_limit (%d) must be at least mem_limit (%d): it counts memory and swap together", r.MemSwapLimit, r.MemLimit)
	}
	names := make([]string, 0, len(sc.Ulimits))
	for name := range sc.Ulimits {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		u := sc.Ulimits[name]
		soft, hard := int64(u.Soft), int64(u.Hard)
		if u.Single != 0 {
			soft, hard = int64(u.Single), int64(u.Single)
		}
		if soft > hard && hard != -1 {
			return r, fmt.Errorf("ulimits.%s: the soft limit %d is above the hard limit %d", name, soft, hard)
		}
		r.Ulimits = append(r.Ulimits, Ulimit{Name: name, Soft: soft, Hard: hard})
	}
	for _, d := range sc.Devices {
		target := d.Target
		if target == "" {
			target = d.Source
		}
		perms := d.Permissions
		if perms == "" {
			perms = "rwm"
		}
		r.Devices = append(r.Devices, Device{Source: d.Source, Target: target, Permissions: perms})
	}
	return r, nil
}
