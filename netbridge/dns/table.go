package dns

import (
	"net/netip"
	"sort"
	"strings"
	"sync"
)

// Entry is one container endpoint on a network: its address and every name
// it answers to there (service name, container name, aliases, hostname).
type Entry struct {
	Addr  netip.Addr
	Names []string
	// Container is the endpoint's container: one on several networks
	// resolves the names of all of them, as in Docker.
	Container string
	// Links are the container's links: an alias it alone resolves, to the
	// name it stands for (links: [db:database]).
	Links map[string]string
}

// Table holds the names of every network a DNS server answers for. A client
// sees only the networks whose subnet holds its source address, so projects
// (and networks) cannot resolve each other's names. Safe for concurrent use.
type Table struct {
	mu       sync.RWMutex // guards networks
	networks map[string]tableNetwork
}

type tableNetwork struct {
	subnet netip.Prefix
	// byName maps a lowercase name to the addresses answering to it.
	byName map[string][]netip.Addr
	// byAddr maps an address to its names, for PTR answers.
	byAddr map[netip.Addr][]string
	// containers map an address to its container, and back.
	containerAt map[netip.Addr]string
	endpoints   map[string]netip.Addr
	// links map an address to its container's links (normalized).
	links map[netip.Addr]map[string]string
}

// NewTable returns an empty table.
func NewTable() *Table { return &Table{networks: map[string]tableNetwork{}} }

// Set replaces what a network answers.
func (t *Table) Set(network string, subnet netip.Prefix, entries []Entry) {
	n := tableNetwork{subnet: subnet, byName: map[string][]netip.Addr{}, byAddr: map[netip.Addr][]string{},
		containerAt: map[netip.Addr]string{}, endpoints: map[string]netip.Addr{}, links: map[netip.Addr]map[string]string{}}
	for _, e := range entries {
		for alias, target := range e.Links {
			if n.links[e.Addr] == nil {
				n.links[e.Addr] = map[string]string{}
			}
			n.links[e.Addr][normalize(alias)] = normalize(target)
		}
		if e.Container != "" {
			n.containerAt[e.Addr], n.endpoints[e.Container] = e.Container, e.Addr
		}
		for _, name := range e.Names {
			name = normalize(name)
			if name == "" || containsAddr(n.byName[name], e.Addr) {
				continue
			}
			n.byName[name] = append(n.byName[name], e.Addr)
			n.byAddr[e.Addr] = append(n.byAddr[e.Addr], name)
		}
	}
	for _, addrs := range n.byName {
		sort.Slice(addrs, func(i, j int) bool { return addrs[i].Less(addrs[j]) })
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.networks[network] = n
}

// Remove forgets a network.
func (t *Table) Remove(network string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.networks, network)
}

// Lookup returns the addresses name has on the networks src is on, sorted:
// first the networks whose subnet holds src; when none has the name, the
// other networks src's container is connected to.
func (t *Table) Lookup(src netip.Addr, name string) []netip.Addr {
	name = normalize(name)
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, n := range t.networks {
		if target, ok := n.links[src][name]; ok && n.subnet.Contains(src) {
			name = target
			break
		}
	}
	var out []netip.Addr
	for _, nets := range t.reach(src) {
		for _, n := range nets {
			for _, a := range n.byName[name] {
				if !containsAddr(out, a) {
					out = append(out, a)
				}
			}
		}
		if len(out) > 0 {
			break
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Less(out[j]) })
	return out
}

// Reverse returns the names addr has on the networks src is on, in the
// same order of preference as Lookup.
func (t *Table) Reverse(src, addr netip.Addr) []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out []string
	for _, nets := range t.reach(src) {
		for _, n := range nets {
			out = append(out, n.byAddr[addr]...)
		}
		if len(out) > 0 {
			break
		}
	}
	sort.Strings(out)
	return out
}

// reach returns the networks a client at src sees: those whose subnet
// holds src, then the other networks its container is on. t.mu is held.
func (t *Table) reach(src netip.Addr) [2][]tableNetwork {
	var own, linked []tableNetwork
	var containers []string
	for _, n := range t.networks {
		if n.subnet.Contains(src) {
			own = append(own, n)
			if c, ok := n.containerAt[src]; ok {
				containers = append(containers, c)
			}
		}
	}
	for _, n := range t.networks {
		if n.subnet.Contains(src) {
			continue
		}
		for _, c := range containers {
			if _, ok := n.endpoints[c]; ok {
				linked = append(linked, n)
				break
			}
		}
	}
	return [2][]tableNetwork{own, linked}
}

// Known reports whether src is on any network of the table: queries from
// elsewhere are refused, so that the server is no open resolver.
func (t *Table) Known(src netip.Addr) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, n := range t.networks {
		if n.subnet.Contains(src) {
			return true
		}
	}
	return false
}

// normalize lowercases a name and drops its trailing dot.
func normalize(name string) string {
	return strings.TrimSuffix(strings.ToLower(name), ".")
}

func containsAddr(list []netip.Addr, a netip.Addr) bool {
	for _, x := range list {
		if x == a {
			return true
		}
	}
	return false
}
