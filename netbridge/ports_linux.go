package netbridge

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/berth/berth/compose"
)

// PortBinding is a published port as allocated: host side and container side.
type PortBinding struct {
	Container string `json:"container"`
	// HostIP is the host address; invalid means every address.
	HostIP        netip.Addr `json:"host_ip,omitzero"`
	HostPort      uint16     `json:"host_port"`
	Protocol      string     `json:"protocol"`
	ContainerAddr netip.Addr `json:"container_addr"`
	ContainerPort uint16     `json:"container_port"`
}

// String renders the binding as docker ps does: 0.0.0.0:8080->80/tcp.
func (b PortBinding) String() string {
	host := "0.0.0.0"
	if b.HostIP.IsValid() {
		host = b.HostIP.String()
	}
	return fmt.Sprintf("%s:%d->%d/%s", host, b.HostPort, b.ContainerPort, b.Protocol)
}

// overlaps reports whether two bindings would take the same host port.
func (b PortBinding) overlaps(o PortBinding) bool {
	return b.Protocol == o.Protocol && b.HostPort == o.HostPort &&
		(!b.HostIP.IsValid() || !o.HostIP.IsValid() || b.HostIP == o.HostIP)
}

// AllocatePorts picks the host ports of a container's published ports:
// the asked port, the first free one of a range, or a free one chosen by
// the kernel. A port is free when no other berth binding has it and no
// socket on the host is bound to it. Allocating again returns the same.
func (m *IPAM) AllocatePorts(container string, addr netip.Addr, mappings []compose.PortMapping) ([]PortBinding, error) {
	var out []PortBinding
	err := m.update(func(st *ipamState) error {
		stopped, err := m.readStopped()
		if err != nil {
			return err
		}
		var mine []PortBinding
		for _, b := range st.Ports {
			if b.Container == container {
				mine = append(mine, b)
			}
		}
		if len(mine) == len(mappings) && len(mine) > 0 {
			out = mine
			return errUnchanged
		}
		taken := func(b PortBinding) *PortBinding {
			for i := range st.Ports {
				// A stopped container's port is free, as in Docker:
				// its start checks it is still (HoldPorts).
				if st.Ports[i].Container != container && !stopped[st.Ports[i].Container] && st.Ports[i].overlaps(b) {
					return &st.Ports[i]
				}
			}
			for i := range out {
				if out[i].overlaps(b) {
					return &out[i]
				}
			}
			return nil
		}
		for _, pm := range mappings {
			b := PortBinding{Container: container, HostIP: pm.HostIP, Protocol: pm.Protocol, ContainerAddr: addr, ContainerPort: pm.ContainerPort}
			switch {
			case pm.HostPortMin == 0:
				port, err := freeHostPort(pm.HostIP, pm.Protocol, func(p uint16) bool { b.HostPort = p; return taken(b) == nil })
				if err != nil {
					return fmt.Errorf("port %s: %w", pm, err)
				}
				b.HostPort = port
			default:
				var reasons []string
				for p := int(pm.HostPortMin); p <= int(pm.HostPortMax); p++ {
					b.HostPort = uint16(p)
					if other := taken(b); other != nil {
						reasons = append(reasons, fmt.Sprintf("%d is published by berth for container %s", p, other.Container))
						continue
					}
					if err := probe(pm.HostIP, b.HostPort, pm.Protocol); err != nil {
						reasons = append(reasons, fmt.Sprintf("%d is in use on the host%s", p, holderOf(b.HostPort, pm.Protocol)))
						continue
					}
					reasons = nil
					break
				}
				if reasons != nil {
					return fmt.Errorf("port %s cannot be published: %s", pm, strings.Join(reasons, "; "))
				}
			}
			out = append(out, b)
		}
		st.Ports = append(st.Ports, out...)
		if stopped[container] { // a mark an older berth left behind
			delete(stopped, container)
			return m.writeStopped(stopped)
		}
		return nil
	})
	return out, err
}

// CheckPorts reports the first fixed host port of a project's services that
// is taken by another project's container or by a socket on the host, so
// that up fails before any container starts. Ports the project's own
// containers hold are fine: they are reused.
func (m *IPAM) CheckPorts(project string, services []*compose.Service) error {
	st, err := m.read()
	if err != nil {
		return err
	}
	bindings := st.Ports
	stopped, err := m.readStopped()
	if err != nil {
		return err
	}
	own := func(container string) bool { return strings.HasPrefix(container, project+"-") }
	for _, s := range services {
		for _, pm := range s.Ports {
			if pm.HostPortMin == 0 || pm.HostPortMin != pm.HostPortMax {
				continue // chosen at start from what is free
			}
			want := PortBinding{HostIP: pm.HostIP, HostPort: pm.HostPortMin, Protocol: pm.Protocol}
			heldByUs := false
			for _, b := range bindings {
				if b.overlaps(want) && (own(b.Container) || !stopped[b.Container]) {
					if !own(b.Container) {
						return fmt.Errorf("service %q: port %s is already published by container %s: stop it or change the port", s.Name, pm, b.Container)
					}
					heldByUs = true
				}
			}
			if heldByUs {
				continue
			}
			if err := probe(pm.HostIP, pm.HostPortMin, pm.Protocol); err != nil {
				return fmt.Errorf("service %q: port %s is already in use on the host%s: free it or change the port", s.Name, pm, holderOf(pm.HostPortMin, pm.Protocol))
			}
		}
	}
	return nil
}

