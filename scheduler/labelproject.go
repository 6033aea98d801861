package scheduler

import (
	"sort"

	"github.com/berth/berth/compose"
)

// ProjectFromContainers rebuilds what the labels of a project's containers
// tell of it, for the commands that work on a project by its name alone
// (-p NAME with no compose file, or an invalid one), as docker compose's
// do: one service per service label, with the image its containers run,
// as many replicas as it has containers, and the depends_on they recorded
// (dependencies on services without containers left out). One-off
// containers are left out, as are the networks, ports and volumes, which
// the labels do not tell: such a project can stop, start and remove what
// exists, never create.
func ProjectFromContainers(name string, cs []Container) *compose.Project {
	p := &compose.Project{Name: name, FromLabels: true}
	byName := map[string]*compose.Service{}
	for _, c := range cs {
		svc := c.Labels.Service()
		if svc == "" || c.Labels.OneOff() {
			continue
		}
		s := byName[svc]
		if s == nil {
			s = &compose.Service{Name: svc, Project: name, Image: c.Image, StopSignal: c.Labels.StopSignal()}
			byName[svc] = s
		}
		s.Replicas++
		// The labels of the newest container are the truest.
		if deps := c.Labels.DependsOn(); deps != nil && s.DependsOn == nil {
			s.DependsOn = deps
		}
	}
	for _, s := range byName {
		for dep, d := range s.DependsOn {
			if byName[dep] == nil {
				delete(s.DependsOn, dep)
				continue
			}
			d.Required = false
			s.DependsOn[dep] = d
		}
		p.Services = append(p.Services, s)
	}
	sort.Slice(p.Services, func(i, j int) bool { return p.Services[i].Name < p.Services[j].Name })
	return p
}

// ProjectWithOneOffs is ProjectFromContainers with, besides, the services
// that only one-off containers (run -d) have, with no replicas: what exec
// looks in, as docker compose's exec picks a service's one-off container
// when it has no other. The other commands keep one-offs out.
func ProjectWithOneOffs(name string, cs []Container) *compose.Project {
	p := ProjectFromContainers(name, cs)
	for _, c := range cs {
		svc := c.Labels.Service()
		if svc == "" || !c.Labels.OneOff() || p.Service(svc) != nil {
			continue
		}
		p.Services = append(p.Services, &compose.Service{Name: svc, Project: name, Image: c.Image, StopSignal: c.Labels.StopSignal()})
	}
	sort.Slice(p.Services, func(i, j int) bool { return p.Services[i].Name < p.Services[j].Name })
	return p
}

// OwnImage reports whether the image of a service rebuilt from labels is
// the one berth names after the project and service ("<project>-<service>",
// given no image: key): the image down --rmi local removes.
func OwnImage(p *compose.Project, s *compose.Service) bool {
	return s.Image == p.Name+"-"+s.Name
}
