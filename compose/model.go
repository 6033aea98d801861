package compose

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Project is the part of a compose project that berth runs. It is built from
// compose-go's types.Project by Load; everything here is already interpolated,
// merged, normalized and filtered by the active profiles.
type Project struct {
	// Name is the normalized project name (lowercase, [a-z0-9_-]).
	Name string
	// WorkingDir is the absolute project directory.
	WorkingDir string
	// ConfigFiles are the absolute paths of the compose files, in merge order.
	ConfigFiles []string
	// Services are the enabled services, sorted by name.
	Services []*Service
	// DisabledServices are services defined in the files but not enabled
	// by the active profiles. They are never started, but their containers
	// are not orphans either.
	DisabledServices []string
	// Profiles are the active profiles, as --profile or else
	// COMPOSE_PROFILES gave them (trimmed, empty names left out), with
	// those of disabled services named on the command line, which that
	// enables.
	Profiles []string
	// Volumes are the top-level named volumes, keyed by their key in the file.
	Volumes map[string]Volume
	// Networks are the top-level networks, keyed by their key in the file.
	Networks map[string]Network
	// AllResources is set when the project was loaded with
	// --all-resources: Volumes and Networks then hold those no service
	// uses too, and up makes them as well.
	AllResources bool
	// FromLabels is true for a project known by its name alone (-p NAME
	// with no compose file, or an invalid one): its services, if any, are
	// what its containers' labels tell (names, images, depends_on), with
	// no networks, ports or volumes.
	FromLabels bool
	// Environment holds the variables the files were interpolated with:
	// the process environment over the .env file (or --env-file,
	// COMPOSE_ENV_FILES). run -e NAME takes NAME's value from it.
	Environment map[string]string
}

