package netbridge

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vishvananda/netlink"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/scheduler"
)

// Networks is berth's network layer: a namespace per container, joined to
// its service's bridge networks. It implements scheduler.Network.
type Networks struct {
	Namespaces
	bridges *Bridges
	// runDir holds the DNS daemons' files; exe is the berth executable
	// that runs them.
	runDir, exe string
	// DaemonEnv is added to the environment of the project daemons it
	// starts (which containerd to supervise).
	DaemonEnv []string
}

var (
	_ scheduler.Network         = (*Networks)(nil)
	_ scheduler.NetworkObserver = (*Networks)(nil)
	_ scheduler.NetworkStarter  = (*Networks)(nil)
)

// NewNetworks keeps its address allocations under dataDir/network, taking
// automatic subnets from pool in /bits blocks (DefaultPool and 24 when
// invalid or 0), and its DNS daemons' files under runDir; exe is the berth
// executable, which runs them (`berth __dns PROJECT`).
func NewNetworks(dataDir, runDir, exe string, pool netip.Prefix, bits int, opts ...NetworksOption) *Networks {
	if !pool.IsValid() {
		pool = DefaultPool
	}
	if bits == 0 {
		bits = 24
	}
	ipam := NewIPAM(filepath.Join(dataDir, "network", "ipam.json"), pool, bits, HostRoutes)
	n := &Networks{bridges: &Bridges{IPAM: ipam}, runDir: runDir, exe: exe}
	for _, o := range opts {
		o(n)
	}
	return n
}

// NetworksOption is an option of NewNetworks.
type NetworksOption func(*Networks)

// WithScope names the host-side objects (bridges, veths, network
// namespaces, nftables rule tags) in a scope of their own, so that a berth
// with another data dir or containerd namespace, running the same project
// names, never takes them over. "" (the default) keeps the plain names.
// The last one given counts.
func WithScope(scope string) NetworksOption {
	return func(n *Networks) {
		n.Namespaces.Scope = scope
		n.bridges.Scope = scope
	}
}

// Scope returns a scope for WithScope that tells one berth from another:
// "" for the default data dir and containerd namespace, else a short hash
// of both.
func Scope(dataDir, namespace, defaultDataDir, defaultNamespace string) string {
	if filepath.Clean(dataDir) == filepath.Clean(defaultDataDir) && namespace == defaultNamespace {
		return ""
	}
	return shortHash(filepath.Clean(dataDir)+"\x00"+namespace, 6)
}

// newProjectIPAM opens the IPAM state for reading (the DNS daemon): the
// pool does not matter there.
func newProjectIPAM(dataDir string) *IPAM {
	return NewIPAM(filepath.Join(dataDir, "network", "ipam.json"), DefaultPool, 24, HostRoutes)
}

// EnsureNetworks implements scheduler.Network. It also checks the
// services' fixed host ports, so that a taken port fails up before any
// container starts.
func (n *Networks) EnsureNetworks(_ context.Context, p *compose.Project) error {
	if err := n.ensureBridges(p); err != nil {
		return err
	}
	// Started even without networks: it also supervises the containers.
	return n.ensureDNS(p.Name)
}

// StartNetworks implements scheduler.NetworkStarter: EnsureNetworks up to
// the start of the project's process, which started waits for.
func (n *Networks) StartNetworks(_ context.Context, p *compose.Project) (started func() error, err error) {
	if err := n.ensureBridges(p); err != nil {
		return nil, err
	}
	return n.startDNS(p.Name)
}

