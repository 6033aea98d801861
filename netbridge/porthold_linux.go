package netbridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// portKey is one host socket: protocol, address (invalid: every one) and
// port.
type portKey struct {
	proto string
	ip    netip.Addr
	port  uint16
}

func (k portKey) String() string {
	host := "0.0.0.0"
	if k.ip.IsValid() {
		host = k.ip.String()
	}
	return net.JoinHostPort(host, strconv.Itoa(int(k.port))) + "/" + k.proto
}

// portHolder holds a socket bound to each published host port, as Docker's
// proxy does, so that a program that binds the port later gets "address
// in use" instead of silently losing its traffic to the DNAT rule. Its
// sockets take no traffic (the rule sends it to the container before any
// socket sees it). They carry SO_REUSEPORT, which probe sets too: berth's
// own check of a port it holds for its project passes, while a program
// without the option is refused. Used by one goroutine (the project's
// DNS daemon).
type portHolder struct {
	held map[portKey]io.Closer
}

// sync holds the sockets of bindings and closes those of the ports no
// longer among them; the errors are of ports it could not bind (taken by
// another program meanwhile), tried again at the next sync.
func (h *portHolder) sync(bindings []PortBinding) error {
	if h.held == nil {
		h.held = map[portKey]io.Closer{}
	}
	want := map[portKey]bool{}
	for _, b := range bindings {
		want[portKey{b.Protocol, b.HostIP, b.HostPort}] = true
	}
	for k, c := range h.held {
		if !want[k] {
			c.Close()
			delete(h.held, k)
		}
	}
	var errs []error
	for k := range want {
		if _, ok := h.held[k]; ok {
			continue
		}
		c, err := holdPort(k.ip, k.port, k.proto)
		if err != nil {
			errs = append(errs, fmt.Errorf("hold published port %s: %w", k, err))
			continue
		}
		h.held[k] = c
	}
	return errors.Join(errs...)
}

// closeAll releases every port.
func (h *portHolder) closeAll() {
	for k, c := range h.held {
		c.Close()
		delete(h.held, k)
	}
}

// reusePort is a ListenConfig whose sockets carry SO_REUSEPORT.
var reusePort = net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	}); err != nil {
		return err
	}
	return serr
}}

// holdPort binds (and for TCP listens on) the host port with SO_REUSEPORT.
func holdPort(ip netip.Addr, port uint16, proto string) (io.Closer, error) {
	host := ""
	if ip.IsValid() {
		host = ip.String()
	}
	addr := net.JoinHostPort(host, strconv.Itoa(int(port)))
	if proto == "udp" {
		return reusePort.ListenPacket(context.Background(), "udp4", addr)
	}
	return reusePort.Listen(context.Background(), "tcp4", addr)
}
