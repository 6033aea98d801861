package kube

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestHealthyWaitScript runs the script of a service_healthy waiter with
// the machine's busybox (Debian's busybox-static, what the offline busybox
// image is made of) against a DNS server on loopback standing in for the
// cluster's: it must end once the "-ready" name resolves, and the test it
// loops on must fail while the name does not exist.
func TestHealthyWaitScript(t *testing.T) {
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("no busybox on this machine")
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const ready = "db-ready.shop.svc.cluster.local."
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		switch q := r.Question[0]; {
		case q.Name != ready:
			m.Rcode = dns.RcodeNameError
		case q.Qtype == dns.TypeA:
			m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 5}, A: net.IPv4(10, 1, 2, 3)}}
		}
		if err := w.WriteMsg(m); err != nil {
			t.Errorf("write DNS reply: %v", err)
		}
	})}
	go srv.ActivateAndServe()
	defer srv.Shutdown()
	port := pc.LocalAddr().(*net.UDPAddr).Port

	// Only busybox's applets on PATH, as in the image.
	bin := t.TempDir()
	for _, applet := range []string{"sh", "nslookup", "grep", "sleep"} {
		if err := os.Symlink(busybox, filepath.Join(bin, applet)); err != nil {
			t.Fatal(err)
		}
	}
	// Ask the loopback server instead of resolv.conf's.
	local := func(script string) string {
		return strings.ReplaceAll(script, "nslookup ", "nslookup -port="+strconv.Itoa(port)+" ")
	}
	run := func(script string) (string, error) {
		script = strings.ReplaceAll(script, ".local 2>", ".local 127.0.0.1 2>")
		// A guard, not a timing: a broken script loops for ever.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(bin, "sh"), "-c", local(script))
		cmd.Env = []string{"PATH=" + bin}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run(healthyWait("db", "shop"))
	if err != nil || !strings.Contains(out, "db is healthy") {
		t.Errorf("waiter for a ready db = %q, %v; want it to end saying db is healthy", out, err)
	}
	// The loop's test alone, for a dependency with no ready pod.
	script := healthyWait("cache", "shop")
	test := script[strings.Index(script, "nslookup"):strings.Index(script, "; do")]
	if out, err := run(test); err == nil {
		t.Errorf("the wait test passed for a name that does not resolve (%q): the waiter would not wait", out)
	}
}
