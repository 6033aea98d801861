package dns

import (
	"context"
	"net"
	"net/netip"
	"testing"

	"github.com/miekg/dns"
)

// echoForwarder answers every forwarded name with one A record, built
// without parsing, so that any name the fuzzer makes up goes through.
type echoForwarder struct{}

func (echoForwarder) Forward(_ context.Context, r *dns.Msg) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetReply(r)
	if len(r.Question) > 0 {
		m.Answer = append(m.Answer, &dns.A{
			Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
			A:   net.IPv4(192, 0, 2, 10),
		})
	}
	return m, nil
}

// fuzzSeeds are queries of each kind the handler tells apart.
func fuzzSeeds(tb testing.TB) [][]byte {
	var out [][]byte
	add := func(m *dns.Msg) {
		b, err := m.Pack()
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	for _, q := range []struct {
		name  string
		qtype uint16
	}{
		{"web.", dns.TypeA}, {"WWW.", dns.TypeANY}, {"web.", dns.TypeAAAA}, {"store.", dns.TypeA},
		{"3.0.89.10.in-addr.arpa.", dns.TypePTR}, {"9.9.in-addr.arpa.", dns.TypePTR},
		{"deb.debian.org.", dns.TypeMX}, {`we\.b.`, dns.TypeA}, {".", dns.TypeNS},
	} {
		m := new(dns.Msg)
		m.SetQuestion(q.name, q.qtype)
		add(m)
	}
	edns := new(dns.Msg)
	edns.SetQuestion("web.", dns.TypeA)
	edns.SetEdns0(4096, true)
	add(edns)
	two := new(dns.Msg)
	two.SetQuestion("web.", dns.TypeA)
	two.Question = append(two.Question, dns.Question{Name: "db.", Qtype: dns.TypeA, Qclass: dns.ClassINET})
	add(two)
	none := new(dns.Msg)
	none.Id = 7
	add(none)
	return out
}

// FuzzServeDNS: whatever query unpacks is answered, without a panic, with
// the query's ID, in a message that packs and fits what the client takes.
func FuzzServeDNS(f *testing.F) {
	for _, b := range fuzzSeeds(f) {
		f.Add(b, false, uint8(0))
		f.Add(b, true, uint8(1))
	}
	tb := testTable()
	// A network with enough replicas of "web" to need truncation.
	big := netip.MustParsePrefix("10.89.5.0/24")
	tb.Set("big_default", big, replicaEntries(big, 60))
	sources := []net.IP{net.IPv4(10, 89, 0, 4), net.IPv4(10, 89, 2, 4), net.IPv4(10, 89, 5, 200), net.IPv4(192, 0, 2, 99)}
	f.Fuzz(func(t *testing.T, query []byte, overTCP bool, src uint8) {
		r := new(dns.Msg)
		if err := r.Unpack(query); err != nil {
			return // the server never hands such bytes to the handler
		}
		ip := sources[int(src)%len(sources)]
		var remote net.Addr = &net.UDPAddr{IP: ip, Port: 40000}
		if overTCP {
			remote = &net.TCPAddr{IP: ip, Port: 40000}
		}
		for _, fwd := range []Forwarder{echoForwarder{}, nil} {
			h := &Handler{Records: tb, Forward: fwd}
			w := &recorder{remote: remote}
			h.ServeDNS(w, r.Copy())
			if w.msg == nil {
				t.Fatalf("no answer to %v", r)
			}
			if w.msg.Id != r.Id || !w.msg.Response {
				t.Fatalf("answer id %d, response %v; want id %d, response", w.msg.Id, w.msg.Response, r.Id)
			}
			b, err := w.msg.Pack()
			if err != nil {
				t.Fatalf("answer does not pack: %v\n%v", err, w.msg)
			}
			if size := replySize(remote, r); len(b) > size {
				t.Fatalf("answer of %d bytes to a client taking %d", len(b), size)
			}
		}
	})
}
