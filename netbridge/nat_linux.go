package netbridge

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// berth's nftables objects: one table of its own, so that its rules never
// mix with the host's or another tool's, and flushing it removes them all.
const (
	nftTable       = "berth"
	nftPostrouting = "postrouting"
	nftForward     = "forward"
	nftPrerouting  = "prerouting"
	nftOutput      = "output"
	// nftRaw filters at prerouting before conntrack and NAT (priority raw).
	nftRaw = "raw-prerouting"
)

// ruleTag marks the rules of one network, so that they can be found and
// removed with it.
func ruleTag(network string) []byte { return []byte("berth-network:" + network) }

// portTag marks the published-port rules of one container.
func portTag(container string) []byte { return []byte("berth-port:" + container) }

// natRules are a network's rules: masquerade of what leaves the subnet by
// another interface than its bridge, and of what enters the bridge through
// a published port (from the host itself or from another container, so
// that replies come back the same way); for an internal network, drops of
// everything forwarded into or out of the bridge.
func natRules(table *nftables.Table, post, fwd *nftables.Chain, network, bridge string, subnet netip.Prefix, internal bool) []*nftables.Rule {
	tag := ruleTag(network)
	var rules []*nftables.Rule
	if !internal {
		rules = append(rules,
			&nftables.Rule{Table: table, Chain: post, UserData: tag, Exprs: append(append(
				matchSaddr(subnet), matchIfname(expr.MetaKeyOIFNAME, expr.CmpOpNeq, bridge)...), &expr.Masq{})},
			&nftables.Rule{Table: table, Chain: post, UserData: tag, Exprs: append(append(
				matchIfname(expr.MetaKeyOIFNAME, expr.CmpOpEq, bridge), matchDNAT()...), &expr.Masq{})},
		)
		return rules
	}
	drop := &expr.Verdict{Kind: expr.VerdictDrop}
	rules = append(rules,
		&nftables.Rule{Table: table, Chain: fwd, UserData: tag, Exprs: append(append(
			matchIfname(expr.MetaKeyIIFNAME, expr.CmpOpEq, bridge),
			matchIfname(expr.MetaKeyOIFNAME, expr.CmpOpNeq, bridge)...), drop)},
		&nftables.Rule{Table: table, Chain: fwd, UserData: tag, Exprs: append(append(
			matchIfname(expr.MetaKeyOIFNAME, expr.CmpOpEq, bridge),
			matchIfname(expr.MetaKeyIIFNAME, expr.CmpOpNeq, bridge)...), drop)},
	)
	return rules
}

// portRules send a published port to its container: the same DNAT in
// prerouting (traffic from elsewhere, containers included) and output
// (the host's own, to 127.0.0.1 or its addresses), for destinations that
// are local addresses (and the host_ip, when given).
func portRules(table *nftables.Table, pre, out *nftables.Chain, b PortBinding) []*nftables.Rule {
	proto := byte(unix.IPPROTO_TCP)
	if b.Protocol == "udp" {
		proto = unix.IPPROTO_UDP
	}
	var match []expr.Any
	if b.HostIP.IsValid() {
		a := b.HostIP.As4()
		match = append(match,
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: a[:]})
	}
	match = append(match,
		&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)},
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(b.HostPort)},
	)
	to := b.ContainerAddr.As4()
	dnat := []expr.Any{
		&expr.Immediate{Register: 1, Data: to[:]},
		&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(b.ContainerPort)},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
	}
	tag := portTag(b.Container)
	var rules []*nftables.Rule
	for _, c := range []*nftables.Chain{pre, out} {
		exprs := append(append([]expr.Any{}, match...), dnat...)
		rules = append(rules, &nftables.Rule{Table: table, Chain: c, UserData: tag, Exprs: exprs})
	}
	return rules
}

// matchDNAT matches connections whose destination was translated.
func matchDNAT() []expr.Any { return matchCtBits(expr.CtKeySTATUS, ipsDstNAT, expr.CmpOpNeq) }

// matchCtBits matches a conntrack bit field (state or status) having one
// of mask's bits set (CmpOpNeq) or none of them (CmpOpEq).
func matchCtBits(key expr.CtKey, mask uint32, op expr.CmpOp) []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: key},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(mask), Xor: make([]byte, 4)},
		&expr.Cmp{Op: op, Register: 1, Data: make([]byte, 4)},
	}
}

// ipsDstNAT is the kernel's IPS_DST_NAT conntrack status bit.
const ipsDstNAT = 1 << 5

// matchSaddr matches an IPv4 source address in prefix.
func matchSaddr(prefix netip.Prefix) []expr.Any { return matchAddr(12, prefix) }

// matchDaddr matches an IPv4 destination address in prefix.
func matchDaddr(prefix netip.Prefix) []expr.Any { return matchAddr(16, prefix) }

// matchAddr matches the IPv4 header's address at offset (12 source, 16
// destination) in prefix.
func matchAddr(offset uint32, prefix netip.Prefix) []expr.Any {
	bits := prefix.Bits()
	m := make([]byte, 4)
	for i := 0; i < 4; i++ {
		switch {
		case bits >= 8:
			m[i] = 0xff
			bits -= 8
		case bits > 0:
			m[i] = byte(0xff << (8 - bits))
			bits = 0
		}
	}
	addr := prefix.Masked().Addr().As4()
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: m, Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: addr[:]},
	}
}

