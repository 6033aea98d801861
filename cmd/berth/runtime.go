package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/containerd"
	"github.com/berth/berth/containerd/build"
	"github.com/berth/berth/netbridge"
	"github.com/berth/berth/platform"
	"github.com/berth/berth/scheduler"
)

// connect connects to containerd as the global flags and BERTH_* variables say.
func (o *globalOptions) connect(ctx context.Context, ev scheduler.Events) (*containerd.Client, error) {
	opts, err := o.connectOptions(ev)
	if err != nil {
		return nil, err
	}
	return containerd.Connect(ctx, opts...)
}

// reconnecting connects as connect does, for the project's supervisor:
// a runtime that connects again with the same options when asked.
func (o *globalOptions) reconnecting(ctx context.Context) (*containerd.Reconnecting, error) {
	opts, err := o.connectOptions(scheduler.Discard)
	if err != nil {
		return nil, err
	}
	return containerd.NewReconnecting(ctx, opts...)
}

// connectOptions are the options of connect.
func (o *globalOptions) connectOptions(ev scheduler.Events) ([]containerd.Opt, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("berth needs root to run containers and their networks: run it with sudo")
	}
	nw, err := o.networks()
	if err != nil {
		return nil, err
	}
	// Each compose project's containers share one runc shim;
	// BERTH_SHIM_GROUP=container gives each its own (see
	// containerd.ShimSharing).
	shims, err := containerd.ParseShimSharing(os.Getenv("BERTH_SHIM_GROUP"))
	if err != nil {
		return nil, fmt.Errorf("BERTH_SHIM_GROUP: %w", err)
	}
	return []containerd.Opt{
		containerd.WithShimSharing(shims),
		// RUN steps resolve names through the host's resolvers, as they
		// did on the host's network (BERTH_DNS_UPSTREAM is the projects').
		containerd.WithBuildNetwork(nw.Builds(nil)),
		containerd.WithAddress(o.address, o.addressExplicit),
		containerd.WithNamespace(o.namespace),
		containerd.WithDirs(dataDir(), runDir()),
		containerd.WithDaemonBinDir(os.Getenv("BERTH_CONTAINERD_BIN")),
		containerd.WithInsecureRegistries(o.insecure...),
		containerd.WithEvents(ev),
		// Tests point it at a directory of their own to fake a host
		// without emulation.
		containerd.WithBinfmtDir(os.Getenv(platform.BinfmtDirEnv)),
		// The probe agent bound into containers with a healthcheck:
		// berth-probe beside berth unless this names another (or none).
		containerd.WithProbeAgent(os.Getenv("BERTH_PROBE_AGENT")),
		// The runtime of new containers: berth-shim beside berth, which
		// spares a down containerd's second cleanup of each task, unless
		// this names another (or none: containerd's runc shim by name).
		containerd.WithShimWrapper(os.Getenv("BERTH_SHIM_WRAPPER")),
	}, nil
}

// connectWithProgress connects with the progress renderer the --progress
// flag asks for as the event stream, for commands that report steps.
func (o *globalOptions) connectWithProgress(ctx context.Context) (*containerd.Client, *progressWriter, error) {
	progress, err := o.progressWriter()
	if err != nil {
		return nil, nil, err
	}
	rt, err := o.connect(ctx, progress)
	if err != nil {
		return nil, nil, err
	}
	return rt, progress, nil
}

