package netbridge

import (
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/berth/berth/compose"
)

// A stopped container's host port is free for another container, as in
// Docker; its start checks the port is still free (of berth's containers
// and of the host's sockets) before it takes it again.
func TestStoppedPorts(t *testing.T) {
	m := newTestIPAM(t)
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := uint16(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	lo := netip.MustParseAddr("127.0.0.1")
	fixed := []compose.PortMapping{{HostIP: lo, HostPortMin: port, HostPortMax: port, ContainerPort: 80, Protocol: "tcp"}}
	ctr := netip.MustParseAddr("10.89.0.2")

	if _, err := m.AllocatePorts("a-web-1", ctr, fixed); err != nil {
		t.Fatal(err)
	}
	if _, err := m.AllocatePorts("b-web-1", ctr, fixed); err == nil || !strings.Contains(err.Error(), "published by berth for container a-web-1") {
		t.Fatalf("AllocatePorts of a port a running container has = %v, want it refused", err)
	}
	if changed, err := m.stopPorts("a-web-1"); err != nil || len(changed) != 1 {
		t.Fatalf("stopPorts = %v, %v; want the one binding", changed, err)
	}
	// An older berth rewriting the state keeps the mark: it is not in it.
	if err := m.update(func(*ipamState) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if ports, _ := m.ProjectPorts(map[string]bool{"a-web-1": true}); len(ports) != 0 {
		t.Errorf("ProjectPorts lists a stopped container's binding %v: the daemon would hold it", ports)
	}
	if _, err := m.AllocatePorts("b-web-1", ctr, fixed); err != nil {
		t.Fatalf("AllocatePorts of a stopped container's port: %v", err)
	}
	if _, err := m.resumePorts("a-web-1"); err == nil || !strings.Contains(err.Error(), "already published by berth for container b-web-1") {
		t.Errorf("resumePorts while b-web-1 publishes the port = %v, want the refusal naming it", err)
	}
	if err := m.ReleasePorts("b-web-1"); err != nil {
		t.Fatal(err)
	}

	taker, err := net.Listen("tcp4", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.resumePorts("a-web-1"); err == nil || !strings.Contains(err.Error(), "is already in use on the host") {
		t.Errorf("resumePorts while a socket has the port = %v, want the host's refusal", err)
	}
	taker.Close()
	if changed, err := m.resumePorts("a-web-1"); err != nil || len(changed) != 1 {
		t.Fatalf("resumePorts of a free port = %v, %v", changed, err)
	}
	if ports, _ := m.ProjectPorts(map[string]bool{"a-web-1": true}); len(ports) != 1 {
		t.Errorf("ProjectPorts after the start = %v, want the binding held again", ports)
	}
	if changed, err := m.resumePorts("a-web-1"); err != nil || len(changed) != 0 {
		t.Errorf("resumePorts of a running container = %v, %v; want nothing to do", changed, err)
	}
}

// Removing a container's ports forgets that they were released, so that
// a new container of the same name holds its own.
func TestReleasePortsForgetsStopped(t *testing.T) {
	m := newTestIPAM(t)
	any80 := []compose.PortMapping{{HostIP: netip.MustParseAddr("127.0.0.1"), ContainerPort: 80, Protocol: "tcp"}}
	ctr := netip.MustParseAddr("10.89.0.2")
	if _, err := m.AllocatePorts("a-web-1", ctr, any80); err != nil {
		t.Fatal(err)
	}
	if _, err := m.stopPorts("a-web-1"); err != nil {
		t.Fatal(err)
	}
	if err := m.ReleasePorts("a-web-1"); err != nil {
		t.Fatal(err)
	}
	if stopped, err := m.readStopped(); err != nil || len(stopped) != 0 {
		t.Errorf("after ReleasePorts the released set is %v, %v; want empty", stopped, err)
	}
}
