package compose

import (
	"fmt"
	"maps"
	"sort"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/go-units"
)

// Hook is one post_start or pre_stop entry: a command run in the container
// right after it starts, or right before it is stopped.
type Hook struct {
	Command    []string
	User       string
	Privileged bool
	WorkingDir string
	// Environment are KEY=VALUE entries laid over the container's.
	Environment []string
}

// NamespaceMode is how a container gets one kind of Linux namespace, as
// ipc, pid, uts, userns_mode and cgroup write it: "" (the default: a new
// one), "host", "private", "shareable", "service:NAME" or "container:NAME".
type NamespaceMode string

// Host reports whether the container shares the host's namespace.
func (m NamespaceMode) Host() bool { return m == "host" }

// Service is the service whose namespace is joined (service:NAME), or "".
func (m NamespaceMode) Service() string {
	name, _ := strings.CutPrefix(string(m), "service:")
	if name == string(m) {
		return ""
	}
	return name
}

// Container is the container whose namespace is joined (container:NAME), or "".
func (m NamespaceMode) Container() string {
	name, _ := strings.CutPrefix(string(m), "container:")
	if name == string(m) {
		return ""
	}
	return name
}

// Namespaces are a service's ipc, pid, uts, userns_mode and cgroup keys.
type Namespaces struct {
	IPC, PID, UTS, UserNS, Cgroup NamespaceMode
}

// LogDriver is a logging driver berth has.
type LogDriver string

const (
	// LogJSONFile is Docker's default: JSON lines in a file.
	LogJSONFile LogDriver = "json-file"
	// LogLocal is Docker's local driver; berth writes the same file as for
	// json-file, with local's default rotation (20 MB, 5 files).
	LogLocal LogDriver = "local"
	// LogNone keeps no log.
	LogNone LogDriver = "none"
)

// Logging is a service's logging key.
type Logging struct {
	Driver LogDriver
	// MaxSize is the size in bytes at which the log is rotated (0: never).
	MaxSize int64
	// MaxFile is how many files (the current one included) are kept.
	MaxFile int
}

// Link is one links entry: Alias resolves to Service for the linking service.
type Link struct {
	Service, Alias string
}

// BlkioConfig is a service's blkio_config.
type BlkioConfig struct {
	Weight       uint16
	WeightDevice []BlkioWeight
	// Throttles are the device_read_bps, ..., limits.
	ReadBps, WriteBps, ReadIOps, WriteIOps []BlkioRate
}

// BlkioWeight is the weight of one device.
type BlkioWeight struct {
	Path   string
	Weight uint16
}

// BlkioRate is a rate limit of one device (bytes or operations per second).
type BlkioRate struct {
	Path string
	Rate uint64
}

// logDrivers are the drivers berth writes; docker's others are refused.
var logDrivers = map[LogDriver]bool{LogJSONFile: true, LogLocal: true, LogNone: true}

// hooksOf converts post_start or pre_stop entries.
func hooksOf(key string, in []types.ServiceHook) ([]Hook, error) {
	var out []Hook
	for i, h := range in {
		if len(h.Command) == 0 {
			return nil, fmt.Errorf("%s[%d]: command is required: give the command to run in the container", key, i)
		}
		hook := Hook{Command: append([]string{}, h.Command...), User: h.User, Privileged: h.Privileged, WorkingDir: h.WorkingDir}
		keys := make([]string, 0, len(h.Environment))
		for k := range h.Environment {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if v := h.Environment[k]; v != nil {
				hook.Environment = append(hook.Environment, k+"="+*v)
			}
		}
		out = append(out, hook)
	}
	return out, nil
}