// ensureBridges is EnsureNetworks without the project's process.
func (n *Networks) ensureBridges(p *compose.Project) error {
	if err := n.bridges.IPAM.CheckPorts(p.Name, p.Services); err != nil {
		return err
	}
	existing, err := n.bridges.IPAM.Subnets()
	if err != nil {
		return err
	}
	used := map[string]bool{}
	for _, s := range p.Services {
		for _, sn := range s.Networks {
			used[sn.Key] = true
		}
	}
	if p.AllResources { // --all-resources: those no service uses too
		for key := range p.Networks {
			used[key] = true
		}
	}
	keys := sortedKeys(used)
	for _, key := range keys {
		net, ok := p.Networks[key]
		if !ok {
			return fmt.Errorf("network %q is not defined", key)
		}
		if _, ok := existing[net.Name]; net.External && !ok {
			return fmt.Errorf("network %s declared as external, but could not be found: bring up the project that defines it first", net.Name)
		}
	}
	// Every network is checked before the first is made: a refused one
	// leaves nothing behind.
	if err := n.bridges.IPAM.CheckProjectSubnets(p, keys); err != nil {
		return err
	}
	for _, key := range keys {
		net := p.Networks[key]
		if net.External {
			continue
		}
		cfg := NetworkConfig{Name: net.Name, Project: p.Name, Internal: net.Internal}
		if net.Subnet.IsValid() {
			cfg.Subnet = &Subnet{Prefix: net.Subnet, Gateway: net.Gateway}
		}
		if _, err := n.bridges.EnsureNetwork(cfg); err != nil {
			return err
		}
		if err := recordConfigHash(BridgeName(n.bridges.scoped(net.Name)), net.Name, compose.NetworkHash(net)); err != nil {
			return err
		}
	}
	return nil
}

// Connect implements scheduler.Network: the service's networks become
// eth0, eth1, ... in its order; the default route goes through the first
// network that is not internal. The container's nameserver is the DNS
// daemon on its first network's gateway. Its names there are the service,
// the container name, the aliases and the hostname.
func (n *Networks) Connect(_ context.Context, p *compose.Project, s *compose.Service, container, netns string) (_ []string, retErr error) {
	defer func() {
		if retErr != nil {
			n.Disconnect(context.Background(), p.Name, container) //nolint:errcheck // rollback of the networks joined so far
		}
	}()
	routed := false
	var nameservers []string
	var published netip.Addr // ports go to the container's address on its first network
	ifNames := s.InterfaceNames()
	for i, sn := range s.Networks {
		internal := p.Networks[sn.Key].Internal
		names := append([]string{s.Name}, sn.Aliases...)
		if s.NoServiceNames {
			names = nil
		}
		if s.Hostname != "" {
			names = append(names, s.Hostname)
		}
		cfg := EndpointConfig{
			Network: sn.Name, Container: container, NetNS: netns, IfName: ifNames[i],
			Addr: sn.IPv4Address, MAC: sn.MACAddress, DefaultRoute: !routed && !internal, Names: names,
			Links: linkAliases(s),
		}
		ep, err := n.bridges.Attach(cfg)
		if err != nil {
			return nil, fmt.Errorf("service %q: %w", s.Name, err)
		}
		if len(nameservers) == 0 {
			nameservers = append(nameservers, ep.Gateway.String())
		}
		if !published.IsValid() && !internal {
			published = ep.Addr.Addr()
		}
		routed = routed || cfg.DefaultRoute
	}
	if len(s.Ports) > 0 {
		if !published.IsValid() {
			return nil, fmt.Errorf("service %q: ports cannot be published from internal networks only", s.Name)
		}
		if _, err := n.bridges.Publish(container, published, s.Ports); err != nil {
			return nil, fmt.Errorf("service %q: %w", s.Name, err)
		}
	}
	return nameservers, nil
}

