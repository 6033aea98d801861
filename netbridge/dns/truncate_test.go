package dns

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// replicas is a table whose service "web" has n replicas on subnet.
func replicas(subnet netip.Prefix, n int) *Table {
	tb := NewTable()
	tb.Set("demo_default", subnet, replicaEntries(subnet, n))
	return tb
}

// replicaEntries are n replicas of "web" on subnet, from its .2 on.
func replicaEntries(subnet netip.Prefix, n int) []Entry {
	var entries []Entry
	a := subnet.Addr().Next()
	for i := 1; i <= n; i++ {
		a = a.Next()
		entries = append(entries, Entry{Addr: a, Names: []string{"web", fmt.Sprintf("demo-web-%d", i)}})
	}
	return entries
}

func TestHandlerTruncates(t *testing.T) {
	// 40 A records of "web" make an answer of more than 512 bytes.
	h := &Handler{Records: replicas(netip.MustParsePrefix("10.89.0.0/24"), 40)}
	udp := &net.UDPAddr{IP: net.IPv4(10, 89, 0, 99), Port: 40000}
	tcp := &net.TCPAddr{IP: net.IPv4(10, 89, 0, 99), Port: 40000}
	tests := []struct {
		name      string
		remote    net.Addr
		edns      uint16 // 0: no OPT record
		maxLen    int
		truncated bool
		answers   int // -1: some, fewer than 40
	}{
		{"udp, no EDNS: 512 bytes and TC", udp, 0, 512, true, -1},
		{"udp, EDNS 400 counts as 512", udp, 400, 512, true, -1},
		{"udp, EDNS 4096: all fit", udp, 4096, ednsSize, false, 40},
		{"tcp: all", tcp, 0, dns.MaxMsgSize, false, 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := new(dns.Msg)
			r.SetQuestion("web.", dns.TypeA)
			if tt.edns != 0 {
				r.SetEdns0(tt.edns, false)
			}
			w := &recorder{remote: tt.remote}
			h.ServeDNS(w, r)
			m := w.msg
			b, err := m.Pack()
			if err != nil {
				t.Fatalf("Pack: %v", err)
			}
			if len(b) > tt.maxLen || m.Truncated != tt.truncated || m.Id != r.Id {
				t.Errorf("answer of %d bytes, TC %v, id %d; want at most %d, TC %v, id %d", len(b), m.Truncated, m.Id, tt.maxLen, tt.truncated, r.Id)
			}
			if n := len(m.Answer); (tt.answers == -1 && (n == 0 || n >= 40)) || (tt.answers != -1 && n != tt.answers) {
				t.Errorf("%d answers, want %d (-1: some, not all)", n, tt.answers)
			}
			if (tt.edns != 0) != (m.IsEdns0() != nil) {
				t.Errorf("OPT record in the answer = %v, want %v (as in the query)", m.IsEdns0() != nil, tt.edns != 0)
			}
		})
	}
}

// serveUDPAndTCP serves h over UDP and TCP on one free loopback port, as
// the DNS daemon does on a gateway.
func serveUDPAndTCP(t *testing.T, h dns.Handler) string {
	t.Helper()
	var pc net.PacketConn
	var l net.Listener
	for i := 0; ; i++ {
		var err error
		if pc, err = net.ListenPacket("udp4", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if l, err = net.Listen("tcp4", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
		if i == 20 {
			t.Fatalf("no loopback port free for both UDP and TCP: %v", err)
		}
	}
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: l, Handler: h}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go srv.ActivateAndServe() //nolint:errcheck // ends with Shutdown
		<-started
		t.Cleanup(func() { srv.Shutdown() })
	}
	return pc.LocalAddr().String()
}

// TestTruncationOnSocket: over UDP a large answer comes truncated (TC),
// and the same query over TCP on the same address gets every record.
func TestTruncationOnSocket(t *testing.T) {
	addr := serveUDPAndTCP(t, &Handler{Records: replicas(netip.MustParsePrefix("127.0.0.0/8"), 40)})
	q := new(dns.Msg)
	q.SetQuestion("web.", dns.TypeA)
	udp, _, err := (&dns.Client{Net: "udp", Timeout: 2 * time.Second}).Exchange(q, addr)
	if err != nil {
		t.Fatalf("UDP exchange: %v", err)
	}
	if !udp.Truncated || len(udp.Answer) >= 40 {
		t.Errorf("UDP answer: TC %v with %d records; want TC and fewer than 40", udp.Truncated, len(udp.Answer))
	}
	tcp, _, err := (&dns.Client{Net: "tcp", Timeout: 2 * time.Second}).Exchange(q, addr)
	if err != nil {
		t.Fatalf("TCP exchange: %v", err)
	}
	if tcp.Truncated || len(tcp.Answer) != 40 {
		t.Errorf("TCP answer: TC %v with %d records; want all 40", tcp.Truncated, len(tcp.Answer))
	}
}
