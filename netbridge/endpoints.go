package netbridge

import (
	"net/netip"
	"sort"
)

// NetworkEndpoint is a container's membership of one network, as the IPAM
// records it: what docker inspect shows as NetworkSettings.Networks.
type NetworkEndpoint struct {
	Network string
	// Addr is the container's address with the network's prefix length.
	Addr    netip.Prefix
	Gateway netip.Addr
	// Names are the names it answers to there.
	Names []string
}

// ContainerEndpoints returns the networks a container has an address on,
// sorted by network name.
func (m *IPAM) ContainerEndpoints(container string) ([]NetworkEndpoint, error) {
	st, err := m.read()
	if err != nil {
		return nil, err
	}
	var out []NetworkEndpoint
	for name, n := range st.Networks {
		addr, ok := n.Addresses[container]
		if !ok {
			continue
		}
		out = append(out, NetworkEndpoint{Network: name, Addr: netip.PrefixFrom(addr, n.Subnet.Prefix.Bits()), Gateway: n.Subnet.Gateway,
			Names: append([]string{}, n.Names[container]...)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Network < out[j].Network })
	return out, nil
}