// linkAliases are a service's links as DNS aliases: alias to service name
// (a link without an alias needs none: the service's name resolves).
func linkAliases(s *compose.Service) map[string]string {
	var out map[string]string
	for _, l := range s.Links {
		if l.Alias == l.Service {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[l.Alias] = l.Service
	}
	return out
}

// Ports returns a container's published ports: none while it is stopped
// (as docker shows them).
func (n *Networks) Ports(container string) ([]PortBinding, error) {
	if stopped, err := n.bridges.IPAM.readStopped(); err != nil || stopped[container] {
		return nil, err
	}
	return n.bridges.IPAM.Ports(container)
}

// Disconnect implements scheduler.Network: the container's port rules go
// (and berth's table, if they were its last rules), then its veths, and
// its host ports and addresses are freed in one change of the IPAM state.
// A container without published ports costs no nftables transaction,
// which holds a lock of the whole host: down disconnects every container
// of a project at once. An address whose veth could not be deleted stays
// allocated.
func (n *Networks) Disconnect(_ context.Context, _, container string) error {
	held, err := n.bridges.IPAM.ContainerHoldings(container)
	if err != nil {
		return err
	}
	// Port rules are only ever made for ports allocated first (Publish,
	// HoldPorts), and the allocation goes after them.
	if held.Ports {
		if err := n.bridges.deletePortRules(container); err != nil {
			return err
		}
	}
	var errs []error
	var detached []string
	for _, net := range held.Networks {
		if err := n.bridges.deleteVeth(net, container); err != nil {
			errs = append(errs, err)
			continue
		}
		detached = append(detached, net)
	}
	errs = append(errs, n.bridges.IPAM.ReleaseContainer(container, detached))
	return errors.Join(errs...)
}

// RemoveNetworks implements scheduler.Network.
func (n *Networks) RemoveNetworks(_ context.Context, project string) error {
	networks, err := n.bridges.IPAM.ProjectNetworks(project)
	if err != nil {
		return err
	}
	var errs []error
	for _, net := range networks {
		errs = append(errs, n.bridges.RemoveNetwork(net))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return n.waitDNSGone(project)
}

// ObserveNetworks implements scheduler.NetworkObserver.
func (n *Networks) ObserveNetworks(_ context.Context, project string) ([]scheduler.ObservedNetwork, error) {
	infos, err := n.bridges.IPAM.ProjectNetworkInfo(project)
	if err != nil {
		return nil, err
	}
	out := make([]scheduler.ObservedNetwork, 0, len(infos))
	for _, i := range infos {
		out = append(out, scheduler.ObservedNetwork{Name: i.Name, ConfigHash: configHashOf(BridgeName(n.bridges.scoped(i.Name))), Containers: i.Containers})
	}
	return out, nil
}

// RemoveNetwork implements scheduler.NetworkObserver: it removes one of the
// project's networks (never another project's), so that EnsureNetworks
// makes it again with its new configuration. The scheduler removes the
// containers on it first (it refuses when another project's are).
func (n *Networks) RemoveNetwork(_ context.Context, project, name string) error {
	infos, err := n.bridges.IPAM.ProjectNetworkInfo(project)
	if err != nil {
		return err
	}
	for _, i := range infos {
		if i.Name != name {
			continue
		}
		// The scheduler removed the containers on it first: what is left
		// are addresses of containers that are gone.
		for _, c := range i.Containers {
			if err := n.bridges.Detach(name, c); err != nil {
				return fmt.Errorf("network %s: detach %s: %w", name, c, err)
			}
		}
		return n.bridges.RemoveNetwork(name)
	}
	return nil
}

// configHashAlias prefixes the config hash a network's bridge carries
// as its interface alias (ifalias).
const configHashAlias = "berth-config-hash="

// configHashOf returns the compose.NetworkHash a network was made with:
// its bridge's (named with the scope) alias, which goes with the bridge. It is "" for a network
// an older berth made, or whose bridge is gone (a reboot): then the
// network is taken as it is. It is not in the IPAM state, which older
// berth binaries still running (project daemons) rewrite without it.
func configHashOf(bridge string) string {
	l, err := netlink.LinkByName(bridge)
	if err != nil {
		return ""
	}
	hash, ok := strings.CutPrefix(l.Attrs().Alias, configHashAlias)
	if !ok {
		return ""
	}
	return hash
}

// recordConfigHash notes the configuration hash on a network's bridge that
// has none yet: the one just made, or one an older berth made, which is
// taken as it is. A recorded hash is never replaced: up makes a network
// whose configuration changed again (it removes it first).
func recordConfigHash(bridge, network, hash string) error {
	l, err := netlink.LinkByName(bridge)
	if err != nil {
		return fmt.Errorf("network %s: bridge %s: %w", network, bridge, err)
	}
	if strings.HasPrefix(l.Attrs().Alias, configHashAlias) {
		return nil
	}
	if err := netlink.LinkSetAlias(l, configHashAlias+hash); err != nil {
		return fmt.Errorf("network %s: record its configuration on bridge %s: %w", network, bridge, err)
	}
	return nil
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Endpoints returns the networks a container is on, with its address
// there (inspect, container ls).
func (n *Networks) Endpoints(container string) ([]NetworkEndpoint, error) {
	return n.bridges.IPAM.ContainerEndpoints(container)
}