// backends connects to containerd with the progress renderer and makes the
// network layer: what up and down drive. The caller closes the client.
func (o *globalOptions) backends(ctx context.Context) (*containerd.Client, scheduler.Network, *progressWriter, error) {
	rt, progress, err := o.connectWithProgress(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	nw, err := o.networks()
	if err != nil {
		rt.Close()
		return nil, nil, nil, err
	}
	// The project daemon supervises the containers on this containerd.
	nw.DaemonEnv = []string{"CONTAINERD_ADDRESS=" + rt.Address(), "CONTAINERD_NAMESPACE=" + o.namespace}
	return rt, nw, progress, nil
}

// netbridge makes the networks of the builder's RUN steps.
var _ build.Network = (*netbridge.BuildNetworks)(nil)

// timeoutFlag turns a -t/--timeout value in seconds into a duration; a
// negative value (the flag's default) means "not given".
func timeoutFlag(seconds int) *time.Duration {
	if seconds < 0 {
		return nil
	}
	d := time.Duration(seconds) * time.Second
	return &d
}

// networks is the network layer itself, for commands that read it (port, ps).
func (o *globalOptions) networks() (*netbridge.Networks, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find berth's own executable for the DNS daemon: %w", err)
	}
	pool, bits, err := subnetPool()
	if err != nil {
		return nil, err
	}
	scope := netbridge.Scope(dataDir(), o.namespace, defaultDataDir, defaultNamespace)
	return netbridge.NewNetworks(o.namespaceDataDir(), o.namespaceRunDir(), exe, pool, bits, netbridge.WithScope(scope)), nil
}

// subnetPool reads BERTH_SUBNET_POOL ("10.89.0.0/16" or "10.89.0.0/16/24":
// the pool, and the size of each network's block; default 10.89.0.0/16 in /24s).
func subnetPool() (netip.Prefix, int, error) {
	v := os.Getenv("BERTH_SUBNET_POOL")
	if v == "" {
		return netip.Prefix{}, 0, nil
	}
	bits := 24
	if i := strings.LastIndex(v, "/"); i > 0 && strings.Count(v, "/") == 2 {
		b, err := strconv.Atoi(v[i+1:])
		if err != nil || b < 8 || b > 30 {
			return netip.Prefix{}, 0, fmt.Errorf("BERTH_SUBNET_POOL %q: the block size after the second / must be 8 to 30", v)
		}
		bits, v = b, v[:i]
	}
	pool, err := netip.ParsePrefix(v)
	if err != nil || !pool.Addr().Is4() || pool.Bits() > bits {
		return netip.Prefix{}, 0, fmt.Errorf("BERTH_SUBNET_POOL %q: give an IPv4 prefix no smaller than the /%d blocks, e.g. 10.89.0.0/16/24", os.Getenv("BERTH_SUBNET_POOL"), bits)
	}
	return pool.Masked(), bits, nil
}

// dataDir and runDir are berth's own directories (BERTH_DATA_DIR, BERTH_RUN_DIR).
func dataDir() string { return envOr("BERTH_DATA_DIR", defaultDataDir) }

// defaultDataDir is berth's data dir unless BERTH_DATA_DIR names another.
const defaultDataDir = "/var/lib/berth"

func runDir() string { return envOr("BERTH_RUN_DIR", "/run/berth") }

// namespaceRunDir holds the run files of the namespace's projects (their
// locks; the project process's pid, log and supervision state, under
// projects/<project>), and namespaceDataDir the namespace's address
// allocations: the run and data dirs themselves for berth's default
// namespace (the paths of installations made before namespaces were told
// apart), else <dir>/namespaces/<namespace>, so that the same project name
// in two namespaces shares neither. (The named volumes are the
// containerd package's: the same rule, see its volumesRoot.)
func (o *globalOptions) namespaceRunDir() string {
	return namespaceDir(runDir(), o.namespace)
}

// namespaceDataDir: see namespaceRunDir.
func (o *globalOptions) namespaceDataDir() string {
	return namespaceDir(dataDir(), o.namespace)
}

func namespaceDir(dir, namespace string) string {
	if namespace == defaultNamespace {
		return dir
	}
	return filepath.Join(dir, "namespaces", namespace)
}

// namespacePattern is containerd's rule for a namespace name
// (pkg/identifiers): the name is a directory under the run and data dirs,
// so berth checks it before it makes any.
var namespacePattern = regexp.MustCompile(`^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$`)

