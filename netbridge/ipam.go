package netbridge

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"golang.org/x/sys/unix"

	"github.com/berth/berth/compose"
)

// DefaultPool is where project subnets come from when a network names none:
// 10.89.0.0/16, one /24 per network.
var DefaultPool = netip.MustParsePrefix("10.89.0.0/16")

// Subnet is a network's address range and its gateway (the bridge's address).
type Subnet struct {
	Prefix  netip.Prefix `json:"prefix"`
	Gateway netip.Addr   `json:"gateway"`
}

// IPAM hands out subnets to networks and addresses to containers. Its state
// lives in one JSON file, so that it survives berth restarts. Changes are
// made under an exclusive lock on a file beside it, so that concurrent
// berth processes agree, and the file is only ever replaced by rename, so
// that reading it needs no lock.
type IPAM struct {
	// path is the state file.
	path string
	// pool is where automatic subnets come from, in /bits blocks.
	pool netip.Prefix
	bits int
	// hostRoutes returns the prefixes routed on the host; automatic subnets
	// avoid them. Injected for tests.
	hostRoutes func() ([]netip.Prefix, error)
}

// NewIPAM returns an IPAM keeping its state in path, allocating /bits
// subnets from pool, avoiding the prefixes hostRoutes returns.
func NewIPAM(path string, pool netip.Prefix, bits int, hostRoutes func() ([]netip.Prefix, error)) *IPAM {
	return &IPAM{path: path, pool: pool.Masked(), bits: bits, hostRoutes: hostRoutes}
}

// ipamState is the state file's content.
type ipamState struct {
	// Networks maps a network's real name to its allocation.
	Networks map[string]*networkState `json:"networks"`
	// Ports are the published ports of every berth container.
	Ports []PortBinding `json:"ports,omitempty"`
}

type networkState struct {
	// Project is the project that made the network.
	Project string `json:"project"`
	// Internal networks get no upstream DNS forwarding.
	Internal bool   `json:"internal,omitempty"`
	Subnet   Subnet `json:"subnet"`
	// Addresses maps a container (endpoint) name to its address.
	Addresses map[string]netip.Addr `json:"addresses"`
	// Names maps a container to the names it answers to on the network
	// (service, container name, aliases, hostname), for the DNS server.
	Names map[string][]string `json:"names,omitempty"`
}

// NetworkInfo is a network of a project as IPAM records it.
type NetworkInfo struct {
	Name string
	// Containers are those with an address on it, sorted.
	Containers []string
}

