package scheduler

import (
	"context"
	"time"

	"github.com/berth/berth/compose"
)

// State is the state of a container as the runtime reports it.
type State string

const (
	StateCreated State = "created"
	StateRunning State = "running"
	StatePaused  State = "paused"
	StateExited  State = "exited"
	StateUnknown State = "unknown"
)

// Container is a container as the runtime observes it. Everything the
// scheduler knows about a container comes from here, mostly from its labels.
type Container struct {
	// ID is the runtime's container ID (berth uses the container name).
	ID     string
	Name   string
	Labels compose.Labels
	// Image is the image reference the container was created from.
	Image    string
	State    State
	ExitCode int
	Created  time.Time
	// StartedAt and FinishedAt are zero when unknown.
	StartedAt  time.Time
	FinishedAt time.Time
	// Command is the process's argv joined for display.
	Command string
	// Volumes are the names of the named volumes it mounts.
	Volumes []string
	// PreStop, when not nil, are the pre_stop hooks Stop runs instead of
	// those the container's labels keep: the executor sets them from the
	// compose file's service (an empty list: none), as docker compose runs
	// the hooks of the file it is given. nil (a project known by name
	// only, a service the file lacks) runs the labels' hooks.
	PreStop []compose.Hook
	// PostStart, likewise, are the post_start hooks Start runs instead of
	// those of the labels (start, restart and up with a compose file).
	PostStart []compose.Hook
}

// CreateRequest is everything the runtime needs to create one container.
type CreateRequest struct {
	Project *compose.Project
	Service *compose.Service
	// Number is the replica number, from 1.
	Number int
	// Name is the container name (also its ID).
	Name string
	// NetNS is the network namespace to join: a path, or "" for the host's
	// namespace (network_mode: host).
	NetNS string
	// DNS are the nameservers of the container's resolv.conf; none means
	// the host's (less loopback ones).
	DNS []string
	// HostGateway is the host's address as the container reaches it (the
	// gateway of its first network), for extra_hosts "host-gateway"; "" if
	// it has no network.
	HostGateway string
	// OneOff marks a container of berth run.
	OneOff bool
	// AnonVolumes name the volumes of the service's anonymous mounts, by
	// mount target: the previous container's, or new ones.
	AnonVolumes map[string]string
}

// Runtime is what the scheduler needs from a container runtime. The
// containerd package implements it; tests use a fake.
type Runtime interface {
	// Containers lists every container of the project, in any state,
	// one-offs included.
	Containers(ctx context.Context, project string) ([]Container, error)
	// EnsureImage makes the service's image available locally according to
	// its pull policy, reporting progress on the runtime's event stream.
	EnsureImage(ctx context.Context, s *compose.Service) error
	// ImageID is the ID of a local image (its config digest), or "" when
	// the image is not present.
	ImageID(ctx context.Context, image string) (string, error)
	// Create creates (but does not start) a container.
	Create(ctx context.Context, req CreateRequest) (Container, error)
	// Prepare readies a created container's process without starting it
	// (what takes most of a start), so that a Start once its dependencies
	// are ready is quick; the container stays in state created. Remove
	// undoes it.
	Prepare(ctx context.Context, c Container) error
	// Start starts a created, prepared or exited container.
	Start(ctx context.Context, c Container) error
	// Stop sends the container's stop signal, waits up to timeout for it to
	// exit, then kills it. Stopping a container that is not running is not
	// an error.
	Stop(ctx context.Context, c Container, timeout time.Duration) error
	// Kill sends a signal (a name such as SIGKILL, or a number) to the
	// container's process; like Stop it is a manual stop, which restart
	// policies do not undo.
	Kill(ctx context.Context, c Container, signal string) error
	// Pause freezes (true) or thaws (false) the container's processes.
	Pause(ctx context.Context, c Container, paused bool) error
	// Remove deletes the container, its task, snapshot and logs. Removing a
	// container that does not exist is not an error.
	Remove(ctx context.Context, c Container) error
	// RemoveVolume deletes a named volume. A missing volume is not an error.
	RemoveVolume(ctx context.Context, name string) error
	// Events streams the runtime's container events until ctx ends: what
	// waiting on depends_on conditions wakes up on.
	Events(ctx context.Context) (<-chan RuntimeEvent, <-chan error)
}

// Network is what the scheduler needs from the network layer.
type Network interface {
	// CreateNamespace creates a network namespace for the container called
	// name, with loopback up, and returns its path.
	CreateNamespace(ctx context.Context, project, name string) (string, error)
	// NamespaceExists reports whether the container's namespace is there
	// (after a reboot it is not, though the container is).
	NamespaceExists(ctx context.Context, project, name string) (bool, error)
	// DeleteNamespace removes what CreateNamespace made. A missing namespace
	// is not an error.
	DeleteNamespace(ctx context.Context, project, name string) error
	// EnsureNetworks creates the project's networks its services use, and
	// checks that external ones exist. It is idempotent.
	EnsureNetworks(ctx context.Context, p *compose.Project) error
	// Connect attaches the container's namespace to its service's networks
	// and returns the nameservers the container is to use (none: the host's).
	Connect(ctx context.Context, p *compose.Project, s *compose.Service, container, netns string) ([]string, error)
	// Disconnect detaches the container from every network it is on. A
	// container on no network is not an error.
	Disconnect(ctx context.Context, project, container string) error
	// RemoveNetworks removes the networks the project made (never external
	// ones). Missing ones are not an error.
	RemoveNetworks(ctx context.Context, project string) error
}