// matchIfname compares the input or output interface name with name.
func matchIfname(key expr.MetaKey, op expr.CmpOp, name string) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: op, Register: 1, Data: ifname(name)},
	}
}

// ifname is an interface name as the kernel compares it: NUL-padded to IFNAMSIZ.
func ifname(n string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, n)
	return b
}

// nftLockPath serialises changes to berth's table across processes: the
// table is host-wide, and one berth removing it as empty while another
// adds rules to it would fail the other.
const nftLockPath = "/run/lock/berth-nftables.lock"

// lockNFT takes the host-wide lock on berth's table; call the returned
// func to release it.
func lockNFT() (func(), error) {
	if err := os.MkdirAll(filepath.Dir(nftLockPath), 0o755); err != nil {
		return nil, fmt.Errorf("nftables lock: %w", err)
	}
	f, err := os.OpenFile(nftLockPath, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("nftables lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("nftables lock: %w", err)
	}
	return func() { f.Close() }, nil
}

// withNFT runs fn on berth's table under the host-wide lock.
func withNFT(fn func(*nft) error) error {
	unlock, err := lockNFT()
	if err != nil {
		return err
	}
	defer unlock()
	n, err := openNFT()
	if err != nil {
		return err
	}
	return fn(n)
}

// nft is berth's table and chains on one nftables connection.
type nft struct {
	conn                     *nftables.Conn
	table                    *nftables.Table
	post, fwd, pre, out, raw *nftables.Chain
}

// chains are every chain of berth's table, where tagged rules are looked for.
func (n *nft) chains() []*nftables.Chain {
	return []*nftables.Chain{n.post, n.fwd, n.pre, n.out, n.raw}
}

// openNFT connects to nftables and makes sure berth's table and chains exist.
func openNFT() (*nft, error) {
	conn, err := nftables.New()
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	n := &nft{conn: conn}
	n.table = conn.AddTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: nftTable})
	accept := nftables.ChainPolicyAccept
	n.post = conn.AddChain(&nftables.Chain{
		Name: nftPostrouting, Table: n.table, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource,
	})
	n.fwd = conn.AddChain(&nftables.Chain{
		Name: nftForward, Table: n.table, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &accept,
	})
	n.pre = conn.AddChain(&nftables.Chain{
		Name: nftPrerouting, Table: n.table, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest,
	})
	n.out = conn.AddChain(&nftables.Chain{
		Name: nftOutput, Table: n.table, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityNATDest,
	})
	n.raw = conn.AddChain(&nftables.Chain{
		Name: nftRaw, Table: n.table, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityRaw, Policy: &accept,
	})
	if err := conn.Flush(); err != nil {
		return nil, fmt.Errorf("nftables: create table %s: %w", nftTable, err)
	}
	return n, nil
}

// setRules replaces the rules tagged tag with the given ones.
func (n *nft) setRules(tag []byte, rules []*nftables.Rule) error {
	if err := n.deleteRules(tag); err != nil {
		return err
	}
	for _, r := range rules {
		n.conn.AddRule(r)
	}
	if err := n.conn.Flush(); err != nil {
		return fmt.Errorf("nftables: add rules %s: %w", tag, err)
	}
	return nil
}

// setNetworkRules replaces a network's rules with the given ones.
func (n *nft) setNetworkRules(network string, rules []*nftables.Rule) error {
	return n.setRules(ruleTag(network), rules)
}

// deleteNetworkRules removes a network's rules, if any.
func (n *nft) deleteNetworkRules(network string) error { return n.deleteRules(ruleTag(network)) }

// deleteRules removes the rules tagged tag, if any.
func (n *nft) deleteRules(tag []byte) error {
	for _, c := range n.chains() {
		rules, err := n.conn.GetRules(n.table, c)
		if err != nil {
			return fmt.Errorf("nftables: list %s rules: %w", c.Name, err)
		}
		for _, r := range rules {
			if bytes.Equal(r.UserData, tag) {
				if err := n.conn.DelRule(r); err != nil {
					return fmt.Errorf("nftables: delete rule %s: %w", tag, err)
				}
			}
		}
	}
	if err := n.conn.Flush(); err != nil {
		return fmt.Errorf("nftables: delete rules %s: %w", tag, err)
	}
	return nil
}

// dropTableIfEmpty removes berth's table when no network has rules left, so
// that a host with no berth project has nothing of berth in its ruleset.
func (n *nft) dropTableIfEmpty() error {
	for _, c := range n.chains() {
		rules, err := n.conn.GetRules(n.table, c)
		if err != nil {
			return fmt.Errorf("nftables: list %s rules: %w", c.Name, err)
		}
		if len(rules) > 0 {
			return nil
		}
	}
	n.conn.DelTable(n.table)
	if err := n.conn.Flush(); err != nil {
		return fmt.Errorf("nftables: delete table %s: %w", nftTable, err)
	}
	return nil
}
