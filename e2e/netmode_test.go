//go:build e2e

package e2e

import (
	"fmt"
	"net"
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
