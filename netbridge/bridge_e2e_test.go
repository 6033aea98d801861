//go:build e2e

package netbridge

import (
	"context"
	"encoding/hex"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// inNS runs fn on a thread inside the namespace at path. The thread is
// never returned to the host namespace: it ends with its goroutine.
func inNS(path string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		ns, err := netns.GetFromPath(path)
		if err != nil {
			errc <- err
			return
		}
		defer ns.Close()
		if err := netns.Set(ns); err != nil {
			errc <- err
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// listenIn starts a TCP server inside a namespace that reports the address of
// each client it accepts.
func listenIn(t *testing.T, nsPath, addr string) (string, <-chan string) {
	t.Helper()
	var l net.Listener
	if err := inNS(nsPath, func() (err error) { l, err = net.Listen("tcp4", addr); return err }); err != nil {
		t.Fatalf("listen in %s: %v", nsPath, err)
	}
	t.Cleanup(func() { l.Close() })
	peers := make(chan string, 4)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			peers <- c.RemoteAddr().(*net.TCPAddr).IP.String()
			c.Close()
		}
	}()
	return l.Addr().String(), peers
}

func dialFrom(nsPath, addr string) error {
	return inNS(nsPath, func() error {
		c, err := net.DialTimeout("tcp4", addr, 700*time.Millisecond)
		if err != nil {
			return err
		}
		return c.Close()
	})
}

func TestBridgeNetworks(t *testing.T) {
	ctx := context.Background()
	ipam := NewIPAM(filepath.Join(t.TempDir(), "ipam.json"), netip.MustParsePrefix("10.250.0.0/16"), 24, HostRoutes)
	b := &Bridges{IPAM: ipam}
	nss := Namespaces{}
	ns := func(name string) string {
		p, err := nss.CreateNamespace(ctx, "t", name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nss.DeleteNamespace(ctx, "t", name) })
		return p
	}
	a, bb, c, out := ns("brtest-a"), ns("brtest-b"), ns("brtest-c"), ns("brtest-out")

	// An "upstream host": a namespace reached over its own veth, 10.251.0.0/24.
	upHost := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "vbtestup"}, PeerName: "vbtestpeer"}
	if err := netlink.LinkAdd(upHost); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if l, err := netlink.LinkByName("vbtestup"); err == nil {
			netlink.LinkDel(l)
		}
	})
	mustRun(t, "ip", "addr", "add", "10.251.0.1/24", "dev", "vbtestup")
	mustRun(t, "ip", "link", "set", "vbtestup", "up")
	mustRun(t, "ip", "link", "set", "vbtestpeer", "netns", filepath.Base(out))
	mustRun(t, "ip", "-n", filepath.Base(out), "addr", "add", "10.251.0.2/24", "dev", "vbtestpeer")
	mustRun(t, "ip", "-n", filepath.Base(out), "link", "set", "vbtestpeer", "up")
	mustRun(t, "ip", "-n", filepath.Base(out), "route", "add", "default", "via", "10.251.0.1")

	def, err := b.EnsureNetwork(NetworkConfig{Name: "brtest_default"})
	if err != nil {
		t.Fatalf("EnsureNetwork: %v", err)
	}
	if again, err := b.EnsureNetwork(NetworkConfig{Name: "brtest_default"}); err != nil || again != def {
		t.Errorf("EnsureNetwork again = %+v, %v; want the same network", again, err)
	}
	internal, err := b.EnsureNetwork(NetworkConfig{Name: "brtest_internal", Internal: true})
	if err != nil {
		t.Fatalf("EnsureNetwork(internal): %v", err)
	}
	t.Cleanup(func() { b.RemoveNetwork("brtest_default"); b.RemoveNetwork("brtest_internal") })

	epA, err := b.Attach(EndpointConfig{Network: def.Name, Container: "a", NetNS: a, IfName: "eth0", DefaultRoute: true})
	if err != nil {
		t.Fatalf("Attach a: %v", err)
	}
	epB, err := b.Attach(EndpointConfig{Network: def.Name, Container: "b", NetNS: bb, IfName: "eth0", DefaultRoute: true,
		Addr: def.Subnet.Prefix.Addr().Next().Next().Next().Next(), MAC: "02:42:ac:11:00:99"})
	if err != nil {
		t.Fatalf("Attach b: %v", err)
	}
	if _, err := b.Attach(EndpointConfig{Network: internal.Name, Container: "c", NetNS: c, IfName: "eth0", DefaultRoute: true}); err != nil {
		t.Fatalf("Attach c: %v", err)
	}
	if got := runIn(t, bb, "ip", "-o", "link", "show", "eth0"); !strings.Contains(got, "02:42:ac:11:00:99") {
		t.Errorf("b's eth0 lacks the requested MAC: %s", got)
	}

	// Containers on one network reach each other.
	addrB, peersB := listenIn(t, bb, epB.Addr.Addr().String()+":0")
	if err := dialFrom(a, addrB); err != nil {
		t.Errorf("a cannot reach b at %s: %v", addrB, err)
	} else if got := <-peersB; got != epA.Addr.Addr().String() {
		t.Errorf("b saw a as %s, want %s (no NAT inside a network)", got, epA.Addr.Addr())
	}

	// Egress is masqueraded: the upstream host sees the host's address.
	upAddr, peersUp := listenIn(t, out, "10.251.0.2:0")
	if err := dialFrom(a, upAddr); err != nil {
		t.Errorf("a cannot reach the upstream host %s: %v", upAddr, err)
	} else if got := <-peersUp; got != "10.251.0.1" {
		t.Errorf("upstream saw a as %s, want the host's 10.251.0.1 (masquerade)", got)
	}

	// An internal network reaches nothing beyond its bridge.
	if err := dialFrom(c, upAddr); err == nil {
		t.Errorf("the internal network's container reached the upstream host")
	}

	// Tear down: nothing of it is left.
	for _, ep := range [][2]string{{def.Name, "a"}, {def.Name, "b"}, {internal.Name, "c"}} {
		if err := b.Detach(ep[0], ep[1]); err != nil {
			t.Errorf("Detach %v: %v", ep, err)
		}
	}
	for _, n := range []string{def.Name, internal.Name} {
		if err := b.RemoveNetwork(n); err != nil {
			t.Errorf("RemoveNetwork %s: %v", n, err)
		}
		if _, err := netlink.LinkByName(BridgeName(n)); err == nil {
			t.Errorf("bridge of %s still exists", n)
		}
	}
	if _, err := netlink.LinkByName(epA.HostVeth); err == nil {
		t.Errorf("veth %s still exists", epA.HostVeth)
	}
	// Other berth processes may use the table meanwhile: check only this test's rules.
	conn, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	if table, err := conn.ListTableOfFamily(nftTable, nftables.TableFamilyIPv4); err == nil {
		for _, name := range []string{nftPostrouting, nftForward, nftRaw} {
			rules, _ := conn.GetRules(table, &nftables.Chain{Name: name, Table: table})
			for _, r := range rules {
				if strings.HasPrefix(string(r.UserData), "berth-network:brtest_") {
					t.Errorf("rule %q left in %s", r.UserData, name)
				}
			}
		}
	}
	if subnets, _ := ipam.Subnets(); len(subnets) != 0 {
		t.Errorf("IPAM still holds %v", subnets)
	}
}