// namespacesOf checks and converts the namespace keys. service:NAME must
// name a service of the project; what berth cannot do fails by name.
func namespacesOf(spec *types.Project, sc types.ServiceConfig) (Namespaces, error) {
	ns := Namespaces{IPC: NamespaceMode(sc.Ipc), PID: NamespaceMode(sc.Pid), UTS: NamespaceMode(sc.Uts),
		UserNS: NamespaceMode(sc.UserNSMode), Cgroup: NamespaceMode(sc.Cgroup)}
	check := func(key string, m NamespaceMode, allowed ...string) error {
		if m == "" {
			return nil
		}
		for _, a := range allowed {
			switch {
			case a == string(m):
				return nil
			case a == "service:" && m.Service() != "":
				if _, ok := spec.Services[m.Service()]; !ok {
					return fmt.Errorf("%s: %q: no such service: name a service of this project", key, m)
				}
				if m.Service() == sc.Name {
					return fmt.Errorf("%s: %q: a service cannot share its own namespace", key, m)
				}
				return nil
			case a == "container:" && m.Container() != "":
				return nil
			}
		}
		return fmt.Errorf("%s: %q is not supported: give one of %s", key, m, strings.Join(allowed, ", "))
	}
	if err := check("ipc", ns.IPC, "private", "shareable", "host", "none", "service:", "container:"); err != nil {
		return ns, err
	}
	if err := check("pid", ns.PID, "host", "service:", "container:"); err != nil {
		return ns, err
	}
	if err := check("uts", ns.UTS, "host"); err != nil {
		return ns, err
	}
	if ns.UserNS != "" && ns.UserNS != "host" {
		return ns, fmt.Errorf("userns_mode: %q is not supported: berth runs containers without user namespace remapping, so only userns_mode: host applies; remove it", ns.UserNS)
	}
	if err := check("cgroup", ns.Cgroup, "host", "private"); err != nil {
		return ns, err
	}
	return ns, nil
}

// loggingOf converts the logging key: json-file, local and none with
// their max-size and max-file options; other drivers are refused by name,
// as are options berth would ignore.
func loggingOf(l *types.LoggingConfig) (Logging, error) {
	if l == nil {
		return Logging{Driver: LogJSONFile, MaxFile: 1}, nil
	}
	out := Logging{Driver: LogDriver(l.Driver)}
	if out.Driver == "" {
		out.Driver = LogJSONFile
	}
	if !logDrivers[out.Driver] {
		return out, fmt.Errorf("logging: driver %q is not supported: berth writes its own log files; use json-file, local or none", l.Driver)
	}
	if out.Driver == LogLocal {
		out.MaxSize, out.MaxFile = 20<<20, 5
	}
	keys := make([]string, 0, len(l.Options))
	for k := range l.Options {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := l.Options[k]
		switch {
		case out.Driver == LogNone:
			return out, fmt.Errorf("logging: driver none takes no options (got %s)", k)
		case k == "max-size":
			if v == "-1" {
				out.MaxSize = 0
				continue
			}
			n, err := units.RAMInBytes(v)
			if err != nil || n <= 0 {
				return out, fmt.Errorf("logging: max-size %q: give a size such as 10m", v)
			}
			out.MaxSize = n
		case k == "max-file":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return out, fmt.Errorf("logging: max-file %q: give a number of files, at least 1", v)
			}
			out.MaxFile = n
		case k == "compress" || k == "mode" || k == "max-buffer-size" || k == "tag" || k == "labels" || k == "env" || k == "labels-regex" || k == "env-regex":
			// Docker's options that change neither what is kept nor where:
			// compression of rotated files and the delivery mode.
		default:
			return out, fmt.Errorf("logging: option %q of driver %s is not supported (supported: max-size, max-file)", k, out.Driver)
		}
	}
	if out.MaxFile > 1 && out.MaxSize == 0 {
		return out, fmt.Errorf("logging: max-file %d needs max-size: files are rotated when the log reaches max-size", out.MaxFile)
	}
	if out.MaxFile == 0 {
		out.MaxFile = 1
	}
	return out, nil
}

