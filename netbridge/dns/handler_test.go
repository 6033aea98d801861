package dns

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// recorder is a dns.ResponseWriter that keeps what is written.
type recorder struct {
	remote net.Addr
	msg    *dns.Msg
}

func (r *recorder) LocalAddr() net.Addr         { return &net.UDPAddr{IP: net.IPv4(10, 89, 0, 1), Port: 53} }
func (r *recorder) RemoteAddr() net.Addr        { return r.remote }
func (r *recorder) WriteMsg(m *dns.Msg) error   { r.msg = m; return nil }
func (r *recorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *recorder) Close() error                { return nil }
func (r *recorder) TsigStatus() error           { return nil }
func (r *recorder) TsigTimersOnly(bool)         {}
func (r *recorder) Hijack()                     {}

type fakeForwarder struct {
	answer string // an A address to answer with, or "" to fail
	asked  []string
}

func (f *fakeForwarder) Forward(_ context.Context, r *dns.Msg) (*dns.Msg, error) {
	f.asked = append(f.asked, r.Question[0].Name)
	if f.answer == "" {
		return nil, errors.New("offline")
	}
	m := new(dns.Msg)
	m.SetReply(r)
	rr, _ := dns.NewRR(r.Question[0].Name + " 60 IN A " + f.answer)
	m.Answer = append(m.Answer, rr)
	return m, nil
}

func testTable() *Table {
	t := NewTable()
	t.Set("demo_default", netip.MustParsePrefix("10.89.0.0/24"), []Entry{
		{Addr: netip.MustParseAddr("10.89.0.2"), Names: []string{"web", "demo-web-1", "www"}},
		{Addr: netip.MustParseAddr("10.89.0.3"), Names: []string{"web", "demo-web-2"}},
		{Addr: netip.MustParseAddr("10.89.0.4"), Names: []string{"client", "demo-client-1"}, Container: "demo-client-1"},
	})
	// client is on a second network of its project, with store.
	t.Set("demo_back", netip.MustParsePrefix("10.89.2.0/24"), []Entry{
		{Addr: netip.MustParseAddr("10.89.2.4"), Names: []string{"client", "demo-client-1"}, Container: "demo-client-1"},
		{Addr: netip.MustParseAddr("10.89.2.5"), Names: []string{"store", "demo-store-1"}, Container: "demo-store-1"},
	})
	t.Set("other_default", netip.MustParsePrefix("10.89.1.0/24"), []Entry{
		{Addr: netip.MustParseAddr("10.89.1.2"), Names: []string{"db", "other-db-1"}},
	})
	return t
}

func ask(h *Handler, from, name string, qtype uint16) *dns.Msg {
	r := new(dns.Msg)
	r.SetQuestion(dns.Fqdn(name), qtype)
	w := &recorder{remote: &net.UDPAddr{IP: net.ParseIP(from), Port: 40000}}
	h.ServeDNS(w, r)
	return w.msg
}

func answers(m *dns.Msg) string {
	var out []string
	for _, rr := range m.Answer {
		switch rr := rr.(type) {
		case *dns.A:
			out = append(out, rr.A.String())
		case *dns.PTR:
			out = append(out, rr.Ptr)
		}
	}
	return strings.Join(out, ",")
}

