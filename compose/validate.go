package compose

import (
	"fmt"
	"net/netip"
	"path"
	"runtime"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/sys/signal"
)

// capabilities are the Linux capabilities Docker knows (moby's
// capabilities list), without their CAP_ prefix.
var capabilities = map[string]bool{
	"CHOWN": true, "DAC_OVERRIDE": true, "DAC_READ_SEARCH": true, "FOWNER": true, "FSETID": true,
	"KILL": true, "SETGID": true, "SETUID": true, "SETPCAP": true, "LINUX_IMMUTABLE": true,
	"NET_BIND_SERVICE": true, "NET_BROADCAST": true, "NET_ADMIN": true, "NET_RAW": true,
	"IPC_LOCK": true, "IPC_OWNER": true, "SYS_MODULE": true, "SYS_RAWIO": true, "SYS_CHROOT": true,
	"SYS_PTRACE": true, "SYS_PACCT": true, "SYS_ADMIN": true, "SYS_BOOT": true, "SYS_NICE": true,
	"SYS_RESOURCE": true, "SYS_TIME": true, "SYS_TTY_CONFIG": true, "MKNOD": true, "LEASE": true,
	"AUDIT_WRITE": true, "AUDIT_CONTROL": true, "SETFCAP": true, "MAC_OVERRIDE": true,
	"MAC_ADMIN": true, "SYSLOG": true, "WAKE_ALARM": true, "BLOCK_SUSPEND": true, "AUDIT_READ": true,
	"PERFMON": true, "BPF": true, "CHECKPOINT_RESTORE": true,
}

// checkCapability accepts a capability as Docker does: with or without
// CAP_, in any case, or ALL.
func checkCapability(key, c string) error {
	u := strings.ToUpper(c)
	if u == "ALL" || capabilities[strings.TrimPrefix(u, "CAP_")] {
		return nil
	}
	return fmt.Errorf("%s: unknown capability %q: use a name such as NET_ADMIN or CAP_NET_ADMIN (see capabilities(7)), or ALL", key, c)
}

// ulimitNames are the rlimits Docker knows.
var ulimitNames = map[string]bool{
	"as": true, "core": true, "cpu": true, "data": true, "fsize": true, "locks": true, "memlock": true,
	"msgqueue": true, "nice": true, "nofile": true, "nproc": true, "rss": true, "rtprio": true,
	"rttime": true, "sigpending": true, "stack": true,
}

// namespacedSysctls are the sysctls a container may set outside net.*
// (Docker's list: the others are the host's, not the container's).
var namespacedSysctls = map[string]bool{
	"kernel.msgmax": true, "kernel.msgmnb": true, "kernel.msgmni": true, "kernel.sem": true,
	"kernel.shmall": true, "kernel.shmmax": true, "kernel.shmmni": true, "kernel.shm_rmid_forced": true,
}

// checkSysctl refuses a sysctl Docker refuses: one that is not namespaced
// (it would change the host), or a net.* one for a container on the
// host's network.
func checkSysctl(name, networkMode string) error {
	switch {
	case strings.HasPrefix(name, "net."):
		if networkMode == "host" {
			return fmt.Errorf("sysctls: %s cannot be set with network_mode host: it would change the host's network settings", name)
		}
		return nil
	case namespacedSysctls[name], strings.HasPrefix(name, "fs.mqueue."):
		return nil
	}
	return fmt.Errorf("sysctls: %s is not a namespaced sysctl a container may set (net.*, fs.mqueue.*, kernel.msg*, kernel.sem, kernel.shm*)", name)
}

// checkService refuses values of a service that compose-go accepts and
// Docker refuses when it creates the container, so that up fails before
// it makes anything, with the key at fault.
func checkService(sc types.ServiceConfig, s *Service) error {
	if s.StopGracePeriod != nil && *s.StopGracePeriod < 0 {
		return fmt.Errorf("stop_grace_period %s must not be negative", *s.StopGracePeriod)
	}
	if s.StopSignal != "" {
		if _, err := signal.ParseSignal(s.StopSignal); err != nil {
			return fmt.Errorf("stop_signal %q is not a signal: use a name such as SIGTERM or a number", s.StopSignal)
		}
	}
	for _, c := range s.CapAdd {
		if err := checkCapability("cap_add", c); err != nil {
			return err
		}
	}
	for _, c := range s.CapDrop {
		if err := checkCapability("cap_drop", c); err != nil {
			return err
		}
	}
	for _, a := range s.DNS {
		if _, err := netip.ParseAddr(a); err != nil {
			return fmt.Errorf("dns: %q is not an IP address", a)
		}
	}
	for _, h := range s.ExtraHosts {
		if h.Addr == "host-gateway" {
			continue
		}
		if _, err := netip.ParseAddr(strings.Trim(h.Addr, "[]")); err != nil {
			return fmt.Errorf("extra_hosts: %s: %q is not an IP address (or host-gateway)", h.Name, h.Addr)
		}
	}
	if err := checkHealthcheck(s.Healthcheck); err != nil {
		return err
	}
	if err := checkRestart(sc); err != nil {
		return err
	}
	return checkResources(s.Resources, s.NetworkMode)
}