func mustRun(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

func runIn(t *testing.T, nsPath string, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"netns", "exec", filepath.Base(nsPath), name}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s in %s: %v: %s", name, nsPath, err, out)
	}
	return string(out)
}

// TestBridgeKeepsMACWhenPortsLeave: a bridge keeps the MAC address it was
// made with whatever its ports, so that a container that learnt the
// gateway's address keeps reaching it (and berth's DNS server on it) when
// another container leaves. A bridge left to pick its own address takes
// its lowest port's, and when that port went, the others lost their
// gateway for the 5 to 8 s their neighbour entries took to be probed
// again: a wide30 down sometimes took 10 s.
func TestBridgeKeepsMACWhenPortsLeave(t *testing.T) {
	ctx := context.Background()
	ipam := NewIPAM(filepath.Join(t.TempDir(), "ipam.json"), netip.MustParsePrefix("10.248.0.0/16"), 24, HostRoutes)
	b := &Bridges{IPAM: ipam}
	nss := Namespaces{}
	paths := map[string]string{}
	for _, name := range []string{"brmac-a", "brmac-b"} {
		p, err := nss.CreateNamespace(ctx, "t", name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nss.DeleteNamespace(ctx, "t", name) })
		paths[name] = p
	}
	def, err := b.EnsureNetwork(NetworkConfig{Name: "brmac_default"})
	if err != nil {
		t.Fatalf("EnsureNetwork: %v", err)
	}
	t.Cleanup(func() { b.RemoveNetwork("brmac_default") })
	bridgeAddr := func() string {
		t.Helper()
		l, err := netlink.LinkByName(def.Bridge)
		if err != nil {
			t.Fatal(err)
		}
		return l.Attrs().HardwareAddr.String()
	}
	made := bridgeAddr()
	if want := bridgeMAC(def.Bridge).String(); made != want {
		t.Errorf("bridge made with MAC %s, want %s", made, want)
	}
	eps := map[string]Endpoint{}
	for name, p := range paths {
		ep, err := b.Attach(EndpointConfig{Network: def.Name, Container: name, NetNS: p, IfName: "eth0", DefaultRoute: true})
		if err != nil {
			t.Fatalf("Attach %s: %v", name, err)
		}
		eps[name] = ep
	}
	// The container whose host-side veth has the lowest address leaves;
	// the other one reached the gateway before, and must still.
	leaving, staying := "brmac-a", "brmac-b"
	if portMAC(t, eps["brmac-b"].HostVeth) < portMAC(t, eps["brmac-a"].HostVeth) {
		leaving, staying = staying, leaving
	}
	l, err := net.Listen("tcp4", def.Subnet.Gateway.String()+":0") // the host's end, as berth's DNS server
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	gw := l.Addr().String()
	// A fresh veth takes a moment to carry: the first reach is awaited.
	for i := 0; ; i++ {
		err := dialFrom(paths[staying], gw)
		if err == nil {
			break
		}
		if i == 10 {
			t.Fatalf("%s cannot reach the gateway %s: %v", staying, gw, err)
		}
	}
	if err := b.Detach(def.Name, leaving); err != nil {
		t.Fatalf("Detach %s: %v", leaving, err)
	}
	if got := bridgeAddr(); got != made {
		t.Errorf("bridge MAC %s after its ports changed, want %s as made", got, made)
	}
	if err := dialFrom(paths[staying], gw); err != nil {
		t.Errorf("%s lost its gateway %s when %s left: %v", staying, gw, leaving, err)
	}
	if err := b.Detach(def.Name, staying); err != nil {
		t.Errorf("Detach %s: %v", staying, err)
	}
}

