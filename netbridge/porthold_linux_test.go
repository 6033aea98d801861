package netbridge

import (
	"net"
	"net/netip"
	"strconv"
	"testing"
)

// TestPortHolder: a held port refuses another program's bind (TCP and
// UDP), berth's own probe of it passes, and a released port is free.
func TestPortHolder(t *testing.T) {
	free := func(network string) uint16 {
		if network == "udp4" {
			c, err := net.ListenPacket("udp4", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			return uint16(c.LocalAddr().(*net.UDPAddr).Port)
		}
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return uint16(l.Addr().(*net.TCPAddr).Port)
	}
	lo := netip.MustParseAddr("127.0.0.1")
	tcpPort, udpPort := free("tcp4"), free("udp4")
	bindings := []PortBinding{
		{Container: "demo-web-1", HostIP: lo, HostPort: tcpPort, Protocol: "tcp"},
		{Container: "demo-web-1", HostIP: lo, HostPort: udpPort, Protocol: "udp"},
	}
	var h portHolder
	if err := h.sync(bindings); err != nil {
		t.Fatalf("sync: %v", err)
	}
	defer h.closeAll()
	tcpAddr := net.JoinHostPort("127.0.0.1", itoa(tcpPort))
	udpAddr := net.JoinHostPort("127.0.0.1", itoa(udpPort))
	if l, err := net.Listen("tcp4", tcpAddr); err == nil {
		l.Close()
		t.Errorf("a program could bind held port %s/tcp", tcpAddr)
	}
	if c, err := net.ListenPacket("udp4", udpAddr); err == nil {
		c.Close()
		t.Errorf("a program could bind held port %s/udp", udpAddr)
	}
	if err := probe(lo, tcpPort, "tcp"); err != nil {
		t.Errorf("berth's probe of a port it holds: %v", err)
	}
	if err := h.sync(bindings[1:]); err != nil { // the TCP one is unpublished
		t.Fatalf("sync: %v", err)
	}
	l, err := net.Listen("tcp4", tcpAddr)
	if err != nil {
		t.Fatalf("released port %s/tcp is still taken: %v", tcpAddr, err)
	}
	// A port taken by another program is reported, and held once free.
	if err := h.sync(bindings); err == nil {
		t.Errorf("sync held a port another program listens on")
	}
	l.Close()
	if err := h.sync(bindings); err != nil {
		t.Errorf("sync once the port is free: %v", err)
	}
	h.closeAll()
	if c, err := net.ListenPacket("udp4", udpAddr); err != nil {
		t.Errorf("after closeAll, %s/udp is still taken: %v", udpAddr, err)
	} else {
		c.Close()
	}
}

func itoa(p uint16) string { return strconv.Itoa(int(p)) }
