package netbridge

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

func TestNatRules(t *testing.T) {
	table := &nftables.Table{Name: nftTable, Family: nftables.TableFamilyIPv4}
	post := &nftables.Chain{Name: nftPostrouting, Table: table}
	fwd := &nftables.Chain{Name: nftForward, Table: table}
	subnet := netip.MustParsePrefix("10.89.3.0/24")

	rules := natRules(table, post, fwd, "demo_default", "br-x", subnet, false)
	if len(rules) != 2 || rules[0].Chain != post || rules[1].Chain != post {
		t.Fatalf("non-internal network: %d rules, want two masquerade rules in postrouting (egress, published ports)", len(rules))
	}
	var hasMasq, hasSaddr, hasOifNeq bool
	for _, e := range rules[0].Exprs {
		switch e := e.(type) {
		case *expr.Masq:
			hasMasq = true
		case *expr.Cmp:
			if bytes.Equal(e.Data, []byte{10, 89, 3, 0}) && e.Op == expr.CmpOpEq {
				hasSaddr = true
			}
			if bytes.Equal(e.Data, ifname("br-x")) && e.Op == expr.CmpOpNeq {
				hasOifNeq = true
			}
		case *expr.Bitwise:
			if !bytes.Equal(e.Mask, []byte{255, 255, 255, 0}) {
				t.Errorf("source mask = %v, want /24", e.Mask)
			}
		}
	}
	if !hasMasq || !hasSaddr || !hasOifNeq {
		t.Errorf("masquerade rule: masq %v, saddr %v, oifname != bridge %v", hasMasq, hasSaddr, hasOifNeq)
	}

	internal := natRules(table, post, fwd, "demo_back", "br-y", subnet, true)
	if len(internal) != 2 {
		t.Fatalf("internal network: %d rules, want two forward drops", len(internal))
	}
	for _, r := range internal {
		last := r.Exprs[len(r.Exprs)-1].(*expr.Verdict)
		if r.Chain != fwd || last.Kind != expr.VerdictDrop || !bytes.Equal(r.UserData, ruleTag("demo_back")) {
			t.Errorf("internal rule in %s ends in %v, tag %q", r.Chain.Name, last.Kind, r.UserData)
		}
	}
}

func TestMatchSaddrMasks(t *testing.T) {
	for _, tt := range []struct {
		prefix string
		mask   []byte
	}{
		{"10.0.0.0/8", []byte{255, 0, 0, 0}},
		{"172.30.0.0/16", []byte{255, 255, 0, 0}},
		{"192.168.1.64/26", []byte{255, 255, 255, 192}},
	} {
		got := matchSaddr(netip.MustParsePrefix(tt.prefix))[1].(*expr.Bitwise).Mask
		if !bytes.Equal(got, tt.mask) {
			t.Errorf("matchSaddr(%s) mask = %v, want %v", tt.prefix, got, tt.mask)
		}
	}
}

func TestInterfaceNames(t *testing.T) {
	long := "a-very-long-project-name_with-a-very-long-network-name"
	names := []string{BridgeName(long)}
	host, peer := vethNames(long, long+"-container-1")
	names = append(names, host, peer)
	for _, n := range names {
		if len(n) > 15 {
			t.Errorf("interface name %q is longer than the kernel's 15 bytes", n)
		}
	}
	if BridgeName("a") == BridgeName("b") {
		t.Errorf("two networks got the same bridge name")
	}
}