// checkNamespace refuses a namespace containerd would refuse.
func checkNamespace(ns string) error {
	if len(ns) > 76 || !namespacePattern.MatchString(ns) {
		return fmt.Errorf("containerd namespace %q (--namespace, $CONTAINERD_NAMESPACE): use letters and digits, separated by single '.', '_' or '-', at most 76 characters", ns)
	}
	return nil
}

// loadProject loads the compose project, limited to services (and what
// they depend on) when given.
func (o *globalOptions) loadProject(ctx context.Context, services ...string) (*compose.Project, error) {
	if err := o.refuseContainersProject(); err != nil {
		return nil, err
	}
	lo := o.composeOptions()
	lo.Services = services
	return compose.Load(ctx, lo)
}

// loadAndConnect loads the project (limited to services when given) and
// connects to containerd, quietly. The caller closes the client.
func (o *globalOptions) loadAndConnect(ctx context.Context, services ...string) (*compose.Project, *containerd.Client, error) {
	p, err := o.loadProject(ctx, services...)
	if err != nil {
		return nil, nil, err
	}
	rt, err := o.connect(ctx, scheduler.Discard)
	if err != nil {
		return nil, nil, err
	}
	return p, rt, nil
}

// projectOrName loads the project. When there is no compose file, or one
// that does not load, but the project's name was given (-p or
// COMPOSE_PROJECT_NAME), it returns a project with only that name, marked
// FromLabels, as docker compose lets its commands work on a project by
// name: an invalid value in the file does not keep ps, logs, down or stop
// from the running project, and gets one warning naming the problem. The
// name the file would give (its name: key, its directory) serves too, if
// that project has containers.
func (o *globalOptions) projectOrName(ctx context.Context) (*compose.Project, error) {
	if o.byLabels != "" {
		return &compose.Project{Name: o.byLabels, FromLabels: true}, nil
	}
	if err := o.refuseContainersProject(); err != nil {
		return nil, err
	}
	p, err := o.loadProject(ctx)
	if err == nil {
		return p, nil
	}
	name := o.explicitName()
	if name == "" && !errors.Is(err, compose.ErrNoConfig) {
		name = o.runningName(ctx)
	}
	if name == "" {
		return nil, err
	}
	if !errors.Is(err, compose.ErrNoConfig) {
		fmt.Fprintf(o.stderr(), "WARN: %v: working on project %s from its containers' labels\n", err, name)
	}
	return &compose.Project{Name: name, FromLabels: true}, nil
}

// runningName is the name the compose file that does not load would give
// its project, if that project has containers; else "".
func (o *globalOptions) runningName(ctx context.Context) string {
	name := compose.ProjectName(ctx, o.composeOptions())
	if name == "" {
		return ""
	}
	rt, err := o.connect(ctx, scheduler.Discard)
	if err != nil {
		return ""
	}
	defer rt.Close()
	cs, err := rt.Containers(ctx, name)
	if err != nil || len(cs) == 0 {
		return ""
	}
	return name
}

// refuseContainersProject refuses the project name of berth's plain
// containers to the compose commands: they are berth container's.
func (o *globalOptions) refuseContainersProject() error {
	if o.byLabels == "" && o.explicitName() == compose.ContainersProject {
		return fmt.Errorf("project name %q is reserved for the plain containers of berth container run: use berth container ls, stop, rm … on them", compose.ContainersProject)
	}
	return nil
}

// explicitName is the project name the user gave (-p, else
// COMPOSE_PROJECT_NAME), or "".
func (o *globalOptions) explicitName() string {
	if o.projectName != "" {
		return o.projectName
	}
	return os.Getenv("COMPOSE_PROJECT_NAME")
}

// stderr is where warnings go.
func (o *globalOptions) stderr() io.Writer {
	if o.warnings != nil {
		return o.warnings
	}
	return os.Stderr
}

