package containerd

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/log"

	"github.com/berth/berth/containerd/build"
	"github.com/berth/berth/platform"
	"github.com/berth/berth/scheduler"
)

// Client is berth's connection to a containerd daemon, scoped to one
// containerd namespace. It implements scheduler.Runtime.
type Client struct {
	client    *containerd.Client
	namespace string
	// address is the socket the client is connected to.
	address string
	// managed is true when the daemon is berth's own.
	managed bool
	// dataDir is berth's data directory (logs, volumes): /var/lib/berth by default.
	dataDir string
	// runDir is berth's runtime directory: /run/berth by default.
	runDir string
	// insecure lists registries reached over plain HTTP besides loopback ones.
	insecure []string
	events   scheduler.Events
	// logDriver is the executable containerd's shim runs as the log driver.
	logDriver string
	// staticInit is checkStaticInit of logDriver (berth's executable, also
	// the init of init: true), read once: it does not change while berth
	// runs.
	staticInit func() error
	// snapshotter is the snapshotter containers and images use.
	snapshotter string
	// buildNet makes the networks of RUN steps; nil: none is configured.
	buildNet build.Network

	builderMu sync.Mutex // guards following
	// imageBuilder is the client's image builder, made by its first build
	// (see builder): its builds share its cache index, its records of base
	// images and its one cleanup of what killed builds left.
	imageBuilder *build.Builder
	// binfmtDir is the binfmt_misc directory CanRun reads.
	binfmtDir string
	// shims is how new containers share runc shims.
	shims ShimSharing
	// pauseBinary is the static executable the shim anchors run (see
	// ensureShimAnchor): berth-probe; "" when there is none, and then
	// every container has a shim of its own.
	pauseBinary string
	// anchorsUp holds the shim anchors this client saw with a task.
	anchorsUp sync.Map
	// exits follows the exits containerd publishes, for the deletes of
	// tasks a shared shim serves (see exitPublished).
	exits exitWatch
	// emulatedWarned holds the services this client warned run emulated.
	emulatedWarned sync.Map
	// hookOutput, when set, is where the hooks' output is shown (see
	// ShowHookOutput).
	hookOutput atomic.Pointer[func(scheduler.Container) io.Writer]

	volumeMu sync.Mutex // guards following
	// volumeUsers counts, by volume name, the containers being created
	// with it: ReleaseVolumes leaves a volume a creation is using.
	volumeUsers map[string]int
	// volumesMade are the named volumes this client made: the only ones
	// ReleaseVolumes may remove.
	volumesMade map[string]bool

	// volumeFills locks each named volume by its directory: its creation
	// (services made at the same time may share one, and only its creator
	// writes its metadata), its filling from an image (only the first of
	// the containers sharing an empty volume fills it) and ReleaseVolumes.
	volumeFills dirLocks
	// listContainers lists every project's containers for ReleaseVolumes;
	// nil: Containers(ctx, ""). Tests set it.
	listContainers func(ctx context.Context) ([]scheduler.Container, error)
	// probed holds the IDs of the containers this client probed: before
	// its first probe of one it removes the FIFOs of probes a killed
	// predecessor left (see removeStaleProbeFIFOs).
	probed sync.Map
	// probeAgent is the probe agent bound into containers with a
	// healthcheck (see ProbeAgentPath); "" when there is none.
	probeAgent string
	// shimWrapper is berth-shim, the runtime of new containers (see
	// runtime); "" when there is none.
	shimWrapper string
	// agents are the probe agents this client started.
	agents probeAgents
}

var _ scheduler.Runtime = (*Client)(nil)

// DefaultAddress is containerd's own default socket.
const DefaultAddress = "/run/containerd/containerd.sock"

// Opt configures Connect. Later options override earlier ones.
type Opt func(*connectOptions)