// linksOf converts links entries (SERVICE or SERVICE:ALIAS).
func linksOf(spec *types.Project, sc types.ServiceConfig) ([]Link, error) {
	var out []Link
	for _, l := range sc.Links {
		name, alias, ok := strings.Cut(l, ":")
		if !ok {
			alias = name
		}
		if name == "" || alias == "" {
			return nil, fmt.Errorf("links: %q: give SERVICE or SERVICE:ALIAS", l)
		}
		if _, ok := spec.Services[name]; !ok {
			return nil, fmt.Errorf("links: %q: no such service %q: name a service of this project", l, name)
		}
		out = append(out, Link{Service: name, Alias: alias})
	}
	return out, nil
}

// blkioOf converts blkio_config.
func blkioOf(b *types.BlkioConfig) (*BlkioConfig, error) {
	if b == nil {
		return nil, nil
	}
	weight := func(key string, w uint16) error {
		if w != 0 && (w < 10 || w > 1000) {
			return fmt.Errorf("blkio_config.%s %d: give a weight from 10 to 1000", key, w)
		}
		return nil
	}
	if err := weight("weight", b.Weight); err != nil {
		return nil, err
	}
	out := &BlkioConfig{Weight: b.Weight}
	for _, d := range b.WeightDevice {
		if err := weight("weight_device", d.Weight); err != nil {
			return nil, err
		}
		out.WeightDevice = append(out.WeightDevice, BlkioWeight{Path: d.Path, Weight: d.Weight})
	}
	rates := func(key string, in []types.ThrottleDevice) ([]BlkioRate, error) {
		var r []BlkioRate
		for _, d := range in {
			if d.Rate < 0 || d.Path == "" {
				return nil, fmt.Errorf("blkio_config.%s: give a device path and a rate that is not negative", key)
			}
			r = append(r, BlkioRate{Path: d.Path, Rate: uint64(d.Rate)})
		}
		return r, nil
	}
	var err error
	if out.ReadBps, err = rates("device_read_bps", b.DeviceReadBps); err != nil {
		return nil, err
	}
	if out.WriteBps, err = rates("device_write_bps", b.DeviceWriteBps); err != nil {
		return nil, err
	}
	if out.ReadIOps, err = rates("device_read_iops", b.DeviceReadIOps); err != nil {
		return nil, err
	}
	if out.WriteIOps, err = rates("device_write_iops", b.DeviceWriteIOps); err != nil {
		return nil, err
	}
	return out, nil
}

// DeviceCgroupRule is one device_cgroup_rules entry: "c 1:3 rwm".
type DeviceCgroupRule struct {
	// Type is a (all), c (char) or b (block).
	Type string
	// Major and Minor are nil for *.
	Major, Minor *int64
	Access       string
}

// ParseDeviceCgroupRule parses "TYPE MAJOR:MINOR ACCESS" as Docker does.
func ParseDeviceCgroupRule(rule string) (DeviceCgroupRule, error) {
	bad := fmt.Errorf("device_cgroup_rules: %q: give TYPE MAJOR:MINOR ACCESS, such as \"c 1:3 rwm\" or \"b *:* r\"", rule)
	f := strings.Fields(rule)
	if len(f) != 3 || (f[0] != "a" && f[0] != "b" && f[0] != "c") {
		return DeviceCgroupRule{}, bad
	}
	majS, minS, ok := strings.Cut(f[1], ":")
	if !ok {
		return DeviceCgroupRule{}, bad
	}
	num := func(s string) (*int64, error) {
		if s == "*" {
			return nil, nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return nil, bad
		}
		return &n, nil
	}
	maj, err := num(majS)
	if err != nil {
		return DeviceCgroupRule{}, err
	}
	minor, err := num(minS)
	if err != nil {
		return DeviceCgroupRule{}, err
	}
	if f[2] == "" || strings.Trim(f[2], "rwm") != "" {
		return DeviceCgroupRule{}, bad
	}
	return DeviceCgroupRule{Type: f[0], Major: maj, Minor: minor, Access: f[2]}, nil
}

