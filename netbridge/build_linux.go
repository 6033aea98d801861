package netbridge

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"

	"github.com/berth/berth/netbridge/dns"
)

// buildProject is the IPAM project of build networks. No compose project
// can have this name (a colon), so no project's down removes them.
const buildProject = "berth:build"

// buildPrefix starts the names of build networks and of their endpoints.
const buildPrefix = "berth-build-"

// BuildNetworks makes the networks of image builds' RUN steps. A build's
// network is a bridge of its own with NAT egress, made as a project
// network is, so it gets the same rules (confineRules: off the host's
// loopback, no connection from or to other berth bridges); one namespace
// on it; and a DNS forwarder on its gateway served by this process, as
// the host's resolvers may be on its loopback (systemd-resolved,
// dnsmasq), which the namespace cannot reach. It implements
// containerd/build.Network.
type BuildNetworks struct {
	bridges *Bridges
	// upstreams are the resolvers (host:port) the forwarder asks; none
	// means the host's.
	upstreams []string
	// resolvConf is the host's resolv.conf.
	resolvConf string

	mu      sync.Mutex // guards following
	servers map[string]*gatewayServers
}

// Builds returns the networks of image builds, allocated from the same
// pool as the project networks. upstreams are the resolvers RUN steps'
// names go to (host:port); none means the host's.
func (n *Networks) Builds(upstreams []string) *BuildNetworks {
	return &BuildNetworks{bridges: n.bridges, upstreams: upstreams, resolvConf: "/etc/resolv.conf", servers: map[string]*gatewayServers{}}
}

// buildNames are the network and endpoint (namespace) names of build id.
func buildNames(id string) (network, endpoint string) {
	return buildPrefix + id, "build-" + id
}

// CreateBuildNetwork makes build id's network and returns its namespace's
// path and the nameserver RUN steps use: the forwarder on its gateway. On
// failure nothing of it is left.
func (b *BuildNetworks) CreateBuildNetwork(ctx context.Context, id string) (_ string, _ []string, retErr error) {
	network, endpoint := buildNames(id)
	net, err := b.bridges.EnsureNetwork(NetworkConfig{Name: network, Project: buildProject})
	if err != nil {
		return "", nil, err
	}
	defer func() {
		if retErr != nil {
			b.RemoveBuildNetwork(context.WithoutCancel(ctx), id) //nolint:errcheck // rollback of what was made
		}
	}()
	ns, err := (Namespaces{}).CreateNamespace(ctx, "", endpoint)
	if err != nil {
		return "", nil, err
	}
	ep, err := b.bridges.Attach(EndpointConfig{Network: network, Container: endpoint, NetNS: ns, IfName: "eth0", DefaultRoute: true})
	if err != nil {
		return "", nil, err
	}
	servers := b.upstreams
	if len(servers) == 0 {
		// No resolvers: names fail in RUN steps, addresses still work.
		servers, _ = dns.HostResolvers(b.resolvConf)
	}
	h := &dns.Handler{Records: subnetClients(net.Subnet.Prefix)}
	if len(servers) > 0 {
		h.Forward = &dns.Upstream{Servers: servers}
	}
	gs, err := listen(ep.Gateway, h)
	if err != nil {
		return "", nil, fmt.Errorf("build network %s: DNS: %w", network, err)
	}
	b.mu.Lock()
	b.servers[id] = gs
	b.mu.Unlock()
	return ns, []string{ep.Gateway.String()}, nil
}

// RemoveBuildNetwork removes build id's network: its DNS forwarder, if
// this process serves it, its namespace, endpoint, bridge, rules and
// allocation. Parts already gone are not an error.
func (b *BuildNetworks) RemoveBuildNetwork(ctx context.Context, id string) error {
	network, endpoint := buildNames(id)
	b.mu.Lock()
	if gs, ok := b.servers[id]; ok {
		gs.stop()
		delete(b.servers, id)
	}
	b.mu.Unlock()
	err := errors.Join(
		b.bridges.Detach(network, endpoint),
		(Namespaces{}).DeleteNamespace(ctx, "", endpoint),
		b.bridges.RemoveNetwork(network),
	)
	if err != nil {
		return fmt.Errorf("build network %s: %w", network, err)
	}
	return nil
}

// BuildNetworks lists the ids of the build networks in the IPAM state,
// those of killed berth processes included.
func (b *BuildNetworks) BuildNetworks(_ context.Context) ([]string, error) {
	names, err := b.bridges.IPAM.ProjectNetworks(buildProject)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, n := range names {
		if id, ok := strings.CutPrefix(n, buildPrefix); ok {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// subnetClients are the DNS records of a build network: no names of its
// own, so every query of a client on the subnet is forwarded, and queries
// from elsewhere are refused.
type subnetClients netip.Prefix

var _ dns.Records = subnetClients{}

func (s subnetClients) Lookup(netip.Addr, string) []netip.Addr  { return nil }
func (s subnetClients) Reverse(netip.Addr, netip.Addr) []string { return nil }
func (s subnetClients) Known(src netip.Addr) bool               { return netip.Prefix(s).Contains(src) }