type connectOptions struct {
	address         string
	explicitAddress bool
	namespace       string
	dataDir, runDir string
	daemonBinDir    string
	insecure        []string
	events          scheduler.Events
	logDriver       string
	probeAgent      string
	shimWrapper     string
	startTimeout    time.Duration
	buildNetwork    build.Network
	binfmtDir       string
	shims           ShimSharing
}

// WithAddress sets the containerd socket. explicit means the user named it
// (flag or CONTAINERD_ADDRESS): berth then never falls back to its managed
// daemon, it reports that nothing answers there.
func WithAddress(address string, explicit bool) Opt {
	return func(o *connectOptions) { o.address, o.explicitAddress = address, explicit }
}

// defaultRunDir is berth's run dir unless WithDirs names another.
const defaultRunDir = "/run/berth"

// defaultNamespace is the containerd namespace unless WithNamespace names
// another.
const defaultNamespace = "berth"

// WithNamespace sets the containerd namespace (default "berth").
func WithNamespace(ns string) Opt { return func(o *connectOptions) { o.namespace = ns } }

// WithDirs sets berth's data directory (default /var/lib/berth) and runtime
// directory (default /run/berth). The managed daemon lives under both.
func WithDirs(dataDir, runDir string) Opt {
	return func(o *connectOptions) { o.dataDir, o.runDir = dataDir, runDir }
}

// WithDaemonBinDir names the directory holding containerd and
// containerd-shim-runc-v2 for the managed daemon (default: see findDaemon).
func WithDaemonBinDir(dir string) Opt { return func(o *connectOptions) { o.daemonBinDir = dir } }

// WithInsecureRegistries lists registries reached over plain HTTP, besides
// the loopback ones which always are.
func WithInsecureRegistries(hosts ...string) Opt {
	return func(o *connectOptions) { o.insecure = append(o.insecure, hosts...) }
}

// WithEvents sets where progress events go (default: discarded).
func WithEvents(ev scheduler.Events) Opt { return func(o *connectOptions) { o.events = ev } }

// WithLogDriver sets the executable the shim runs to write container logs;
// it must handle the "__logdriver" subcommand (default: this executable).
func WithLogDriver(path string) Opt { return func(o *connectOptions) { o.logDriver = path } }

// WithProbeAgent sets the probe agent bound into containers with a
// healthcheck (default: FindProbeAgent beside this executable); "none"
// binds none, and their probes run as an exec each.
func WithProbeAgent(path string) Opt { return func(o *connectOptions) { o.probeAgent = path } }

// WithBuildNetwork sets what makes the networks of RUN steps that run in a
// network of their build's own (the default). Without it such steps fail;
// RUN --network=host and none still run.
func WithBuildNetwork(n build.Network) Opt { return func(o *connectOptions) { o.buildNetwork = n } }