// checkHealthcheck refuses negative durations and retries, durations
// under Docker's 1ms minimum, and a start_interval without start_period.
func checkHealthcheck(h *Healthcheck) error {
	if h == nil {
		return nil
	}
	for _, d := range []struct {
		key string
		v   *time.Duration
	}{{"interval", h.Interval}, {"timeout", h.Timeout}, {"start_period", h.StartPeriod}, {"start_interval", h.StartInterval}} {
		if d.v == nil || *d.v == 0 {
			continue
		}
		if *d.v < time.Millisecond {
			return fmt.Errorf("healthcheck.%s %s: give at least 1ms (or 0 for the default)", d.key, *d.v)
		}
	}
	if h.Retries != nil && *h.Retries < 0 {
		return fmt.Errorf("healthcheck.retries %d must not be negative", *h.Retries)
	}
	// As docker compose (moby/moby#48874: the engine ignores it without).
	if h.StartInterval != nil && h.StartPeriod == nil {
		return fmt.Errorf("healthcheck.start_interval requires healthcheck.start_period to be set")
	}
	return nil
}

// checkRestart refuses a negative deploy.restart_policy.
func checkRestart(sc types.ServiceConfig) error {
	if sc.Deploy == nil || sc.Deploy.RestartPolicy == nil {
		return nil
	}
	rp := sc.Deploy.RestartPolicy
	if rp.MaxAttempts != nil && int64(*rp.MaxAttempts) < 0 {
		return fmt.Errorf("deploy.restart_policy.max_attempts %d must not be negative", int64(*rp.MaxAttempts))
	}
	if rp.Delay != nil && *rp.Delay < 0 {
		return fmt.Errorf("deploy.restart_policy.delay %s must not be negative", time.Duration(*rp.Delay))
	}
	if rp.Window != nil && *rp.Window < 0 {
		return fmt.Errorf("deploy.restart_policy.window %s must not be negative", time.Duration(*rp.Window))
	}
	return nil
}

// CheckHost refuses what the project's services ask for that this host
// cannot give: cpus above its CPU count. Docker refuses it only when it
// creates the container, so it is no error of the file: config, ps, down
// and logs load a file written for a bigger machine, and the commands that
// make containers (up, run) call CheckHost before they make anything.
func (p *Project) CheckHost() error {
	return p.checkHost(runtime.NumCPU())
}

// checkHost is CheckHost on a host with cpus CPUs.
func (p *Project) checkHost(cpus int) error {
	for _, s := range p.Services {
		if c := s.Resources.CPUs; c > float64(cpus) {
			err := fmt.Errorf("service %q: cpus %v: the range of CPUs is from 0.01 to %d.00, as there are only %d CPUs available", s.Name, c, cpus, cpus)
			return inFiles(err, p.ConfigFiles)
		}
	}
	return nil
}

// checkResources refuses limits Docker refuses whatever the host.
func checkResources(r Resources, networkMode string) error {
	if r.CPUs > 0 && r.CPUs < 0.01 {
		return fmt.Errorf("cpus %v: the range of CPUs is from 0.01 to %d.00", r.CPUs, runtime.NumCPU())
	}
	for _, v := range []struct {
		key string
		n   int64
	}{{"mem_limit", r.MemLimit}, {"mem_reservation", r.MemReservation}, {"shm_size", r.ShmSize}, {"cpu_shares", r.CPUShares}} {
		if v.n < 0 {
			return fmt.Errorf("%s %d must not be negative", v.key, v.n)
		}
	}
	if r.MemSwapLimit < -1 {
		return fmt.Errorf("memswap_limit %d: give a size, or -1 for unlimited swap", r.MemSwapLimit)
	}
	if r.PidsLimit < -1 {
		return fmt.Errorf("pids_limit %d: give a number, or -1 for no limit", r.PidsLimit)
	}
	if r.CPUPeriod != 0 && (r.CPUPeriod < 1000 || r.CPUPeriod > 1000000) {
		return fmt.Errorf("cpu_period %d: give between 1000 and 1000000 microseconds", r.CPUPeriod)
	}
	if r.CPUQuota != 0 && r.CPUQuota < 1000 && r.CPUQuota != -1 {
		return fmt.Errorf("cpu_quota %d: give at least 1000 microseconds (or -1 for none)", r.CPUQuota)
	}
	if r.OomScoreAdj < -1000 || r.OomScoreAdj > 1000 {
		return fmt.Errorf("oom_score_adj %d: give between -1000 and 1000", r.OomScoreAdj)
	}
	for _, u := range r.Ulimits {
		if !ulimitNames[u.Name] {
			return fmt.Errorf("ulimits: unknown limit %q: use one of nofile, nproc, core, memlock, stack, ... (see getrlimit(2))", u.Name)
		}
		if u.Soft < -1 || u.Hard < -1 {
			return fmt.Errorf("ulimits.%s: limits must not be negative (-1 is unlimited)", u.Name)
		}
	}
	for name := range r.Sysctls {
		if err := checkSysctl(name, networkMode); err != nil {
			return err
		}
	}
	for _, d := range r.Devices {
		if !path.IsAbs(d.Source) {
			return fmt.Errorf("devices: %q is not an absolute host path", d.Source)
		}
		if !path.IsAbs(d.Target) {
			return fmt.Errorf("devices: %s: the container path %q must be absolute", d.Source, d.Target)
		}
		if strings.Trim(d.Permissions, "rwm") != "" {
			return fmt.Errorf("devices: %s: permissions %q: use r, w and m (as rwm)", d.Source, d.Permissions)
		}
	}
	return nil
}
