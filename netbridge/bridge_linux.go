package netbridge

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/berth/berth/compose"
)

// Bridges creates project networks (a Linux bridge each, with its subnet's
// gateway address, NAT or isolation rules) and connects containers to them
// (a veth pair each). Every multi-step operation rolls back on failure.
type Bridges struct {
	IPAM *IPAM
	// Scope keeps the host-side names (bridges, veths, rule tags) of one
	// berth (data dir and containerd namespace) apart from another's that
	// runs the same project names; "" for the default one.
	Scope string
}

// scoped qualifies a network or container name with the scope before it
// is hashed or tagged into a host-side name.
func (b *Bridges) scoped(name string) string {
	if b.Scope == "" {
		return name
	}
	return b.Scope + "/" + name
}

// NetworkConfig is what a project network asks for.
type NetworkConfig struct {
	// Name is the network's real name (<project>_<key>).
	Name string
	// Project is the project that creates it.
	Project string
	// Subnet is the requested subnet; nil means one from the pool.
	Subnet *Subnet
	// Internal networks reach nothing outside their bridge.
	Internal bool
}

// Network is a network as created.
type Network struct {
	Name     string
	Bridge   string
	Subnet   Subnet
	Internal bool
}

// BridgeName is the Linux bridge of a network: "br-" and a hash of its
// name, as interface names are limited to 15 bytes.
func BridgeName(network string) string { return "br-" + shortHash(network, 10) }

// vethNames are the host end of a container's veth on a network and the
// temporary name of the container end before it moves into the namespace.
func vethNames(network, container string) (host, peer string) {
	h := shortHash(network+"/"+container, 12)
	return "vb" + h, "vp" + h
}

func shortHash(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:n]
}

// EnsureNetwork creates the network if needed and returns it. Calling it
// again for an existing network changes nothing.
func (b *Bridges) EnsureNetwork(cfg NetworkConfig) (_ Network, retErr error) {
	subnet, created, err := b.IPAM.AllocateSubnet(cfg.Name, cfg.Project, cfg.Internal, cfg.Subnet)
	if err != nil {
		return Network{}, err
	}
	if created {
		defer func() {
			if retErr != nil {
				b.IPAM.ReleaseSubnet(cfg.Name) //nolint:errcheck // rollback
			}
		}()
	}
	name := BridgeName(b.scoped(cfg.Name))
	br, err := netlink.LinkByName(name)
	var notFound netlink.LinkNotFoundError
	switch {
	case errors.As(err, &notFound):
		if err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name, HardwareAddr: bridgeMAC(name)}}); err != nil {
			return Network{}, fmt.Errorf("network %s: create bridge %s: %w", cfg.Name, name, err)
		}
		defer func() {
			if retErr != nil {
				if l, err := netlink.LinkByName(name); err == nil {
					netlink.LinkDel(l) //nolint:errcheck // rollback
				}
			}
		}()
		if br, err = netlink.LinkByName(name); err != nil {
			return Network{}, fmt.Errorf("network %s: bridge %s: %w", cfg.Name, name, err)
		}
	case err != nil:
		return Network{}, fmt.Errorf("network %s: bridge %s: %w", cfg.Name, name, err)
	default:
		// Made by a berth that let its address follow its ports: kept as
		// it is now, and from now on.
		if err := pinBridgeMAC(br); err != nil {
			return Network{}, fmt.Errorf("network %s: bridge %s: %w", cfg.Name, name, err)
		}
	}
	gw := &netlink.Addr{IPNet: &net.IPNet{IP: net.IP(subnet.Gateway.AsSlice()), Mask: net.CIDRMask(subnet.Prefix.Bits(), 32)}}
	if err := netlink.AddrReplace(br, gw); err != nil {
		return Network{}, fmt.Errorf("network %s: address %s on %s: %w", cfg.Name, subnet.Gateway, name, err)
	}
	if err := netlink.LinkSetUp(br); err != nil {
		return Network{}, fmt.Errorf("network %s: set %s up: %w", cfg.Name, name, err)
	}
	if !cfg.Internal {
		if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644); err != nil {
			return Network{}, fmt.Errorf("network %s: enable IP forwarding: %w", cfg.Name, err)
		}
		// Published ports reached through 127.0.0.1 are routed into the
		// bridge. This also lets the bridge deliver packets to 127.0.0.0/8,
		// which confineRules drops before routing.
		if err := os.WriteFile("/proc/sys/net/ipv4/conf/"+name+"/route_localnet", []byte("1"), 0o644); err != nil {
			return Network{}, fmt.Errorf("network %s: allow published ports on 127.0.0.1: %w", cfg.Name, err)
		}
	}
	if err := withNFT(func(n *nft) error {
		tagged := b.scoped(cfg.Name)
		rules := natRules(n.table, n.post, n.fwd, tagged, name, subnet.Prefix, cfg.Internal)
		rules = append(rules, confineRules(n.table, n.raw, n.fwd, tagged, name)...)
		return n.setNetworkRules(tagged, rules)
	}); err != nil {
		return Network{}, err
	}
	return Network{Name: cfg.Name, Bridge: name, Subnet: subnet, Internal: cfg.Internal}, nil
}