// Connect connects to containerd. When nothing answers at the default
// address (and the address was not given explicitly, or is the managed
// daemon's own) it starts berth's managed daemon, or reuses the one
// already running.
func Connect(ctx context.Context, opts ...Opt) (*Client, error) {
	o := connectOptions{}
	for _, opt := range opts {
		opt(&o)
	}
	if o.address == "" {
		o.address = DefaultAddress
	}
	if o.namespace == "" {
		o.namespace = defaultNamespace
	}
	if o.dataDir == "" {
		o.dataDir = "/var/lib/berth"
	}
	if o.runDir == "" {
		o.runDir = defaultRunDir
	}
	if o.events == nil {
		o.events = scheduler.Discard
	}
	if o.binfmtDir == "" {
		o.binfmtDir = platform.DefaultBinfmtDir
	}
	if o.startTimeout == 0 {
		o.startTimeout = 30 * time.Second
	}
	if o.logDriver == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find berth's own executable for the log driver: %w", err)
		}
		o.logDriver = exe
	}
	pause := FindProbeAgent(o.logDriver)
	switch o.probeAgent {
	case "":
		o.probeAgent = pause
	case "none":
		o.probeAgent = ""
	default:
		if err := checkProbeAgent(o.probeAgent); err != nil {
			return nil, err
		}
		pause = o.probeAgent
	}

	wrapper, err := resolveShimWrapper(o.shimWrapper, o.logDriver)
	if err != nil {
		return nil, err
	}

	quietLibraryLogs()
	address, managed := o.address, false
	d := daemon{dataDir: o.dataDir, runDir: o.runDir, binDir: o.daemonBinDir, timeout: o.startTimeout}
	if !answers(address) {
		// An explicit address that is the managed daemon's own (the
		// project process is given it) is no reason not to start it: it
		// went away, and whoever connects first brings it back.
		if o.explicitAddress && address != d.address() {
			return nil, fmt.Errorf("no containerd answers at %s: start it, or leave --address and CONTAINERD_ADDRESS unset to let berth run its own daemon", address)
		}
		var err error
		if address, err = d.ensure(ctx); err != nil {
			return nil, err
		}
		managed = true
	}
	cc, err := containerd.New(address, containerd.WithDefaultNamespace(o.namespace), containerd.WithTimeout(10*time.Second))
	if err != nil {
		return nil, fmt.Errorf("connect to containerd at %s: %w", address, err)
	}
	return &Client{
		client:      cc,
		namespace:   o.namespace,
		address:     address,
		managed:     managed,
		dataDir:     o.dataDir,
		runDir:      o.runDir,
		insecure:    o.insecure,
		events:      o.events,
		logDriver:   o.logDriver,
		probeAgent:  o.probeAgent,
		shimWrapper: wrapper,
		staticInit:  sync.OnceValue(func() error { return checkStaticInit(o.logDriver) }),
		snapshotter: "overlayfs",
		buildNet:    o.buildNetwork,
		binfmtDir:   o.binfmtDir,
		shims:       o.shims,
		pauseBinary: pause,
	}, nil
}

var quietOnce sync.Once

// quietLibraryLogs keeps the containerd client's own logger (logrus, on
// standard error) to warnings and worse: berth reports what matters itself,
// and "fetch failed" info lines would only repeat its errors.
func quietLibraryLogs() {
	quietOnce.Do(func() { log.SetLevel("warn") }) //nolint:errcheck // "warn" is a valid level
}

// Close closes the connection. The managed daemon keeps running.
// The probe agents it started end.
func (c *Client) Close() error {
	c.closeAgents()
	c.exits.stop()
	return c.client.Close()
}

// answers reports whether something accepts connections on the unix socket.
func answers(address string) bool {
	conn, err := net.DialTimeout("unix", address, time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// containerDir is where berth keeps the files it generates for a container.
func (c *Client) containerDir(name string) string {
	return filepath.Join(c.dataDir, "containers", c.namespace, name)
}

// logPath is a container's log file.
func (c *Client) logPath(name string) string {
	return filepath.Join(c.dataDir, "logs", c.namespace, name+".log")
}

// volumeDir is a named volume's directory.
func (c *Client) volumeDir(name string) string {
	return filepath.Join(c.volumesRoot(), name)
}

// volumesRoot holds the named volumes of the client's namespace:
// <data dir>/volumes for the default namespace (where berth kept them
// before namespaces were told apart), else
// <data dir>/namespaces/<namespace>/volumes, so that the same project in
// two namespaces has volumes of its own. (The namespace is checked by
// containerd's rules before any path is made of it.)
func (c *Client) volumesRoot() string { return c.namespaceDir(c.dataDir, "volumes") }

// namespaceDir is dir/name for the default namespace, else
// dir/namespaces/<namespace>/name: where what is kept by a name that is
// only unique within a namespace (volume and container names) goes. ""
// (a Client made without Connect) is the default namespace.
func (c *Client) namespaceDir(dir, name string) string {
	if c.namespace == defaultNamespace || c.namespace == "" {
		return filepath.Join(dir, name)
	}
	return filepath.Join(dir, "namespaces", c.namespace, name)
}

// Address is the socket of the containerd the client is connected to.
func (c *Client) Address() string { return c.address }