// portMAC is the address of a host-side veth, in a form that sorts as
// the kernel compares addresses.
func portMAC(t *testing.T, name string) string {
	t.Helper()
	l, err := netlink.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(l.Attrs().HardwareAddr)
}

// TestBridgeOfOlderBerthKeepsMAC: a bridge made by a berth that let its
// address follow its ports keeps the address it has from the next
// EnsureNetwork on (see TestBridgeKeepsMACWhenPortsLeave).
func TestBridgeOfOlderBerthKeepsMAC(t *testing.T) {
	ipam := NewIPAM(filepath.Join(t.TempDir(), "ipam.json"), netip.MustParsePrefix("10.248.0.0/16"), 24, HostRoutes)
	b := &Bridges{IPAM: ipam}
	name := BridgeName("brmac_old")
	if err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.RemoveNetwork("brmac_old") })
	assigned := func() string {
		t.Helper()
		out, err := os.ReadFile("/sys/class/net/" + name + "/addr_assign_type")
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out))
	}
	if got := assigned(); got == netAddrSet {
		t.Skipf("this kernel marks a new bridge's address as set (addr_assign_type %s)", got)
	}
	before, err := netlink.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.EnsureNetwork(NetworkConfig{Name: "brmac_old"}); err != nil {
		t.Fatalf("EnsureNetwork: %v", err)
	}
	after, err := netlink.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	if got := assigned(); got != netAddrSet {
		t.Errorf("addr_assign_type %s after EnsureNetwork, want %s (set)", got, netAddrSet)
	}
	if a, b := after.Attrs().HardwareAddr.String(), before.Attrs().HardwareAddr.String(); a != b {
		t.Errorf("MAC %s after EnsureNetwork, want %s as it was", a, b)
	}

	// An older bridge whose ports have all left has no address (all
	// zeros, which cannot be set): it gets berth's.
	if err := b.RemoveNetwork("brmac_old"); err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}); err != nil {
		t.Fatal(err)
	}
	br, err := netlink.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	port := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "brmacold0", MasterIndex: br.Attrs().Index}, PeerName: "brmacold1"}
	if err := netlink.LinkAdd(port); err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkDel(port); err != nil {
		t.Fatal(err)
	}
	if br, err = netlink.LinkByName(name); err != nil {
		t.Fatal(err)
	}
	if mac := br.Attrs().HardwareAddr.String(); mac != "00:00:00:00:00:00" && mac != "" {
		t.Logf("a bridge whose last port left has address %s on this kernel, not zeros", mac)
	}
	if _, err := b.EnsureNetwork(NetworkConfig{Name: "brmac_old"}); err != nil {
		t.Fatalf("EnsureNetwork of an older bridge whose ports left: %v", err)
	}
	if br, err = netlink.LinkByName(name); err != nil {
		t.Fatal(err)
	}
	if got := assigned(); got != netAddrSet {
		t.Errorf("addr_assign_type %s after EnsureNetwork of a bridge whose ports left, want %s (set)", got, netAddrSet)
	}
	if mac := br.Attrs().HardwareAddr; mac.String() == "00:00:00:00:00:00" {
		t.Errorf("the bridge has no address after EnsureNetwork")
	}
}