// checkCPUSet checks a cpuset list ("0-2,4").
func checkCPUSet(s string) error {
	if s == "" {
		return nil
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err1 := strconv.ParseUint(lo, 10, 16)
		b, err2 := a, error(nil)
		if isRange {
			b, err2 = strconv.ParseUint(hi, 10, 16)
		}
		if err1 != nil || err2 != nil || b < a {
			return fmt.Errorf("cpuset %q: give CPU numbers and ranges such as 0-2,4", s)
		}
	}
	return nil
}

// runtimeKeysOf fills the service fields of the keys above.
func runtimeKeysOf(spec *types.Project, sc types.ServiceConfig, s *Service) error {
	var err error
	if s.PostStart, err = hooksOf("post_start", sc.PostStart); err != nil {
		return err
	}
	if s.PreStop, err = hooksOf("pre_stop", sc.PreStop); err != nil {
		return err
	}
	if s.Namespaces, err = namespacesOf(spec, sc); err != nil {
		return err
	}
	if s.Logging, err = loggingOf(sc.Logging); err != nil {
		return err
	}
	if s.Links, err = linksOf(spec, sc); err != nil {
		return err
	}
	if s.Resources.Blkio, err = blkioOf(sc.BlkioConfig); err != nil {
		return err
	}
	if err := checkCPUSet(sc.CPUSet); err != nil {
		return err
	}
	s.Resources.CPUSet = sc.CPUSet
	for _, r := range sc.DeviceCgroupRules {
		if _, err := ParseDeviceCgroupRule(r); err != nil {
			return err
		}
	}
	s.Resources.DeviceCgroupRules = append([]string(nil), sc.DeviceCgroupRules...)
	s.CgroupParent = sc.CgroupParent
	s.StorageOpt = maps.Clone(sc.StorageOpt)
	seen := map[string]string{}
	for _, n := range s.Networks {
		name := n.InterfaceName
		if name == "" {
			continue
		}
		if len(name) > 15 || strings.ContainsAny(name, "/: \t\n") || name == "." || name == ".." || name == "lo" {
			return fmt.Errorf("networks.%s.interface_name %q: give a Linux interface name (at most 15 characters, no '/', ':' or spaces, not lo)", n.Key, name)
		}
		if other, dup := seen[name]; dup {
			return fmt.Errorf("networks.%s.interface_name %q: the interface on network %s has that name already", n.Key, name, other)
		}
		seen[name] = n.Key
	}
	if sc.MacAddress != "" {
		if len(s.Networks) == 0 {
			return fmt.Errorf("mac_address %q needs the service on a network (network_mode %q gives it none of its own)", sc.MacAddress, s.NetworkMode)
		}
		if m := s.Networks[0].MACAddress; m != "" && m != sc.MacAddress {
			return fmt.Errorf("mac_address %q and networks.%s.mac_address %q differ: set one of them", sc.MacAddress, s.Networks[0].Key, m)
		}
		s.Networks[0].MACAddress = sc.MacAddress
	}
	return nil
}

// InterfaceNames are the names of the service's interfaces, one per
// network in s.Networks: interface_name, else the first of eth0, eth1, ...
// that no other interface has, as Docker names them.
func (s *Service) InterfaceNames() []string {
	taken := map[string]bool{}
	for _, n := range s.Networks {
		if n.InterfaceName != "" {
			taken[n.InterfaceName] = true
		}
	}
	out := make([]string, len(s.Networks))
	next := 0
	for i, n := range s.Networks {
		if n.InterfaceName != "" {
			out[i] = n.InterfaceName
			continue
		}
		for taken["eth"+strconv.Itoa(next)] {
			next++
		}
		out[i] = "eth" + strconv.Itoa(next)
		next++
	}
	return out
}