// Service returns the enabled service called name, or nil.
func (p *Project) Service(name string) *Service {
	for _, s := range p.Services {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// ServiceNames returns the names of the enabled services, sorted.
func (p *Project) ServiceNames() []string {
	names := make([]string, 0, len(p.Services))
	for _, s := range p.Services {
		names = append(names, s.Name)
	}
	return names
}

// PullPolicy says when an image is pulled. The values are the compose-spec's.
type PullPolicy string

const (
	PullMissing PullPolicy = "missing"
	PullAlways  PullPolicy = "always"
	PullNever   PullPolicy = "never"
	PullBuild   PullPolicy = "build"
)

// DependencyCondition is the condition of a depends_on entry.
type DependencyCondition string

const (
	ConditionStarted               DependencyCondition = "service_started"
	ConditionHealthy               DependencyCondition = "service_healthy"
	ConditionCompletedSuccessfully DependencyCondition = "service_completed_successfully"
)

// Dependency is one depends_on entry of a service.
type Dependency struct {
	Condition DependencyCondition
	// Required false means a missing or failed dependency is a warning.
	Required bool
	// Restart means the dependent is restarted when the dependency is.
	Restart bool
}

// Service is one enabled service with everything the runtime needs to create
// its containers. Slices and maps are never shared with other services.
type Service struct {
	Name string
	// Image is the image reference, as written (normalization to a full
	// reference is the runtime's job). Empty only when the service has a
	// build section and no image; the image name is then ImageName().
	Image string
	// HasBuild is true when the service has a build section, Build.
	HasBuild   bool
	Build      *Build
	PullPolicy PullPolicy
	// PullIfMissing is set when the file says pull_policy: missing (or
	// if_not_present): `pull` then skips an image that is present, as
	// docker compose does; without a policy `pull` always pulls.
	PullIfMissing bool
	Platform      string

	// ContainerName is the fixed container name (container_name), or "".
	ContainerName string
	// Replicas is the number of containers to run (scale, deploy.replicas; default 1).
	Replicas int

	// Entrypoint and Command override the image's when non-nil. An empty,
	// non-nil Entrypoint clears the image's (entrypoint: []); an empty
	// Command (command: "") keeps the image's unless an entrypoint is set,
	// as the Docker engine does.
	Entrypoint []string
	Command    []string
	// Environment is the resolved environment, env_file entries merged in
	// the compose-spec order. A nil value means the variable is unset.
	Environment map[string]*string
	WorkingDir  string
	User        string
	Hostname    string
	Domainname  string
	Labels      map[string]string

	StopSignal string
	// StopGracePeriod is how long a stop waits before SIGKILL; nil means the default (10 s).
	StopGracePeriod *time.Duration

	Tty       bool
	StdinOpen bool
	// NoServiceNames keeps the service's name and aliases off the
	// container on its networks: a one-off of berth run, reached by its
	// container name only unless run --use-aliases.
	NoServiceNames bool
	ReadOnly       bool
	Privileged     bool
	Init           *bool
	CapAdd         []string
	CapDrop        []string
	SecurityOpt    []string
	GroupAdd       []string

	// Networks are the networks the service joins, in interface order:
	// the first is eth0 and carries the default route. Empty when
	// network_mode is set.
	Networks []ServiceNetwork

	// Ports are the published ports.
	Ports []PortMapping
	// Expose are the ports it exposes without publishing them ("80",
	// "8000-8002/udp"): ps shows them, as docker compose does.
	Expose []string

	// DNS, DNSSearch and DNSOptions go into the container's resolv.conf.
	DNS, DNSSearch, DNSOptions []string
	// ExtraHosts are /etc/hosts entries: name and address ("host-gateway"
	// is the host's address on the container's network).
	ExtraHosts []HostEntry

	// Mounts are the service's volumes and tmpfs mounts, in file order.
	Mounts []Mount

	// Healthcheck is the service's healthcheck, nil when it has none (the
	// image's applies).
	Healthcheck *Healthcheck
	// Restart is when exited containers are started again.
	Restart RestartPolicy
	// Resources are its limits (memory, CPU, pids, ulimits, ...).
	Resources Resources
	// Files are its secrets and configs.
	Files []FileMount

	// DependsOn are the depends_on entries keyed by service name.
	DependsOn map[string]Dependency
	// NetworkMode is network_mode as written ("", "host", "none", "service:x", "container:x").
	NetworkMode string
	// VolumesFrom are volumes_from entries as written ("service", "service:ro", "container:x").
	VolumesFrom []string

	// PostStart run in the container after it starts (a failing one fails
	// the start); PreStop before it is stopped.
	PostStart, PreStop []Hook
	// Namespaces are ipc, pid, uts, userns_mode and cgroup.
	Namespaces Namespaces
	// Logging is where the container's output goes.
	Logging Logging
	// Links make Alias resolve to Service for this service's containers.
	Links []Link
	// CgroupParent is the cgroup its containers' cgroups are made under.
	CgroupParent string
	// StorageOpt are the snapshot's options (size=...).
	StorageOpt map[string]string

	// Watch are its develop.watch rules, in file order: what berth watch
	// (and up --watch) does when the files they name change.
	Watch []WatchRule

	// Unsupported are keys the service sets that this version of berth does
	// not run yet; up warns about them rather than ignore them silently.
	Unsupported []string
	// BuildWarnings name build keys berth ignores.
	BuildWarnings []string

	// ConfigHash identifies the service's configuration; a container whose
	// config-hash label differs is recreated.
	ConfigHash string
	// ConfigParts hashes the configuration key by key (ServiceHashParts):
	// what names the part that changed when ConfigHash differs.
	ConfigParts string
	// Project is the name of the project the service belongs to.
	Project string
	// NameSeparator joins the project, service and replica number in the
	// names berth makes: "-", or "_" in compose v1's compatibility mode
	// (--compatibility, COMPOSE_COMPATIBILITY). Empty means "-".
	NameSeparator string
}

// Separator is the service's NameSeparator, defaulted to "-".
func (s *Service) Separator() string {
	if s.NameSeparator == "" {
		return "-"
	}
	return s.NameSeparator
}

// DefaultStopGracePeriod is Docker's default time between the stop signal and SIGKILL.
const DefaultStopGracePeriod = 10 * time.Second

// GracePeriod returns the stop grace period, defaulted.
func (s *Service) GracePeriod() time.Duration {
	if s.StopGracePeriod != nil {
		return *s.StopGracePeriod
	}
	return DefaultStopGracePeriod
}

// ImageName is the image the service runs: Image, or for a build-only
// service "<project>-<service>" as docker compose names it
// ("<project>_<service>" in compatibility mode).
func (s *Service) ImageName() string {
	if s.Image != "" {
		return s.Image
	}
	return s.Project + s.Separator() + s.Name
}

// ContainerNameFor returns the name of replica number n (1-based):
// container_name when set, else "<project>-<service>-<n>" (with
// underscores in compatibility mode).
func (s *Service) ContainerNameFor(n int) string {
	if s.ContainerName != "" {
		return s.ContainerName
	}
	return strings.Join([]string{s.Project, s.Name, strconv.Itoa(n)}, s.Separator())
}

// OneOffName is the name of a one-off (run) container of the service
// with the random suffix id: "<project>-<service>-run-<id>", with
// underscores in compatibility mode, as docker compose names it.
func (s *Service) OneOffName(id string) string {
	return strings.Join([]string{s.Project, s.Name, "run", id}, s.Separator())
}

// HostEntry is one extra_hosts entry.
type HostEntry struct {
	Name, Addr string
}

// MountType is the kind of a service mount.
type MountType string

const (
	// MountVolume is a named volume: a directory berth keeps for it.
	MountVolume MountType = "volume"
	// MountBind is a host path.
	MountBind MountType = "bind"
	// MountTmpfs is a tmpfs.
	MountTmpfs MountType = "tmpfs"
	// MountImage is an image's filesystem, mounted read-only.
	MountImage MountType = "image"
)

// Mount is one entry of a service's volumes (or tmpfs) list.
type Mount struct {
	Type MountType
	// Source is the volume's real name (MountVolume), an absolute host
	// path (MountBind) or an image reference (MountImage); empty for
	// MountTmpfs.
	Source   string
	Target   string
	ReadOnly bool
	// External is true for a volume declared external: it must exist.
	External bool
	// CreateHostPath creates a missing bind source (Docker does for the
	// short syntax); otherwise a missing source is an error.
	CreateHostPath bool
	// TmpfsSize is the tmpfs size in bytes; 0 is the kernel's default.
	TmpfsSize int64
	// TmpfsOptions are the tmpfs's other mount options, comma-separated
	// and checked by ParseTmpfsOptions (mode=, uid=, noexec, ...); without
	// mode= a tmpfs is 1777, as Docker makes it.
	TmpfsOptions string
	// NoCopy keeps an empty named volume empty (volume.nocopy) instead of
	// filling it from the image's content at Target.
	NoCopy bool
	// Anonymous marks a volume with no name in the file ("- /data"): each
	// container gets its own, which up hands on to the container that
	// replaces it (unless up -V). Source is empty here; the runtime is
	// told the volume's name when it creates the container.
	Anonymous bool
	// SubPath is the directory of the image mounted (MountImage), or "".
	SubPath string
}

// Volume is a top-level named volume.
type Volume struct {
	// Name is the real name (<project>_<key> unless name: or external).
	Name       string
	Driver     string
	DriverOpts map[string]string
	External   bool
	Labels     map[string]string
}

// Network is a top-level network.
type Network struct {
	// Name is the real name (<project>_<key> unless name: or external).
	Name     string
	Driver   string
	External bool
	Internal bool
	Labels   map[string]string
	// Subnet and Gateway are the ipam config's; zero means berth picks.
	Subnet  netip.Prefix
	Gateway netip.Addr
}

// ServiceNetwork is a service's membership of one network.
type ServiceNetwork struct {
	// Key is the network's key in the file; Name its real name.
	Key, Name string
	Aliases   []string
	// IPv4Address is the requested address; invalid means any.
	IPv4Address netip.Addr
	MACAddress  string
	// InterfaceName is the interface's name in the container; "" is
	// eth0, eth1, ... in network order.
	InterfaceName string
}

// WatchAction is what berth watch does when files of a develop.watch rule
// change. The values are the compose-spec's.
type WatchAction string

const (
	// WatchSync copies the changed files into the running containers.
	WatchSync WatchAction = "sync"
	// WatchSyncRestart syncs, then restarts the service's containers.
	WatchSyncRestart WatchAction = "sync+restart"
	// WatchSyncExec syncs, then runs the rule's Exec in each container.
	WatchSyncExec WatchAction = "sync+exec"
	// WatchRestart restarts the service's containers.
	WatchRestart WatchAction = "restart"
	// WatchRebuild rebuilds the service's image and recreates its containers.
	WatchRebuild WatchAction = "rebuild"
)

// Syncs reports whether the action copies files into the containers.
func (a WatchAction) Syncs() bool {
	return a == WatchSync || a == WatchSyncRestart || a == WatchSyncExec
}

// WatchRule is one develop.watch entry of a service.
type WatchRule struct {
	// Path is the host file or directory followed, absolute.
	Path   string
	Action WatchAction
	// Target is where Path is in the container (sync actions), absolute.
	Target string
	// Exec is what sync+exec runs after a sync; nil for other actions.
	Exec *Hook
	// Include, when set, limits the rule to the paths matching one of
	// these patterns; Ignore leaves out those matching one (both
	// .dockerignore syntax, relative to Path).
	Include, Ignore []string
	// InitialSync copies everything under Path when watching starts.
	InitialSync bool
}