// labelProject is the project the service commands (stop, exec, cp, ...)
// act on: p itself, or for a project known by name only, what its
// containers' labels tell of its services (scheduler.ProjectFromContainers).
func labelProject(ctx context.Context, rt scheduler.Runtime, p *compose.Project) (*compose.Project, error) {
	return rebuiltProject(ctx, rt, p, scheduler.ProjectFromContainers)
}

// projectRebuilder rebuilds a project known by name from its containers.
type projectRebuilder func(name string, cs []scheduler.Container) *compose.Project

// rebuiltProject is labelProject with the given rebuilder.
func rebuiltProject(ctx context.Context, rt scheduler.Runtime, p *compose.Project, rebuild projectRebuilder) (*compose.Project, error) {
	if !p.FromLabels || len(p.Services) > 0 {
		return p, nil
	}
	cs, err := rt.Containers(ctx, p.Name)
	if err != nil {
		return nil, err
	}
	return rebuild(p.Name, cs), nil
}

// serviceProject loads the project (or rebuilds it from its containers'
// labels, see projectOrName and labelProject), checks the service names
// against it and connects to containerd. The caller closes the client.
func (o *globalOptions) serviceProject(ctx context.Context, services []string) (*compose.Project, *containerd.Client, error) {
	return o.serviceProjectBy(ctx, services, scheduler.ProjectFromContainers)
}

// serviceProjectBy is serviceProject, a project known by name rebuilt by
// rebuild (exec's also has the services of one-off containers).
func (o *globalOptions) serviceProjectBy(ctx context.Context, services []string, rebuild projectRebuilder) (*compose.Project, *containerd.Client, error) {
	p, err := o.projectOrName(ctx)
	if err != nil {
		return nil, nil, err
	}
	if !p.FromLabels && len(services) > 0 {
		// The loader enables the named services' profiles, as it does
		// for up, and names the project's services when one is unknown.
		if p, err = o.loadProject(ctx, services...); err != nil {
			return nil, nil, err
		}
	}
	rt, err := o.connect(ctx, scheduler.Discard)
	if err != nil {
		return nil, nil, err
	}
	if p, err = rebuiltProject(ctx, rt, p, rebuild); err != nil {
		rt.Close()
		return nil, nil, err
	}
	for _, s := range services {
		if p.Service(s) == nil {
			rt.Close()
			return nil, nil, fmt.Errorf("no such service: %s: project %s has no container of it", s, p.Name)
		}
	}
	return p, rt, nil
}

// projectClient loads the project (or takes its name: see projectOrName),
// checks the service names against it and connects to containerd. The
// caller closes the returned client.
func (o *globalOptions) projectClient(ctx context.Context, services []string) (*compose.Project, *containerd.Client, error) {
	p, err := o.projectOrName(ctx)
	if err != nil {
		return nil, nil, err
	}
	if err := selectServices(p, services); err != nil {
		return nil, nil, err
	}
	rt, err := o.connect(ctx, scheduler.Discard)
	if err != nil {
		return nil, nil, err
	}
	return p, rt, nil
}

// projectContainers is projectClient, and the project's containers. The
// caller closes the returned client.
func (o *globalOptions) projectContainers(ctx context.Context, services []string) (*compose.Project, *containerd.Client, []scheduler.Container, error) {
	p, rt, err := o.projectClient(ctx, services)
	if err != nil {
		return nil, nil, nil, err
	}
	cs, err := rt.Containers(ctx, p.Name)
	if err != nil {
		rt.Close()
		return nil, nil, nil, err
	}
	return p, rt, cs, nil
}

// selectServices checks that services names services of p.
func selectServices(p *compose.Project, services []string) error {
	if len(p.Services) == 0 {
		return nil // project known by name only: any service name may have containers
	}
	for _, s := range services {
		if p.Service(s) == nil {
			return fmt.Errorf("no such service: %s", s)
		}
	}
	return nil
}
