//go:build e2e

package netbridge

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"

	"github.com/berth/berth/compose"
)

// buildLoopProbe builds e2e/testdata/loopprobe, which sends a crafted SYN
// to 127.0.0.1 through the default gateway.
func buildLoopProbe(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "loopprobe")
	build := exec.Command("go", "build", "-o", bin, "../e2e/testdata/loopprobe")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build loopprobe: %v: %s", err, out)
	}
	return bin
}

// loopProbe runs the probe in a namespace against 127.0.0.1:port and
// reports its output and whether it got an answer.
func loopProbe(t *testing.T, bin, nsPath string, port int) (string, bool) {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", filepath.Base(nsPath), bin, strconv.Itoa(port)).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
		return string(out), false
	}
	if err != nil {
		t.Fatalf("loopprobe in %s: %v: %s", nsPath, err, out)
	}
	return string(out), true
}

// TestBridgeConfinement: containers reach their own network's peers and
// published ports, but not another network's containers (either way), nor
// the host's loopback through their gateway, nor a 127.0.0.1 publish.
func TestBridgeConfinement(t *testing.T) {
	ctx := context.Background()
	probe := buildLoopProbe(t)
	ipam := NewIPAM(filepath.Join(t.TempDir(), "ipam.json"), netip.MustParsePrefix("10.253.0.0/16"), 24, HostRoutes)
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
	x, y, z := ns("cftest-x"), ns("cftest-y"), ns("cftest-z")
	netA, err := b.EnsureNetwork(NetworkConfig{Name: "cftest_a", Project: "cftest"})
	if err != nil {
		t.Fatalf("EnsureNetwork a: %v", err)
	}
	t.Cleanup(func() { b.RemoveNetwork("cftest_a") })
	netB, err := b.EnsureNetwork(NetworkConfig{Name: "cftest_b", Project: "cftest2"})
	if err != nil {
		t.Fatalf("EnsureNetwork b: %v", err)
	}
	t.Cleanup(func() { b.RemoveNetwork("cftest_b") })
	attach := func(network, container, path string) Endpoint {
		ep, err := b.Attach(EndpointConfig{Network: network, Container: container, NetNS: path, IfName: "eth0", DefaultRoute: true})
		if err != nil {
			t.Fatalf("Attach %s: %v", container, err)
		}
		t.Cleanup(func() { b.Detach(network, container) })
		return ep
	}
	epX, epY := attach(netA.Name, "x", x), attach(netB.Name, "y", y)
	attach(netA.Name, "z", z)
	addrX, _ := listenIn(t, x, epX.Addr.Addr().String()+":0")
	addrY, peersY := listenIn(t, y, epY.Addr.Addr().String()+":0")

	// Within a network: reached. A port a moment old may not forward yet
	// (the kernel reports carrier changes within a second): retry.
	if err := dialRetry(z, addrX); err != nil {
		t.Errorf("z cannot reach x on their network a: %v", err)
	}
	// A published port is reached from the other network through the
	// host (here its gateway address, a local one).
	_, yPort, _ := net.SplitHostPort(addrY)
	port, _ := strconv.Atoi(yPort)
	pub, err := b.Publish("y", epY.Addr.Addr(), []compose.PortMapping{{ContainerPort: uint16(port), Protocol: "tcp"}})
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	t.Cleanup(func() { b.Unpublish("y") })
	viaHost := net.JoinHostPort(epX.Gateway.String(), strconv.Itoa(int(pub[0].HostPort)))
	if err := dialRetry(x, viaHost); err != nil {
		t.Errorf("x cannot reach y's published port at %s: %v", viaHost, err)
	} else if got := <-peersY; got != netB.Subnet.Gateway.String() {
		t.Errorf("y saw x's published-port connection from %s, want its gateway %s (masquerade)", got, netB.Subnet.Gateway)
	}
	// Across networks, both ways (now that both ports forward): not reached.
	if err := dialFrom(x, addrY); err == nil {
		t.Errorf("x on network a reached y on network b at %s", addrY)
	}
	if err := dialFrom(y, addrX); err == nil {
		t.Errorf("y on network b reached x on network a at %s", addrX)
	}

	// The host's loopback: a listener on 127.0.0.1 is not answered to a
	// crafted SYN through the gateway, nor is a 127.0.0.1 publish, which
	// the host itself still reaches.
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	hostPort := l.Addr().(*net.TCPAddr).Port
	if out, answered := loopProbe(t, probe, x, hostPort); answered {
		t.Errorf("a crafted SYN from x to the host's 127.0.0.1:%d was answered:\n%s", hostPort, out)
	}
	if err := b.Unpublish("y"); err != nil {
		t.Fatal(err)
	}
	lo, err := b.Publish("y", epY.Addr.Addr(), []compose.PortMapping{{HostIP: netip.MustParseAddr("127.0.0.1"), ContainerPort: uint16(port), Protocol: "tcp"}})
	if err != nil {
		t.Fatalf("Publish on 127.0.0.1: %v", err)
	}
	loAddr := fmt.Sprintf("127.0.0.1:%d", lo[0].HostPort)
	if c, err := net.DialTimeout("tcp4", loAddr, 700*time.Millisecond); err != nil {
		t.Errorf("the host cannot reach the 127.0.0.1 publish %s: %v", loAddr, err)
	} else {
		c.Close()
	}
	if out, answered := loopProbe(t, probe, x, int(lo[0].HostPort)); answered {
		t.Errorf("a crafted SYN from x to the 127.0.0.1 publish %s was answered:\n%s", loAddr, out)
	}

	// Tear down: no rule of these networks is left, in any chain.
	b.Unpublish("y")
	for _, ep := range [][2]string{{netA.Name, "x"}, {netA.Name, "z"}, {netB.Name, "y"}} {
		b.Detach(ep[0], ep[1])
	}
	for _, n := range []string{netA.Name, netB.Name} {
		if err := b.RemoveNetwork(n); err != nil {
			t.Errorf("RemoveNetwork %s: %v", n, err)
		}
	}
	conn, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	if table, err := conn.ListTableOfFamily(nftTable, nftables.TableFamilyIPv4); err == nil {
		for _, name := range []string{nftPostrouting, nftForward, nftPrerouting, nftOutput, nftRaw} {
			rules, _ := conn.GetRules(table, &nftables.Chain{Name: name, Table: table})
			for _, r := range rules {
				if strings.HasPrefix(string(r.UserData), "berth-network:cftest_") || string(r.UserData) == "berth-port:y" {
					t.Errorf("rule %q left in %s", r.UserData, name)
				}
			}
		}
	}
}

// dialRetry dials until it connects, for a few seconds.
func dialRetry(nsPath, addr string) error {
	var err error
	for i := 0; i < 5; i++ {
		if err = dialFrom(nsPath, addr); err == nil {
			return nil
		}
	}
	return err
}
