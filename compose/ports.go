package compose

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// PortMapping is one published port of a service.
type PortMapping struct {
	// HostIP is the host address to publish on; invalid means all of them.
	HostIP netip.Addr
	// HostPortMin..HostPortMax is the host port range to choose from; both
	// 0 means any free port (`ports: ["80"]`).
	HostPortMin, HostPortMax uint16
	ContainerPort            uint16
	// Protocol is "tcp" or "udp".
	Protocol string
}

// String renders the mapping as the short syntax.
func (m PortMapping) String() string {
	host := ""
	if m.HostIP.IsValid() {
		host = m.HostIP.String() + ":"
	}
	switch {
	case m.HostPortMin == 0 && host != "":
		host += ":" // an address with any free port: docker's IP::PORT
	case m.HostPortMin == 0:
	case m.HostPortMin == m.HostPortMax:
		host += strconv.Itoa(int(m.HostPortMin)) + ":"
	default:
		host += fmt.Sprintf("%d-%d:", m.HostPortMin, m.HostPortMax)
	}
	return fmt.Sprintf("%s%d/%s", host, m.ContainerPort, m.Protocol)
}

// portsOf converts a service's ports, refusing what berth cannot publish.
func portsOf(sc types.ServiceConfig) ([]PortMapping, error) {
	var out []PortMapping
	for _, p := range sc.Ports {
		m := PortMapping{Protocol: strings.ToLower(p.Protocol)}
		if m.Protocol == "" {
			m.Protocol = "tcp"
		}
		if m.Protocol != "tcp" && m.Protocol != "udp" {
			return nil, fmt.Errorf("port %d/%s: only tcp and udp ports can be published", p.Target, p.Protocol)
		}
		if p.Mode == "host" {
			return nil, fmt.Errorf("port %d: mode host is a swarm setting berth does not support; remove mode", p.Target)
		}
		if p.Target == 0 || p.Target > 65535 {
			return nil, fmt.Errorf("port %d: not a port number", p.Target)
		}
		m.ContainerPort = uint16(p.Target)
		if p.HostIP != "" {
			a, err := netip.ParseAddr(p.HostIP)
			if err != nil {
				return nil, fmt.Errorf("port %d: host_ip %q: %w", p.Target, p.HostIP, err)
			}
			if a.Is6() && !a.Is4In6() {
				if a.IsUnspecified() {
					a = netip.Addr{} // "::" means every address, and berth's are IPv4
				} else {
					return nil, fmt.Errorf("port %d: host_ip %s: IPv6 addresses are not supported yet", p.Target, a)
				}
			} else if a.IsUnspecified() {
				a = netip.Addr{}
			}
			m.HostIP = a.Unmap()
		}
		if p.Published != "" {
			lo, hi, ok := strings.Cut(p.Published, "-")
			if !ok {
				hi = lo
			}
			min, err1 := strconv.ParseUint(lo, 10, 16)
			max, err2 := strconv.ParseUint(hi, 10, 16)
			if err1 != nil || err2 != nil || min == 0 || max < min {
				return nil, fmt.Errorf("port %d: published %q is not a port or a port range", p.Target, p.Published)
			}
			m.HostPortMin, m.HostPortMax = uint16(min), uint16(max)
		}
		out = append(out, m)
	}
	return out, nil
}

// ParsePorts reads ports written as in ports: ("8080:80", "127.0.0.1:53:53/udp"),
// as run -p gives them.
func ParsePorts(specs []string) ([]PortMapping, error) {
	var sc types.ServiceConfig
	for _, s := range specs {
		ps, err := types.ParsePortConfig(s)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", s, err)
		}
		sc.Ports = append(sc.Ports, ps...)
	}
	return portsOf(sc)
}
