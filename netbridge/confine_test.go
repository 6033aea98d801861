package netbridge

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// describe renders a rule as nft-like text, for the expressions berth uses.
func describe(r *nftables.Rule) string {
	var out []string
	var pending string // what the last load put in register 1
	var mask []byte
	ops := map[expr.CmpOp]string{expr.CmpOpEq: "==", expr.CmpOpNeq: "!="}
	for _, e := range r.Exprs {
		switch e := e.(type) {
		case *expr.Meta:
			pending = map[expr.MetaKey]string{expr.MetaKeyIIFNAME: "iifname", expr.MetaKeyOIFNAME: "oifname", expr.MetaKeyL4PROTO: "l4proto"}[e.Key]
			mask = nil
		case *expr.Payload:
			pending = map[uint32]string{12: "saddr", 16: "daddr"}[e.Offset]
			mask = nil
		case *expr.Ct:
			pending = map[expr.CtKey]string{expr.CtKeySTATE: "ct state", expr.CtKeySTATUS: "ct status"}[e.Key]
			mask = nil
		case *expr.Bitwise:
			mask = e.Mask
		case *expr.Cmp:
			var v string
			switch {
			case pending == "iifname" || pending == "oifname":
				v = string(bytes.TrimRight(e.Data, "\x00"))
			case pending == "saddr" || pending == "daddr":
				a, _ := netip.AddrFromSlice(e.Data)
				ones := 0
				for _, b := range mask {
					for ; b&0x80 != 0; b <<= 1 {
						ones++
					}
				}
				v = netip.PrefixFrom(a, ones).String()
			case mask != nil:
				v = fmt.Sprintf("0x%x", binary.NativeEndian.Uint32(e.Data))
				pending = fmt.Sprintf("%s & 0x%x", pending, binary.NativeEndian.Uint32(mask))
			default:
				v = fmt.Sprintf("%v", e.Data)
			}
			out = append(out, pending+" "+ops[e.Op]+" "+v)
		case *expr.Verdict:
			out = append(out, map[expr.VerdictKind]string{expr.VerdictDrop: "drop", expr.VerdictAccept: "accept"}[e.Kind])
		case *expr.Masq:
			out = append(out, "masquerade")
		default:
			out = append(out, fmt.Sprintf("%T", e))
		}
	}
	return r.Chain.Name + ": " + strings.Join(out, ", ")
}

func TestConfineRules(t *testing.T) {
	table := &nftables.Table{Name: nftTable, Family: nftables.TableFamilyIPv4}
	raw := &nftables.Chain{Name: nftRaw, Table: table}
	fwd := &nftables.Chain{Name: nftForward, Table: table}
	rules := confineRules(table, raw, fwd, "demo_default", "br-x")
	var got []string
	for _, r := range rules {
		if !bytes.Equal(r.UserData, ruleTag("demo_default")) {
			t.Errorf("rule %s has tag %q, want the network's", describe(r), r.UserData)
		}
		got = append(got, describe(r))
	}
	want := []string{
		// Nothing from the bridge reaches the host's loopback (route_localnet).
		"raw-prerouting: iifname == br-x, daddr == 127.0.0.0/8, drop",
		// No new connection enters the bridge from elsewhere but published ports.
		"forward: oifname == br-x, iifname != br-x, ct state & 0x6 == 0x0, ct status & 0x20 == 0x0, drop",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("confineRules =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