// bridgeMAC is the MAC address a bridge is made with: locally
// administered, unicast, derived from its name. A bridge given no address
// takes the lowest of its ports' and changes it as ports come and go: when
// the container whose veth had the lowest address leaves, the others'
// frames to the address they learnt for the gateway are no longer the
// bridge's, and every one of them loses its gateway, berth's DNS server
// included, until its neighbour entry is probed again (5 to 8 s). A
// container then resolving a name hangs that long: in a down, one whose
// main process was in such a lookup when its stop signal came was killed
// at the end of its stop timeout (about 2 wide30 downs in 25 took 10 s).
// Docker's bridge driver sets its bridges' addresses for the same reason.
func bridgeMAC(name string) net.HardwareAddr {
	sum := sha256.Sum256([]byte("bridge-mac/" + name))
	mac := net.HardwareAddr(sum[:6])
	mac[0] = mac[0]&^0x01 | 0x02 // unicast, locally administered
	return mac
}

// netAddrSet is the kernel's NET_ADDR_SET in a link's addr_assign_type:
// its address was set, and a bridge then keeps it whatever its ports.
const netAddrSet = "3"

// pinBridgeMAC makes an existing bridge keep the address it has now (see
// bridgeMAC), when it was not set: setting a link's address marks it set.
// A bridge whose ports have all left has no address (all zeros, which
// cannot be set): with no port, no container has learnt one, and it gets
// the address berth makes bridges with.
func pinBridgeMAC(br netlink.Link) error {
	b, err := os.ReadFile("/sys/class/net/" + br.Attrs().Name + "/addr_assign_type")
	if err != nil || strings.TrimSpace(string(b)) == netAddrSet {
		return nil // a kernel that does not tell: left as it is
	}
	if err := netlink.LinkSetHardwareAddr(br, pinnedMAC(br.Attrs().Name, br.Attrs().HardwareAddr)); err != nil {
		return fmt.Errorf("keep its MAC address: %w", err)
	}
	return nil
}

// pinnedMAC is the address pinBridgeMAC gives bridge name, whose address
// is now current: current itself when it is a unicast address, else
// bridgeMAC's.
func pinnedMAC(name string, current net.HardwareAddr) net.HardwareAddr {
	if len(current) == 6 && current[0]&0x01 == 0 && !bytes.Equal(current, make(net.HardwareAddr, 6)) {
		return current
	}
	return bridgeMAC(name)
}

// RemoveNetwork deletes the network's rules, bridge and allocation. A
// network that does not exist is not an error.
func (b *Bridges) RemoveNetwork(network string) error {
	if err := withNFT(func(n *nft) error {
		if err := n.deleteNetworkRules(b.scoped(network)); err != nil {
			return err
		}
		return n.dropTableIfEmpty()
	}); err != nil {
		return err
	}
	if l, err := netlink.LinkByName(BridgeName(b.scoped(network))); err == nil {
		if err := netlink.LinkDel(l); err != nil {
			return fmt.Errorf("network %s: delete bridge: %w", network, err)
		}
	}
	return b.IPAM.ReleaseSubnet(network)
}

