package compose

import (
	"fmt"
	"maps"
	"net/netip"
	"sort"

	"github.com/compose-spec/compose-go/v2/types"
)

// NetworkModeBridge is network_mode: bridge, Docker's default bridge
// network. berth has no network shared by every project (its networks
// are isolated from each other, and a shared one would undo that): a
// service in this mode joins its project's default network instead, as if
// it named no network. It reaches the outside and publishes ports as on
// Docker's bridge; unlike there, it also resolves the project's other
// services by name, and other projects' containers cannot reach it.
const NetworkModeBridge = "bridge"

// DefaultNetwork is the key of the network services join when they name
// none.
const DefaultNetwork = "default"

// defaultNetworkName is the name of the project's default network: its
// name: when the file declares it, else <project>_default, as compose
// names it.
func defaultNetworkName(spec *types.Project) string {
	if n, ok := spec.Networks[DefaultNetwork]; ok && n.Name != "" {
		return n.Name
	}
	return spec.Name + "_" + DefaultNetwork
}

// networkOf converts a top-level network, refusing what berth's bridge
// networks cannot do yet with a message naming the network.
func networkOf(key string, n types.NetworkConfig) (Network, error) {
	out := Network{Name: n.Name, Driver: n.Driver, External: bool(n.External), Internal: n.Internal, Labels: maps.Clone(n.Labels)}
	if out.External {
		return out, nil
	}
	if n.Driver != "" && n.Driver != "bridge" {
		return Network{}, fmt.Errorf("network %q: driver %q is not supported: berth makes bridge networks (remove driver:)", key, n.Driver)
	}
	if n.EnableIPv6 != nil && *n.EnableIPv6 {
		return Network{}, fmt.Errorf("network %q: enable_ipv6 is not supported yet: berth's networks are IPv4", key)
	}
	if n.Ipam.Driver != "" && n.Ipam.Driver != "default" {
		return Network{}, fmt.Errorf("network %q: ipam driver %q is not supported", key, n.Ipam.Driver)
	}
	var v4 []*types.IPAMPool
	for _, pool := range n.Ipam.Config {
		p, err := netip.ParsePrefix(pool.Subnet)
		if err != nil {
			return Network{}, fmt.Errorf("network %q: ipam subnet %q: %w", key, pool.Subnet, err)
		}
		if p.Addr().Is4() {
			v4 = append(v4, pool)
		}
	}
	if len(v4) > 1 {
		return Network{}, fmt.Errorf("network %q: %d IPv4 ipam configs; berth takes one subnet per network", key, len(v4))
	}
	if len(v4) == 1 {
		pool := v4[0]
		if pool.IPRange != "" || len(pool.AuxiliaryAddresses) > 0 {
			return Network{}, fmt.Errorf("network %q: ipam ip_range and aux_addresses are not supported yet", key)
		}
		out.Subnet = netip.MustParsePrefix(pool.Subnet).Masked()
		if pool.Gateway != "" {
			gw, err := netip.ParseAddr(pool.Gateway)
			if err != nil || !out.Subnet.Contains(gw) {
				return Network{}, fmt.Errorf("network %q: ipam gateway %q is not an address in %s", key, pool.Gateway, out.Subnet)
			}
			out.Gateway = gw
		}
	}
	return out, nil
}

// serviceNetworks lists the networks a service joins in interface order:
// highest priority first, then by key, as Docker orders them.
func serviceNetworks(spec *types.Project, sc types.ServiceConfig) ([]ServiceNetwork, error) {
	type entry struct {
		ServiceNetwork
		priority int
	}
	var list []entry
	for key, cfg := range sc.Networks {
		top, ok := spec.Networks[key]
		if !ok {
			return nil, fmt.Errorf("network %q is not defined", key)
		}
		e := entry{ServiceNetwork: ServiceNetwork{Key: key, Name: top.Name}}
		if cfg != nil {
			e.priority = cfg.Priority
			e.Aliases = append([]string{}, cfg.Aliases...)
			e.MACAddress = cfg.MacAddress
			e.InterfaceName = cfg.InterfaceName
			if cfg.Ipv4Address != "" {
				a, err := netip.ParseAddr(cfg.Ipv4Address)
				if err != nil || !a.Is4() {
					return nil, fmt.Errorf("network %q: ipv4_address %q is not an IPv4 address", key, cfg.Ipv4Address)
				}
				e.IPv4Address = a
			}
			if cfg.Ipv6Address != "" {
				return nil, fmt.Errorf("network %q: ipv6_address is not supported yet", key)
			}
		}
		list = append(list, e)
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].priority != list[j].priority {
			return list[i].priority > list[j].priority
		}
		return list[i].Key < list[j].Key
	})
	out := make([]ServiceNetwork, len(list))
	for i, e := range list {
		out[i] = e.ServiceNetwork
	}
	return out, nil
}
