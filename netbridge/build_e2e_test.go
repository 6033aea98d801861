//go:build e2e

package netbridge

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// TestBuildNetworkDNS: a build's namespace resolves names through the
// forwarder on its gateway even when the host's resolver listens on the
// host's loopback (as systemd-resolved and dnsmasq do), yet a server on
// the host's 127.0.0.1 cannot be reached from it. Removing the network
// leaves nothing: namespace, bridge, allocation, forwarder.
func TestBuildNetworkDNS(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create bridges and network namespaces")
	}
	// The "host's resolver", on the host's loopback.
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	resolver := &mdns.Server{PacketConn: pc, Handler: mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
		m := new(mdns.Msg)
		m.SetReply(r)
		if r.Question[0].Name == "probe.berth.test." {
			m.Answer = append(m.Answer, &mdns.A{Hdr: mdns.RR_Header{Name: r.Question[0].Name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 5}, A: net.IPv4(192, 0, 2, 7)})
		}
		w.WriteMsg(m) //nolint:errcheck // the test's client reports a missing answer
	})}
	go resolver.ActivateAndServe() //nolint:errcheck // ends with Shutdown
	t.Cleanup(func() { resolver.Shutdown() })
	// A server on the host's loopback that no build may reach.
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	ipam := NewIPAM(filepath.Join(t.TempDir(), "ipam.json"), netip.MustParsePrefix("10.252.0.0/16"), 24, HostRoutes)
	b := &Networks{bridges: &Bridges{IPAM: ipam}}
	builds := b.Builds([]string{pc.LocalAddr().String()})
	ctx := context.Background()
	const id = "1-2-dnstest"
	path, nameservers, err := builds.CreateBuildNetwork(ctx, id)
	if err != nil {
		t.Fatalf("CreateBuildNetwork: %v", err)
	}
	t.Cleanup(func() { builds.RemoveBuildNetwork(ctx, id) }) //nolint:errcheck // removed by the test already
	if len(nameservers) != 1 {
		t.Fatalf("nameservers = %v, want the gateway", nameservers)
	}

	var answer *mdns.Msg
	var queryErr, dialErr error
	inNamespace(t, path, func() {
		c := &mdns.Client{Timeout: 3 * time.Second}
		q := new(mdns.Msg)
		q.SetQuestion("probe.berth.test.", mdns.TypeA)
		answer, _, queryErr = c.Exchange(q, net.JoinHostPort(nameservers[0], "53"))
		var conn net.Conn
		conn, dialErr = net.DialTimeout("tcp4", l.Addr().String(), 2*time.Second)
		if dialErr == nil {
			conn.Close()
		}
	})
	if queryErr != nil || len(answer.Answer) != 1 || answer.Answer[0].(*mdns.A).A.String() != "192.0.2.7" {
		t.Errorf("query through %s from the build's namespace = %v, %v; want 192.0.2.7 from the host's loopback resolver", nameservers[0], answer, queryErr)
	}
	if dialErr == nil {
		t.Errorf("the build's namespace reached %s on the host's loopback", l.Addr())
	}

	ids, err := builds.BuildNetworks(ctx)
	if err != nil || len(ids) != 1 || ids[0] != id {
		t.Errorf("BuildNetworks = %v, %v, want [%s]", ids, err, id)
	}
	if err := builds.RemoveBuildNetwork(ctx, id); err != nil {
		t.Fatalf("RemoveBuildNetwork: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("namespace %s left: %v", path, err)
	}
	network, _ := buildNames(id)
	if _, err := netlink.LinkByName(BridgeName(network)); err == nil {
		t.Errorf("bridge %s left", BridgeName(network))
	}
	if ids, _ := builds.BuildNetworks(ctx); len(ids) != 0 {
		t.Errorf("allocations left: %v", ids)
	}
	if err := builds.RemoveBuildNetwork(ctx, id); err != nil {
		t.Errorf("removing a removed build network: %v", err)
	}
}

// inNamespace runs fn on a thread in the namespace at path.
func inNamespace(t *testing.T, path string, fn func()) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // not unlocked on failure: the thread dies with the goroutine
		orig, err := netns.Get()
		if err != nil {
			done <- err
			return
		}
		defer orig.Close()
		ns, err := netns.GetFromPath(path)
		if err != nil {
			done <- err
			return
		}
		defer ns.Close()
		if err := netns.Set(ns); err != nil {
			done <- err
			return
		}
		fn()
		if err := netns.Set(orig); err != nil {
			done <- err
			return
		}
		runtime.UnlockOSThread()
		done <- nil
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
