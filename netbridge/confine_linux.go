package netbridge

import (
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// loopbackNet is the host's loopback range, which nothing from a bridge may
// reach.
var loopbackNet = netip.MustParsePrefix("127.0.0.0/8")

// confineRules keep a network's containers to what Docker promises:
//
//   - Nothing arriving on the bridge reaches 127.0.0.0/8. The bridge has
//     route_localnet=1, so that the host's own connections to a
//     127.0.0.1 publish can be translated into it; without this drop a
//     container (CAP_NET_RAW is in Docker's default set) could send a
//     crafted packet to 127.0.0.1 through its gateway and reach the
//     host's loopback services and every 127.0.0.1 publish. It runs in
//     the raw prerouting hook, before conntrack and NAT, as Docker's own
//     fix of CVE-2020-8558 does.
//   - Nothing forwarded into the bridge from another interface (another
//     project's or network's bridge, or a host on the LAN) starts a
//     connection, unless a published port's DNAT sent it there. Replies
//     of the containers' own connections (established, related) pass.
//     This is Docker's isolation between bridges (its "unpublished port
//     drop"), one rule per bridge: added and removed with the network, so
//     that no pair of bridges needs a rule of its own.
func confineRules(table *nftables.Table, raw, fwd *nftables.Chain, network, bridge string) []*nftables.Rule {
	tag := ruleTag(network)
	drop := &expr.Verdict{Kind: expr.VerdictDrop}
	return []*nftables.Rule{
		{Table: table, Chain: raw, UserData: tag, Exprs: concat(
			matchIfname(expr.MetaKeyIIFNAME, expr.CmpOpEq, bridge),
			matchDaddr(loopbackNet),
			[]expr.Any{drop})},
		{Table: table, Chain: fwd, UserData: tag, Exprs: concat(
			matchIfname(expr.MetaKeyOIFNAME, expr.CmpOpEq, bridge),
			matchIfname(expr.MetaKeyIIFNAME, expr.CmpOpNeq, bridge),
			matchCtBits(expr.CtKeySTATE, expr.CtStateBitESTABLISHED|expr.CtStateBitRELATED, expr.CmpOpEq),
			matchCtBits(expr.CtKeySTATUS, ipsDstNAT, expr.CmpOpEq),
			[]expr.Any{drop})},
	}
}

func concat(parts ...[]expr.Any) []expr.Any {
	var out []expr.Any
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