// EndpointConfig connects one container to one network.
type EndpointConfig struct {
	Network   string
	Container string
	// NetNS is the container's network namespace path.
	NetNS string
	// IfName is the interface inside: eth0, eth1, ...
	IfName string
	// Addr is the requested address (ipv4_address); invalid means any.
	Addr netip.Addr
	// MAC is the requested hardware address (mac_address), or "".
	MAC string
	// DefaultRoute routes the container's traffic out through this network.
	DefaultRoute bool
	// Names are the names the container answers to on the network in DNS.
	Names []string
	// Links are the container's links on the network: alias to the name
	// it stands for, resolved for this container only.
	Links map[string]string
}

// Endpoint is a container's interface on a network.
type Endpoint struct {
	Network string
	IfName  string
	Addr    netip.Prefix
	Gateway netip.Addr
	// HostVeth is the host end of the veth pair, on the bridge.
	HostVeth string
}

// Attach connects a container's namespace to a network: a veth pair whose
// host end joins the bridge and whose other end becomes IfName inside,
// with the container's address and, if asked, the default route.
func (b *Bridges) Attach(cfg EndpointConfig) (_ Endpoint, retErr error) {
	var mac net.HardwareAddr
	if cfg.MAC != "" {
		var err error
		if mac, err = net.ParseMAC(cfg.MAC); err != nil {
			return Endpoint{}, fmt.Errorf("container %s: mac_address %q: %w", cfg.Container, cfg.MAC, err)
		}
	}
	addr, subnet, err := b.IPAM.AllocateAddress(cfg.Network, cfg.Container, cfg.Addr, append(slices.Clone(cfg.Names), linkNames(cfg.Links)...))
	if err != nil {
		return Endpoint{}, err
	}
	defer func() {
		if retErr != nil {
			b.IPAM.ReleaseAddress(cfg.Network, cfg.Container) //nolint:errcheck // rollback
		}
	}()
	br, err := netlink.LinkByName(BridgeName(b.scoped(cfg.Network)))
	if err != nil {
		return Endpoint{}, fmt.Errorf("container %s: bridge of network %s: %w", cfg.Container, cfg.Network, err)
	}
	hostName, peerName := vethNames(b.scoped(cfg.Network), cfg.Container)
	if old, err := netlink.LinkByName(hostName); err == nil { // left by an interrupted attempt
		netlink.LinkDel(old) //nolint:errcheck // replaced below
	}
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: hostName, MasterIndex: br.Attrs().Index}, PeerName: peerName}
	if err := netlink.LinkAdd(veth); err != nil {
		return Endpoint{}, fmt.Errorf("container %s: create veth on network %s: %w", cfg.Container, cfg.Network, err)
	}
	defer func() {
		if retErr != nil {
			if l, err := netlink.LinkByName(hostName); err == nil {
				netlink.LinkDel(l) //nolint:errcheck // rollback; the peer goes with it
			}
		}
	}()
	peer, err := netlink.LinkByName(peerName)
	if err != nil {
		return Endpoint{}, fmt.Errorf("container %s: veth peer: %w", cfg.Container, err)
	}
	ns, err := netns.GetFromPath(cfg.NetNS)
	if err != nil {
		return Endpoint{}, fmt.Errorf("container %s: network namespace %s: %w", cfg.Container, cfg.NetNS, err)
	}
	defer ns.Close()
	if err := netlink.LinkSetNsFd(peer, int(ns)); err != nil {
		return Endpoint{}, fmt.Errorf("container %s: move veth into its namespace: %w", cfg.Container, err)
	}
	prefix := netip.PrefixFrom(addr, subnet.Prefix.Bits())
	if err := configureInside(ns, peerName, cfg, mac, prefix, subnet.Gateway); err != nil {
		return Endpoint{}, fmt.Errorf("container %s: network %s: %w", cfg.Container, cfg.Network, err)
	}
	host, err := netlink.LinkByName(hostName)
	if err != nil {
		return Endpoint{}, fmt.Errorf("container %s: veth: %w", cfg.Container, err)
	}
	if err := netlink.LinkSetUp(host); err != nil {
		return Endpoint{}, fmt.Errorf("container %s: set veth up: %w", cfg.Container, err)
	}
	return Endpoint{Network: cfg.Network, IfName: cfg.IfName, Addr: prefix, Gateway: subnet.Gateway, HostVeth: hostName}, nil
}

