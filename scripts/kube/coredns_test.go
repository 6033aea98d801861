package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
)

// TestCoreDNSDirectives checks that every directive berth-kube's coredns
// allows has its plugin compiled in (a missing import would only show when
// kube-cluster.sh's Corefile is refused at start) and that they run in the
// order of CoreDNS's plugin.cfg, which dnsserver.Directives holds until
// runCoreDNS narrows it.
func TestCoreDNSDirectives(t *testing.T) {
	registered := map[string]bool{}
	for _, p := range caddy.ListPlugins()["others"] {
		if name, ok := strings.CutPrefix(p, "dns."); ok {
			registered[name] = true
		}
	}
	last := -1
	for _, d := range corednsDirectives {
		if !registered[d] {
			t.Errorf("directive %q: no plugin registered; import github.com/coredns/coredns/plugin/%s", d, d)
		}
		i := slices.Index(dnsserver.Directives, d)
		switch {
		case i < 0:
			t.Errorf("directive %q is not in CoreDNS's plugin.cfg", d)
		case i <= last:
			t.Errorf("directive %q comes before %q in plugin.cfg; corednsDirectives must keep its order", d, dnsserver.Directives[last])
		default:
			last = i
		}
	}
}
