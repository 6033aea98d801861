package compose

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// ParseScale parses SERVICE=N arguments (up --scale, berth scale) into the
// number of replicas by service; a later argument for the same service
// wins, as docker compose's flag does. flag names the argument in errors.
func ParseScale(flag string, args []string) (map[string]int, error) {
	out := map[string]int{}
	for _, arg := range args {
		name, val, ok := strings.Cut(arg, "=")
		if !ok || name == "" || val == "" {
			return nil, fmt.Errorf("invalid %s %q: it should be SERVICE=NUM", flag, arg)
		}
		n, err := strconv.Atoi(val)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("invalid %s %q: %q is not a number of replicas (0 or more)", flag, arg, val)
		}
		out[name] = n
	}
	return out, nil
}

// SetScale gives the named services that many replicas, overriding scale:
// and deploy.replicas of the file. A service that is not in the project, or
// that cannot run that many replicas (see CheckReplicas), fails it, and
// then no service is changed.
func (p *Project) SetScale(replicas map[string]int) error {
	names := make([]string, 0, len(replicas))
	for name := range replicas {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		s := p.Service(name)
		if s == nil {
			for _, d := range p.DisabledServices {
				if d == name {
					return fmt.Errorf("cannot scale service %q: it is not enabled, its profile is not active (use --profile)", name)
				}
			}
			return fmt.Errorf("cannot scale service %q: no such service (services: %s)", name, strings.Join(p.ServiceNames(), ", "))
		}
		if err := s.CheckReplicas(replicas[name]); err != nil {
			return err
		}
	}
	for _, name := range names {
		p.Service(name).Replicas = replicas[name]
	}
	return nil
}

// CheckReplicas reports why the service cannot run n replicas: what only
// one container can have, a container_name or a fixed host port, or fewer
// ports in a published range than replicas. Docker compose lets the second
// container fail when it starts ("port is already allocated"); berth says
// so before any container is touched.
func (s *Service) CheckReplicas(n int) error {
	if n < 0 {
		return fmt.Errorf("service %q: scale must not be negative (got %d)", s.Name, n)
	}
	if n <= 1 {
		return nil
	}
	if s.ContainerName != "" {
		return fmt.Errorf("service %q cannot be scaled to %d: its container_name %q must be unique; remove container_name or keep the scale at 1", s.Name, n, s.ContainerName)
	}
	for _, pm := range s.Ports {
		if pm.HostPortMin == 0 {
			continue // each replica gets a free port
		}
		if width := int(pm.HostPortMax) - int(pm.HostPortMin) + 1; width < n {
			what := fmt.Sprintf("host port %d", pm.HostPortMin)
			if width > 1 {
				what = fmt.Sprintf("the %d host ports %d-%d", width, pm.HostPortMin, pm.HostPortMax)
			}
			return fmt.Errorf("service %q cannot be scaled to %d: port %s publishes %s, which only %d of its containers can hold; publish a range of %d host ports, or only the container port (%d), or scale it to %d", s.Name, n, pm, what, width, n, pm.ContainerPort, width)
		}
	}
	return nil
}