// configureInside names, addresses and raises the container's end of the
// veth, and adds the default route, through a netlink handle in the
// container's namespace (no thread switching).
func configureInside(ns netns.NsHandle, peerName string, cfg EndpointConfig, mac net.HardwareAddr, addr netip.Prefix, gw netip.Addr) error {
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return err
	}
	defer h.Close()
	link, err := h.LinkByName(peerName)
	if err != nil {
		return err
	}
	if err := h.LinkSetName(link, cfg.IfName); err != nil {
		return fmt.Errorf("rename to %s: %w", cfg.IfName, err)
	}
	if mac != nil {
		if err := h.LinkSetHardwareAddr(link, mac); err != nil {
			return fmt.Errorf("set mac_address: %w", err)
		}
	}
	ipnet := &net.IPNet{IP: net.IP(addr.Addr().AsSlice()), Mask: net.CIDRMask(addr.Bits(), 32)}
	if err := h.AddrAdd(link, &netlink.Addr{IPNet: ipnet}); err != nil {
		return fmt.Errorf("address %s: %w", addr, err)
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("set %s up: %w", cfg.IfName, err)
	}
	if cfg.DefaultRoute {
		if err := h.RouteAdd(&netlink.Route{LinkIndex: link.Attrs().Index, Gw: net.IP(gw.AsSlice())}); err != nil {
			return fmt.Errorf("default route via %s: %w", gw, err)
		}
	}
	return nil
}

// Publish allocates a container's host ports and installs their rules. On
// failure nothing of it is left.
func (b *Bridges) Publish(container string, addr netip.Addr, ports []compose.PortMapping) (_ []PortBinding, retErr error) {
	bindings, err := b.IPAM.AllocatePorts(container, addr, ports)
	if err != nil {
		return nil, err
	}
	defer func() {
		if retErr != nil {
			b.IPAM.ReleasePorts(container) //nolint:errcheck // rollback
		}
	}()
	if err := withNFT(func(n *nft) error {
		var rules []*nftables.Rule
		for _, pb := range bindings {
			pb.Container = b.scoped(pb.Container) // its rules' tag
			rules = append(rules, portRules(n.table, n.pre, n.out, pb)...)
		}
		return n.setRules(portTag(b.scoped(container)), rules)
	}); err != nil {
		return nil, err
	}
	return bindings, nil
}

// Unpublish removes a container's port rules and frees its host ports.
func (b *Bridges) Unpublish(container string) error {
	if err := b.deletePortRules(container); err != nil {
		return err
	}
	return b.IPAM.ReleasePorts(container)
}

// deletePortRules removes a container's port rules, and berth's table
// when they were the last rules in it.
func (b *Bridges) deletePortRules(container string) error {
	return withNFT(func(n *nft) error {
		if err := n.deleteRules(portTag(b.scoped(container))); err != nil {
			return err
		}
		return n.dropTableIfEmpty()
	})
}

// Detach removes a container's veth on a network (its peer goes with it)
// and frees its address. Missing ones are not errors.
func (b *Bridges) Detach(network, container string) error {
	if err := b.deleteVeth(network, container); err != nil {
		return err
	}
	return b.IPAM.ReleaseAddress(network, container)
}

// deleteVeth removes a container's veth on a network, if it has one.
func (b *Bridges) deleteVeth(network, container string) error {
	hostName, _ := vethNames(b.scoped(network), container)
	if l, err := netlink.LinkByName(hostName); err == nil {
		if err := netlink.LinkDel(l); err != nil {
			return fmt.Errorf("container %s: delete veth on network %s: %w", container, network, err)
		}
	}
	return nil
}
