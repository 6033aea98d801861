package dns

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// serve starts a UDP DNS server with h on a free loopback port.
func serve(t *testing.T, h dns.Handler) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, Handler: h, NotifyStartedFunc: func() { close(started) }}
	go srv.ActivateAndServe() //nolint:errcheck // ends with Shutdown
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}

// TestServerOnSocket answers a real query over UDP on loopback; the
// client's address (127.0.0.1) is on a network of the table.
func TestServerOnSocket(t *testing.T) {
	tb := NewTable()
	tb.Set("lo", netip.MustParsePrefix("127.0.0.0/8"), []Entry{{Addr: netip.MustParseAddr("127.0.0.42"), Names: []string{"web"}}})
	addr := serve(t, &Handler{Records: tb})
	m := new(dns.Msg)
	m.SetQuestion("web.", dns.TypeA)
	resp, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(m, addr)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if answers(resp) != "127.0.0.42" {
		t.Errorf("answer = %q, want 127.0.0.42", answers(resp))
	}
}

func TestUpstream(t *testing.T) {
	// A fake upstream resolver on loopback that knows one name.
	upstream := serve(t, dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		if r.Question[0].Name == "mirror.test." {
			rr, _ := dns.NewRR("mirror.test. 60 IN A 127.0.0.7")
			m.Answer = append(m.Answer, rr)
		} else {
			m.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(m)
	}))
	// A closed loopback port first: the forwarder must go on to the next.
	closed, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := closed.LocalAddr().String()
	closed.Close()

	u := &Upstream{Servers: []string{dead, upstream}, TryTimeout: 300 * time.Millisecond}
	q := new(dns.Msg)
	q.SetQuestion("mirror.test.", dns.TypeA)
	resp, err := u.Forward(context.Background(), q)
	if err != nil || answers(resp) != "127.0.0.7" {
		t.Fatalf("Forward = %v, %v; want 127.0.0.7 from the second server", resp, err)
	}

	// Only dead servers: it fails, within the caller's deadline.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := (&Upstream{Servers: []string{dead}}).Forward(ctx, q); err == nil {
		t.Errorf("Forward to a dead server: no error")
	}
}

func TestHostResolvers(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "resolv.conf")
	os.WriteFile(conf, []byte("# x\nnameserver 192.0.2.53\nnameserver fe80::1%eth0\nsearch lan\n"), 0o644)
	got, err := HostResolvers(conf)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "192.0.2.53:53,[fe80::1]:53" {
		t.Errorf("HostResolvers = %v", got)
	}
	if _, err := HostResolvers(filepath.Join(dir, "missing")); err == nil {
		t.Errorf("HostResolvers(missing file): no error")
	}
}