// ProjectNetworkInfo returns the networks a project made, sorted by name.
func (m *IPAM) ProjectNetworkInfo(project string) ([]NetworkInfo, error) {
	st, err := m.read()
	if err != nil {
		return nil, err
	}
	var out []NetworkInfo
	for name, n := range st.Networks {
		if n.Project != project {
			continue
		}
		info := NetworkInfo{Name: name}
		for c := range n.Addresses {
			info.Containers = append(info.Containers, c)
		}
		sort.Strings(info.Containers)
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// AllocateSubnet returns the network's subnet, allocating one for project
// (recording whether it is internal) if it has none, and whether it did:
// want when given (CheckSubnet must accept it), else the first free block
// of the pool that overlaps neither another network nor a host route.
// Asking again for an allocated network returns the same subnet.
func (m *IPAM) AllocateSubnet(network, project string, internal bool, want *Subnet) (Subnet, bool, error) {
	var out Subnet
	created := false
	err := m.update(func(st *ipamState) error {
		if want != nil {
			if err := m.checkSubnet(st, network, want.Prefix); err != nil {
				return err
			}
		}
		if n, ok := st.Networks[network]; ok {
			out = n.Subnet
			if n.Internal == internal {
				return errUnchanged
			}
			n.Internal = internal
			return nil
		}
		if want != nil {
			out = *want
			if !out.Gateway.IsValid() {
				out.Gateway = out.Prefix.Masked().Addr().Next()
			}
		} else {
			routes, err := m.hostRoutes()
			if err != nil {
				return fmt.Errorf("network %s: read host routes: %w", network, err)
			}
			p, ok := m.freeBlock(st, routes)
			if !ok {
				return fmt.Errorf("network %s: no free /%d left in %s (every block is used by a network or a host route, or reserved): give the network an ipam subnet", network, m.bits, m.pool)
			}
			out = Subnet{Prefix: p, Gateway: p.Addr().Next()}
		}
		st.Networks[network] = &networkState{Project: project, Internal: internal, Subnet: out, Addresses: map[string]netip.Addr{}}
		created = true
		return nil
	})
	return out, created, err
}

// reservedRanges are the IPv4 ranges no network may use: on a bridge they
// would shadow the host's own (its loopback services, link-local metadata
// services), or they cannot be a subnet at all; and the DNS server would
// listen on the gateway address, such as the host's 127.0.0.1:53.
var reservedRanges = []struct {
	prefix netip.Prefix
	what   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "the unspecified range"},
	{netip.MustParsePrefix("127.0.0.0/8"), "the host's loopback range"},
	{netip.MustParsePrefix("169.254.0.0/16"), "the link-local range"},
	{netip.MustParsePrefix("224.0.0.0/4"), "the multicast range"},
}

// reserved returns the reserved range p overlaps, and what it is.
func reserved(p netip.Prefix) (netip.Prefix, string, bool) {
	for _, r := range reservedRanges {
		if r.prefix.Overlaps(p) {
			return r.prefix, r.what, true
		}
	}
	return netip.Prefix{}, "", false
}

// SubnetError says why a requested subnet cannot be a network's.
type SubnetError struct {
	Network string
	Subnet  netip.Prefix
	// Problem and Remedy complete "subnet S ...: ...".
	Problem, Remedy string
}

func (e *SubnetError) Error() string {
	return fmt.Sprintf("network %s: subnet %s %s: %s", e.Network, e.Subnet, e.Problem, e.Remedy)
}

// CheckSubnet reports why want cannot be network's subnet (a
// *SubnetError), without allocating anything: it overlaps a reserved
// range, another network's subnet or a route of the host (other than
// those of berth's own bridges), or the network already has another one.
func (m *IPAM) CheckSubnet(network string, want netip.Prefix) error {
	st, err := m.read()
	if err != nil {
		return err
	}
	return m.checkSubnet(st, network, want)
}

// CheckProjectSubnets checks, before anything is made, the requested
// subnets of the project's networks named by keys (CheckSubnet), naming the
// compose file's key of a refused one.
func (m *IPAM) CheckProjectSubnets(p *compose.Project, keys []string) error {
	for _, key := range keys {
		n, ok := p.Networks[key]
		if !ok || n.External || !n.Subnet.IsValid() {
			continue
		}
		err := m.CheckSubnet(n.Name, n.Subnet)
		var se *SubnetError
		if errors.As(err, &se) {
			where := "networks." + key + ".ipam.config"
			if len(p.ConfigFiles) == 1 {
				where += " in " + filepath.Base(p.ConfigFiles[0])
			}
			return fmt.Errorf("network %q: ipam subnet %s (%s) %s: %s", key, se.Subnet, where, se.Problem, se.Remedy)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (m *IPAM) checkSubnet(st *ipamState, network string, want netip.Prefix) error {
	fail := func(problem, remedy string) error {
		return &SubnetError{Network: network, Subnet: want, Problem: problem, Remedy: remedy}
	}
	const private = "choose a private range such as 172.16.0.0/12, 192.168.0.0/16 or 10.0.0.0/8"
	if !want.Addr().Is4() {
		return fail("is not an IPv4 range", private)
	}
	if r, what, ok := reserved(want); ok {
		return fail(fmt.Sprintf("is in %s %s", what, r), private)
	}
	if n, ok := st.Networks[network]; ok {
		if n.Subnet.Prefix != want {
			return fail(fmt.Sprintf("is asked for, but the network already has subnet %s", n.Subnet.Prefix), "remove it (berth down) to change its subnet")
		}
		return nil
	}
	if other := st.overlapping(want); other != "" {
		return fail(fmt.Sprintf("overlaps network %s's %s", other, st.Networks[other].Subnet.Prefix), "choose another range, or remove that network")
	}
	routes, err := m.hostRoutes()
	if err != nil {
		return fmt.Errorf("network %s: read host routes: %w", network, err)
	}
	for _, r := range routes {
		// Routes inside a network's subnet are its bridge's: that
		// overlap was named above.
		if r.Bits() == 0 || !r.Overlaps(want) || st.within(r) {
			continue
		}
		return fail(fmt.Sprintf("overlaps the host's route to %s", r), "choose a range the host does not use")
	}
	return nil
}

// freeBlock is the first /bits block of the pool that overlaps no allocated
// subnet and no host route.
func (m *IPAM) freeBlock(st *ipamState, routes []netip.Prefix) (netip.Prefix, bool) {
	if m.bits < m.pool.Bits() || m.bits > 30 {
		return netip.Prefix{}, false
	}
	block := netip.PrefixFrom(m.pool.Addr(), m.bits)
	for m.pool.Contains(block.Addr()) {
		if _, _, bad := reserved(block); !bad && st.overlapping(block) == "" && !overlapsAny(block, routes) {
			return block, true
		}
		next, ok := nextBlock(block)
		if !ok {
			break
		}
		block = next
	}
	return netip.Prefix{}, false
}

// ReleaseSubnet forgets a network and its addresses. An unknown network is
// not an error.
func (m *IPAM) ReleaseSubnet(network string) error {
	return m.update(func(st *ipamState) error {
		delete(st.Networks, network)
		return nil
	})
}

// AllocateAddress returns the address of a container on a network: want
// when valid (it must be in the subnet and free), else the lowest free
// address after the gateway; it records the names the container answers to
// there (for DNS) and returns the network's subnet. Asking again returns
// the same address.
func (m *IPAM) AllocateAddress(network, container string, want netip.Addr, names []string) (netip.Addr, Subnet, error) {
	var out netip.Addr
	var subnet Subnet
	err := m.update(func(st *ipamState) error {
		n, ok := st.Networks[network]
		if !ok {
			return fmt.Errorf("container %s: network %s does not exist", container, network)
		}
		subnet = n.Subnet
		if n.Names == nil {
			n.Names = map[string][]string{}
		}
		if a, ok := n.Addresses[container]; ok && (!want.IsValid() || want == a) {
			out = a
			n.Names[container] = append([]string{}, names...)
			return nil
		}
		used := map[netip.Addr]string{n.Subnet.Gateway: "the gateway"}
		for c, a := range n.Addresses {
			if c != container {
				used[a] = c
			}
		}
		if want.IsValid() {
			if !n.Subnet.Prefix.Contains(want) {
				return fmt.Errorf("%s: address %s is not in network %s's subnet %s", container, want, network, n.Subnet.Prefix)
			}
			if holder, taken := used[want]; taken {
				return fmt.Errorf("%s: address %s on network %s is taken by %s", container, want, network, holder)
			}
			out = want
		} else {
			broadcast := lastAddr(n.Subnet.Prefix)
			for a := n.Subnet.Prefix.Masked().Addr().Next(); n.Subnet.Prefix.Contains(a) && a != broadcast; a = a.Next() {
				if _, taken := used[a]; !taken {
					out = a
					break
				}
			}
			if !out.IsValid() {
				return fmt.Errorf("network %s: no free address left in %s", network, n.Subnet.Prefix)
			}
		}
		n.Addresses[container] = out
		n.Names[container] = append([]string{}, names...)
		return nil
	})
	return out, subnet, err
}

// ReleaseAddress frees a container's address on a network. Unknown
// networks and containers are not errors, and change nothing.
func (m *IPAM) ReleaseAddress(network, container string) error {
	return m.update(func(st *ipamState) error {
		if !st.releaseAddress(network, container) {
			return errUnchanged
		}
		return nil
	})
}

// releaseAddress forgets a container's address and names on a network,
// and reports whether it had any.
func (st *ipamState) releaseAddress(network, container string) bool {
	n, ok := st.Networks[network]
	if !ok {
		return false
	}
	_, addr := n.Addresses[container]
	_, names := n.Names[container]
	delete(n.Addresses, container)
	delete(n.Names, container)
	return addr || names
}

// Holdings are what a container holds in the IPAM state.
type Holdings struct {
	// Networks are those it has an address on, sorted.
	Networks []string
	// Ports tells whether it has published host ports (held or released).
	Ports bool
}

// ContainerHoldings returns what a container holds, from one read of the
// state.
func (m *IPAM) ContainerHoldings(container string) (Holdings, error) {
	st, err := m.read()
	if err != nil {
		return Holdings{}, err
	}
	var h Holdings
	for name, n := range st.Networks {
		if _, ok := n.Addresses[container]; ok {
			h.Networks = append(h.Networks, name)
		}
	}
	sort.Strings(h.Networks)
	h.Ports = slices.ContainsFunc(st.Ports, func(b PortBinding) bool { return b.Container == container })
	return h, nil
}

// ReleaseContainer frees, in one change of the state, a container's host
// ports (forgetting that they were released, see ReleasePorts) and its
// addresses on networks. A container that held none of them changes
// nothing, and nothing is written: every write wakes the project's DNS
// daemon, which reloads the state.
func (m *IPAM) ReleaseContainer(container string, networks []string) error {
	return m.update(func(st *ipamState) error {
		changed, err := m.releasePorts(st, container)
		if err != nil {
			return err
		}
		for _, network := range networks {
			changed = st.releaseAddress(network, container) || changed
		}
		if !changed {
			return errUnchanged
		}
		return nil
	})
}

// NetworkView is a network's state as the DNS server reads it.
type NetworkView struct {
	Project   string
	Internal  bool
	Subnet    Subnet
	Addresses map[string]netip.Addr
	Names     map[string][]string
}

// Networks returns every network's state.
func (m *IPAM) Networks() (map[string]NetworkView, error) {
	st, err := m.read()
	if err != nil {
		return nil, err
	}
	out := map[string]NetworkView{}
	for name, n := range st.Networks {
		out[name] = NetworkView{Project: n.Project, Internal: n.Internal, Subnet: n.Subnet, Addresses: n.Addresses, Names: n.Names}
	}
	return out, nil
}

// Subnets returns every allocated subnet by network name.
func (m *IPAM) Subnets() (map[string]Subnet, error) {
	st, err := m.read()
	if err != nil {
		return nil, err
	}
	out := map[string]Subnet{}
	for name, n := range st.Networks {
		out[name] = n.Subnet
	}
	return out, nil
}

// ProjectNetworks returns the networks a project made, sorted.
func (m *IPAM) ProjectNetworks(project string) ([]string, error) {
	st, err := m.read()
	if err != nil {
		return nil, err
	}
	var out []string
	for name, n := range st.Networks {
		if n.Project == project {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// ContainerNetworks returns the networks a container has an address on, sorted.
func (m *IPAM) ContainerNetworks(container string) ([]string, error) {
	st, err := m.read()
	if err != nil {
		return nil, err
	}
	var out []string
	for name, n := range st.Networks {
		if _, ok := n.Addresses[container]; ok {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// errUnchanged makes update skip writing the state back.
var errUnchanged = errors.New("unchanged")

// update runs fn on the state under the exclusive lock and writes the
// state back (atomically, by rename) unless fn fails.
func (m *IPAM) update(fn func(*ipamState) error) error {
	if err := os.MkdirAll(filepath.Dir(m.path), 0o755); err != nil {
		return fmt.Errorf("ipam: %w", err)
	}
	lock, err := os.OpenFile(m.path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("ipam: %w", err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("ipam: lock %s: %w", m.path, err)
	}
	st, err := m.read()
	if err != nil {
		return err
	}
	if err := fn(st); err != nil {
		if errors.Is(err, errUnchanged) {
			return nil
		}
		return err
	}
	out, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("ipam: %w", err)
	}
	tmp := m.path + ".tmp"
	if err := os.WriteFile(tmp, out, 0o644); err != nil {
		return fmt.Errorf("ipam: %w", err)
	}
	if err := os.Rename(tmp, m.path); err != nil {
		return fmt.Errorf("ipam: %w", err)
	}
	return nil
}

// read returns the state as last written; a missing file is an empty
// state. It takes no lock: update replaces the file by rename, so a read
// sees a whole state, before or after a change. Readers neither open the
// lock file nor write anything, which keeps the DNS daemon, which reloads
// on every change of the directory, from waking itself up.
func (m *IPAM) read() (*ipamState, error) {
	st := &ipamState{Networks: map[string]*networkState{}}
	b, err := os.ReadFile(m.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return st, nil
	case err != nil:
		return nil, fmt.Errorf("ipam: %w", err)
	}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("ipam: %s is damaged (%v): remove it once no berth project is up", m.path, err)
	}
	if st.Networks == nil {
		st.Networks = map[string]*networkState{}
	}
	for _, n := range st.Networks {
		if n.Addresses == nil {
			n.Addresses = map[string]netip.Addr{}
		}
	}
	return st, nil
}

// overlapping returns the name of an allocated network whose subnet
// overlaps p, or "" (the first in name order, for stable messages).
func (st *ipamState) overlapping(p netip.Prefix) string {
	names := make([]string, 0, len(st.Networks))
	for name := range st.Networks {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if st.Networks[name].Subnet.Prefix.Overlaps(p) {
			return name
		}
	}
	return ""
}

// within reports whether p lies inside an allocated network's subnet.
func (st *ipamState) within(p netip.Prefix) bool {
	for _, n := range st.Networks {
		if n.Subnet.Prefix.Bits() <= p.Bits() && n.Subnet.Prefix.Contains(p.Addr()) {
			return true
		}
	}
	return false
}

func overlapsAny(p netip.Prefix, list []netip.Prefix) bool {
	for _, q := range list {
		// A default route (0.0.0.0/0) overlaps everything and means nothing here.
		if q.Bits() > 0 && q.Overlaps(p) {
			return true
		}
	}
	return false
}

// nextBlock is the block of the same size right after p.
func nextBlock(p netip.Prefix) (netip.Prefix, bool) {
	last := lastAddr(p)
	next := last.Next()
	if !next.IsValid() {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(next, p.Bits()), true
}

// lastAddr is the highest address of p (its broadcast address for IPv4).
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	hostBits := 32 - p.Bits()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v |= (1 << hostBits) - 1
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
