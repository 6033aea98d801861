//go:build e2e

package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// freeLoopbackPort is a TCP port on 127.0.0.1 that nothing listens on now.
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestNetworkModeBridge: with network_mode: bridge on every service, up
// works (the project's background process stays), the services reach each
// other and a published port answers on the host's loopback.
func TestNetworkModeBridge(t *testing.T) {
	t.Parallel()
	port := freeLoopbackPort(t)
	p := newProject(t, fmt.Sprintf(`
services:
  web:
    image: %s
    command: ["httpd", "-f", "-p", "80", "-h", "/www"]
    network_mode: bridge
    ports: ["127.0.0.1:%d:80"]
    stop_signal: SIGKILL
  client:
    image: %s
    command: ["sleep", "600"]
    network_mode: bridge
    stop_signal: SIGKILL
`, testImage, port, testImage), nil)
	p.must("up", "-d")
	if r := p.must("exec", "-T", "client", "wget", "-q", "-O-", "http://web/"); !strings.Contains(r.stdout, "hello from berth") {
		t.Errorf("client fetching web: %s", r)
	}
	var body string
	p.waitFor("the published port", 10*time.Second, func() bool {
		body, _ = fetch(fmt.Sprintf("http://127.0.0.1:%d/", port))
		return strings.Contains(body, "hello from berth")
	})
	if r := p.must("ps"); !strings.Contains(r.stderr, "running") {
		t.Errorf("the project's DNS server does not run:\n%s", r)
	}
}

// TestPublishedPortHeld: while a container publishes a host port (TCP and
// UDP), a program that binds the port gets "address in use", as with
// Docker's proxy, and the port still reaches the container; once the
// container is removed the port is free.
func TestPublishedPortHeld(t *testing.T) {
	t.Parallel()
	port := freeLoopbackPort(t)
	udpConn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	udpPort := udpConn.LocalAddr().(*net.UDPAddr).Port
	udpConn.Close()
	p := newProject(t, fmt.Sprintf(`
services:
  web:
    image: %s
    command: ["httpd", "-f", "-p", "80", "-h", "/www"]
    ports: ["127.0.0.1:%d:80", "127.0.0.1:%d:53/udp"]
    stop_signal: SIGKILL
`, testImage, port, udpPort), nil)
	p.must("up", "-d")
	tcpAddr, udpAddr := fmt.Sprintf("127.0.0.1:%d", port), fmt.Sprintf("127.0.0.1:%d", udpPort)
	p.waitFor("the published ports to be held", 10*time.Second, func() bool {
		l, err := net.Listen("tcp4", tcpAddr)
		if err == nil {
			l.Close()
			return false
		}
		c, err := net.ListenPacket("udp4", udpAddr)
		if err == nil {
			c.Close()
			return false
		}
		return strings.Contains(err.Error(), "address already in use")
	})
	served := func() bool {
		body, _ := fetch("http://" + tcpAddr + "/")
		return strings.Contains(body, "hello from berth")
	}
	p.waitFor("the held port to reach the container", 10*time.Second, served)
	// A second up (the port is the project's own) and a recreate work.
	p.must("up", "-d")
	p.must("up", "-d", "--force-recreate")
	p.waitFor("the port to reach the recreated container", 10*time.Second, served)
	p.must("down")
	for _, network := range []string{"tcp4", "udp4"} {
		var err error
		if network == "tcp4" {
			var l net.Listener
			if l, err = net.Listen(network, tcpAddr); err == nil {
				l.Close()
			}
		} else {
			var c net.PacketConn
			if c, err = net.ListenPacket(network, udpAddr); err == nil {
				c.Close()
			}
		}
		if err != nil {
			t.Errorf("after down, the %s port is still taken: %v", network, err)
		}
	}
}

// TestSameProjectTwoDataDirs: the same project name run by a berth with
// another data dir (and so its own containerd) next to the shared one
// gets host-side objects of its own: neither takes over the other's
// bridge, namespaces or addresses, and removing one leaves the other up.
func TestSameProjectTwoDataDirs(t *testing.T) {
	t.Parallel()
	const file = `
services:
  web:
    image: ` + testImage + `
    command: ["sleep", "600"]
    stop_signal: SIGKILL
`
	p := newProject(t, file, nil)
	p.must("up", "-d")
	d := newPrivateDaemon(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	d.must(dir, "-p", p.name, "up", "-d")
	defer d.command(dir, "-p", p.name, "down", "-t", "0").Run() //nolint:errcheck // when the test fails half-way

	addr := func(out string) string { return strings.TrimSpace(out) }
	shared := func() string {
		r := p.berth("exec", "-T", "web", "cat", "/sys/class/net/eth0/address")
		if r.code != 0 {
			t.Fatalf("the shared daemon's container lost eth0:\n%s", r)
		}
		return addr(r.stdout)
	}
	private := addr(d.must(dir, "-p", p.name, "exec", "-T", "web", "cat", "/sys/class/net/eth0/address"))
	if s := shared(); s == private {
		t.Errorf("both containers have the same eth0 (%s): one took the other's namespace", s)
	}
	if r := p.must("up", "-d"); !strings.Contains(r.stderr, "Nothing to do") {
		t.Errorf("up -d of the shared project after the private one's:\n%s", r)
	}
	d.must(dir, "-p", p.name, "down", "-t", "0")
	shared()
	if r := p.must("exec", "-T", "web", "ping", "-c", "1", "-W", "2", gatewayOf(t, p)); r.code != 0 {
		t.Errorf("the shared container cannot reach its gateway after the private project's down:\n%s", r)
	}
}

// gatewayOf is the gateway of the project's web container (its default
// route), read inside it.
func gatewayOf(t *testing.T, p *project) string {
	t.Helper()
	r := p.must("exec", "-T", "web", "sh", "-c", "ip route | awk '/^default/ {print $3}'")
	gw := strings.TrimSpace(r.stdout)
	if gw == "" {
		t.Fatalf("no default route in the container:\n%s", r)
	}
	return gw
}