func TestHandler(t *testing.T) {
	fwd := &fakeForwarder{answer: "192.0.2.10"}
	h := &Handler{Records: testTable(), Forward: fwd, TTL: 0}
	const client = "10.89.0.4"
	tests := []struct {
		name, from, q string
		qtype         uint16
		rcode         int
		want          string
		authoritative bool
	}{
		{"service, both replicas", client, "web", dns.TypeA, dns.RcodeSuccess, "10.89.0.2,10.89.0.3", true},
		{"container name", client, "demo-web-2", dns.TypeA, dns.RcodeSuccess, "10.89.0.3", true},
		{"alias, any case", client, "WWW", dns.TypeA, dns.RcodeSuccess, "10.89.0.2", true},
		{"AAAA of a known name: empty, not NXDOMAIN", client, "web", dns.TypeAAAA, dns.RcodeSuccess, "", true},
		{"PTR", client, "3.0.89.10.in-addr.arpa", dns.TypePTR, dns.RcodeSuccess, "demo-web-2.,web.", true},
		{"other network's name is forwarded", client, "db", dns.TypeA, dns.RcodeSuccess, "192.0.2.10", false},
		{"name on another network of the client's", client, "store", dns.TypeA, dns.RcodeSuccess, "10.89.2.5", true},
		{"PTR on another network of the client's", client, "5.2.89.10.in-addr.arpa", dns.TypePTR, dns.RcodeSuccess, "demo-store-1.,store.", true},
		{"a name on the client's own subnet wins", "10.89.2.4", "client", dns.TypeA, dns.RcodeSuccess, "10.89.2.4", true},
		{"not for a container off that network", "10.89.0.2", "store", dns.TypeA, dns.RcodeSuccess, "192.0.2.10", false},
		{"outside name is forwarded", client, "deb.debian.org", dns.TypeA, dns.RcodeSuccess, "192.0.2.10", false},
		{"other network sees its own", "10.89.1.2", "db", dns.TypeA, dns.RcodeSuccess, "10.89.1.2", true},
		{"stranger is refused", "192.0.2.99", "web", dns.TypeA, dns.RcodeRefused, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := ask(h, tt.from, tt.q, tt.qtype)
			if m.Rcode != tt.rcode || answers(m) != tt.want || m.Authoritative != tt.authoritative {
				t.Errorf("ask(%s from %s) = rcode %s, answers %q, authoritative %v; want %s, %q, %v",
					tt.q, tt.from, dns.RcodeToString[m.Rcode], answers(m), m.Authoritative, dns.RcodeToString[tt.rcode], tt.want, tt.authoritative)
			}
		})
	}
	if !slices.Contains(fwd.asked, "db.") {
		t.Errorf("the other network's name was not forwarded: %v", fwd.asked)
	}
}

func TestHandlerNoUpstream(t *testing.T) {
	offline := &Handler{Records: testTable(), Forward: &fakeForwarder{}}
	if m := ask(offline, "10.89.0.4", "deb.debian.org", dns.TypeA); m.Rcode != dns.RcodeServerFailure {
		t.Errorf("unreachable upstream: rcode %s, want SERVFAIL", dns.RcodeToString[m.Rcode])
	}
	internal := &Handler{Records: testTable()}
	if m := ask(internal, "10.89.0.4", "deb.debian.org", dns.TypeA); m.Rcode != dns.RcodeNameError {
		t.Errorf("internal network: rcode %s, want NXDOMAIN", dns.RcodeToString[m.Rcode])
	}
}

func TestHandlerShuffle(t *testing.T) {
	h := &Handler{Records: testTable(), Shuffle: slices.Reverse[[]netip.Addr]}
	if got := answers(ask(h, "10.89.0.4", "web", dns.TypeA)); got != "10.89.0.3,10.89.0.2" {
		t.Errorf("shuffled answers = %s, want the shuffle's order", got)
	}
}

func TestTableUpdates(t *testing.T) {
	tb := testTable()
	src := netip.MustParseAddr("10.89.0.4")
	tb.Set("demo_default", netip.MustParsePrefix("10.89.0.0/24"), []Entry{{Addr: netip.MustParseAddr("10.89.0.9"), Names: []string{"web"}}})
	if got := tb.Lookup(src, "web."); len(got) != 1 || got[0].String() != "10.89.0.9" {
		t.Errorf("after Set, web = %v, want only the new address", got)
	}
	tb.Remove("demo_default")
	if tb.Known(src) || len(tb.Lookup(src, "web")) != 0 {
		t.Errorf("after Remove the network still answers")
	}
}

func TestReverseAddr(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"4.3.2.1.in-addr.arpa.", "1.2.3.4", true},
		{"4.3.2.1.IN-ADDR.ARPA", "1.2.3.4", true},
		{"3.2.1.in-addr.arpa.", "", false},
		{"example.com.", "", false},
	} {
		got, ok := reverseAddr(tt.in)
		if ok != tt.ok || (ok && got.String() != tt.want) {
			t.Errorf("reverseAddr(%q) = %v, %v; want %s, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