// ReleasePorts frees a container's host ports, and forgets that they were
// released (stopped). A container without any changes nothing.
func (m *IPAM) ReleasePorts(container string) error {
	return m.update(func(st *ipamState) error {
		changed, err := m.releasePorts(st, container)
		if err == nil && !changed {
			return errUnchanged
		}
		return err
	})
}

// releasePorts is ReleasePorts on st, under the state's lock (update); it
// reports whether st changed. The released set is written at once.
func (m *IPAM) releasePorts(st *ipamState, container string) (bool, error) {
	kept := st.Ports[:0]
	for _, b := range st.Ports {
		if b.Container != container {
			kept = append(kept, b)
		}
	}
	changed := len(kept) != len(st.Ports)
	st.Ports = kept
	stopped, err := m.readStopped()
	if err != nil || !stopped[container] {
		return changed, err
	}
	delete(stopped, container)
	return changed, m.writeStopped(stopped)
}

// Ports returns the port bindings of a container.
func (m *IPAM) Ports(container string) ([]PortBinding, error) {
	st, err := m.read()
	if err != nil {
		return nil, err
	}
	var out []PortBinding
	for _, b := range st.Ports {
		if b.Container == container {
			out = append(out, b)
		}
	}
	return out, nil
}

// probe checks that a host port is free by binding it for a moment.
func probe(ip netip.Addr, port uint16, proto string) error {
	host := ""
	if ip.IsValid() {
		host = ip.String()
	}
	addr := net.JoinHostPort(host, strconv.Itoa(int(port)))
	// With SO_REUSEPORT, as portHolder binds: a port the project's daemon
	// holds for a container being recreated is free to berth.
	if proto == "udp" {
		c, err := reusePort.ListenPacket(context.Background(), "udp4", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
	l, err := reusePort.Listen(context.Background(), "tcp4", addr)
	if err != nil {
		return err
	}
	return l.Close()
}

// ProjectPorts are the host port bindings of the containers given.
func (m *IPAM) ProjectPorts(containers map[string]bool) ([]PortBinding, error) {
	st, err := m.read()
	if err != nil {
		return nil, err
	}
	stopped, err := m.readStopped()
	if err != nil {
		return nil, err
	}
	var out []PortBinding
	for _, b := range st.Ports {
		if containers[b.Container] && !stopped[b.Container] {
			out = append(out, b)
		}
	}
	return out, nil
}

// freeHostPort asks the kernel for a free port (binding port 0) until ok
// accepts one.
func freeHostPort(ip netip.Addr, proto string, ok func(uint16) bool) (uint16, error) {
	host := ""
	if ip.IsValid() {
		host = ip.String()
	}
	for i := 0; i < 20; i++ {
		var port int
		if proto == "udp" {
			c, err := net.ListenPacket("udp4", net.JoinHostPort(host, "0"))
			if err != nil {
				return 0, err
			}
			port = c.LocalAddr().(*net.UDPAddr).Port
			c.Close()
		} else {
			l, err := net.Listen("tcp4", net.JoinHostPort(host, "0"))
			if err != nil {
				return 0, err
			}
			port = l.Addr().(*net.TCPAddr).Port
			l.Close()
		}
		if ok(uint16(port)) {
			return uint16(port), nil
		}
	}
	return 0, errors.New("no free host port found")
}

// holderOf names the process that has a socket bound to the port, when
// /proc tells: " (by nginx, pid 812)". Best effort; "" when unknown.
func holderOf(port uint16, proto string) string {
	inodes := map[string]bool{}
	for _, file := range []string{"/proc/net/" + proto, "/proc/net/" + proto + "6"} {
		f, err := os.Open(file)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 {
				continue
			}
			_, hexPort, _ := strings.Cut(fields[1], ":")
			if p, err := strconv.ParseUint(hexPort, 16, 16); err == nil && uint16(p) == port {
				inodes[fields[9]] = true
			}
		}
		f.Close()
	}
	if len(inodes) == 0 {
		return ""
	}
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		fds, _ := os.ReadDir(filepath.Join("/proc", p.Name(), "fd"))
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join("/proc", p.Name(), "fd", fd.Name()))
			if err != nil || !strings.HasPrefix(link, "socket:[") {
				continue
			}
			if inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] {
				comm, _ := os.ReadFile(filepath.Join("/proc", p.Name(), "comm"))
				return fmt.Sprintf(" (by %s, pid %d)", strings.TrimSpace(string(comm)), pid)
			}
		}
	}
	return ""
}
