package netbridge

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// berth's nftables objects: one table of its own, so that its rules never
// mix with the host's or another tool's, and flushing it removes them all.
const (
	nftTable       = "berth"
	nftPostrouting = "postrouting"
	nftForward     = "forward"
)

// ruleTag marks the rules of one network, so that they can be found and
// removed with it.
func ruleTag(network string) []byte { return []byte("berth-network:" + network) }

// natRules are a network's rules: masquerade of what leaves the subnet by
// another interface than its bridge, and for an internal network, drops of
// everything forwarded into or out of the bridge.
func natRules(table *nftables.Table, post, fwd *nftables.Chain, network, bridge string, subnet netip.Prefix, internal bool) []*nftables.Rule {
	tag := ruleTag(network)
	var rules []*nftables.Rule
	if !internal {
		rules = append(rules, &nftables.Rule{Table: table, Chain: post, UserData: tag, Exprs: append(append(
			matchSaddr(subnet), matchIfname(expr.MetaKeyOIFNAME, expr.CmpOpNeq, bridge)...), &expr.Masq{})})
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

// matchSaddr matches an IPv4 source address in prefix.
func matchSaddr(prefix netip.Prefix) []expr.Any {
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
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
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

// nft is berth's table and chains on one nftables connection.
type nft struct {
	conn      *nftables.Conn
	table     *nftables.Table
	post, fwd *nftables.Chain
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
	if err := conn.Flush(); err != nil {
		return nil, fmt.Errorf("nftables: create table %s: %w", nftTable, err)
	}
	return n, nil
}

// setNetworkRules replaces a network's rules with the given ones.
func (n *nft) setNetworkRules(network string, rules []*nftables.Rule) error {
	if err := n.deleteNetworkRules(network); err != nil {
		return err
	}
	for _, r := range rules {
		n.conn.AddRule(r)
	}
	if err := n.conn.Flush(); err != nil {
		return fmt.Errorf("nftables: rules of network %s: %w", network, err)
	}
	return nil
}

// deleteNetworkRules removes a network's rules, if any.
func (n *nft) deleteNetworkRules(network string) error {
	tag := ruleTag(network)
	for _, c := range []*nftables.Chain{n.post, n.fwd} {
		rules, err := n.conn.GetRules(n.table, c)
		if err != nil {
			return fmt.Errorf("nftables: list %s rules: %w", c.Name, err)
		}
		for _, r := range rules {
			if bytes.Equal(r.UserData, tag) {
				if err := n.conn.DelRule(r); err != nil {
					return fmt.Errorf("nftables: delete a rule of network %s: %w", network, err)
				}
			}
		}
	}
	if err := n.conn.Flush(); err != nil {
		return fmt.Errorf("nftables: delete rules of network %s: %w", network, err)
	}
	return nil
}

// dropTableIfEmpty removes berth's table when no network has rules left, so
// that a host with no berth project has nothing of berth in its ruleset.
func (n *nft) dropTableIfEmpty() error {
	for _, c := range []*nftables.Chain{n.post, n.fwd} {
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
