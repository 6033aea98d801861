package kube

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
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
	// The one name that resolves: db's "-ready" name in the cluster of
	// the run (its domain corp.example, or the default).
	var ready atomic.Value
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		switch q := r.Question[0]; {
		case q.Name != ready.Load():
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
	for _, applet := range []string{"sh", "nslookup", "grep", "sleep", "sed"} {
		if err := os.Symlink(busybox, filepath.Join(bin, applet)); err != nil {
			t.Fatal(err)
		}
	}
	// The pod's resolv.conf as the kubelet writes it, with a cluster
	// domain other than the default; and one without a search list.
	resolv := filepath.Join(t.TempDir(), "resolv.conf")
	noSearch := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(resolv, []byte("nameserver 10.0.0.10\nsearch shop.svc.corp.example svc.corp.example corp.example\noptions ndots:5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(noSearch, []byte("nameserver 10.0.0.10\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Ask the loopback server instead of resolv.conf's nameserver.
	run := func(script, resolvConf string) (string, error) {
		if !strings.Contains(script, "/etc/resolv.conf") || !strings.Contains(script, " 2>/dev/null") {
			t.Fatalf("the script no longer reads /etc/resolv.conf or asks nslookup as this test expects: %s", script)
		}
		script = strings.ReplaceAll(script, "/etc/resolv.conf", resolvConf)
		script = strings.ReplaceAll(script, " 2>/dev/null", " 127.0.0.1 2>/dev/null")
		script = strings.ReplaceAll(script, "nslookup ", "nslookup -port="+strconv.Itoa(port)+" ")
		// A guard, not a timing: a broken script loops for ever.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(bin, "sh"), "-c", script)
		cmd.Env = []string{"PATH=" + bin}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	for rc, name := range map[string]string{resolv: "db-ready.shop.svc.corp.example.", noSearch: "db-ready.shop.svc.cluster.local."} {
		ready.Store(name)
		out, err := run(healthyWait("db", "shop"), rc)
		if err != nil || !strings.Contains(out, "db is healthy") {
			t.Errorf("waiter for a ready db (%s) = %q, %v; want it to end saying db is healthy", rc, out, err)
		}
	}
	// The loop's test alone, for a dependency with no ready pod.
	script := healthyWait("cache", "shop")
	test := script[:strings.Index(script, "until ")] + script[strings.Index(script, "until ")+len("until "):strings.Index(script, "; do")]
	ready.Store("db-ready.shop.svc.corp.example.")
	if out, err := run(test, resolv); err == nil {
		t.Errorf("the wait test passed for a name that does not resolve (%q): the waiter would not wait", out)
	}
}
