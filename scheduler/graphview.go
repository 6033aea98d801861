package scheduler

import (
	"slices"
	"sort"
	"strings"

	"github.com/berth/berth/compose"
)

// GraphView is a project's dependency graph as `berth graph` shows it: the
// same edges the walk of up and down follows (depends_on, network_mode
// "service:X", volumes_from "X"), with what each depends_on entry says,
// and the networks and named volumes each service uses. Its JSON form is
// berth's documented, stable schema (README, "The dependency graph"): fields are
// only ever added.
type GraphView struct {
	// Project is the project's name.
	Project string `json:"project"`
	// Services are the enabled services, sorted by name.
	Services []GraphService `json:"services"`
	// Networks and Volumes are the project's networks and named volumes
	// the services use, sorted by key.
	Networks []GraphResource `json:"networks"`
	Volumes  []GraphResource `json:"volumes"`
	// Cycle is a dependency cycle, as a path that starts and ends with the
	// same service, as up reports it; nil when there is none.
	Cycle []string `json:"cycle,omitempty"`
}

// GraphService is one service of a GraphView.
type GraphService struct {
	Name string `json:"name"`
	// DependsOn are the services this one waits for, sorted by name.
	DependsOn []GraphEdge `json:"depends_on"`
	// NetworkMode is network_mode as written, when set.
	NetworkMode string `json:"network_mode,omitempty"`
	// Networks and Volumes are the keys of the networks the service joins
	// and of the named volumes it mounts, sorted.
	Networks []string `json:"networks"`
	Volumes  []string `json:"volumes"`
}

// EdgeKind is what makes a service wait for another.
type EdgeKind string

const (
	// EdgeDependsOn is a depends_on entry.
	EdgeDependsOn EdgeKind = "depends_on"
	// EdgeNetworkMode is network_mode: "service:X".
	EdgeNetworkMode EdgeKind = "network_mode"
	// EdgeVolumesFrom is a volumes_from entry naming a service.
	EdgeVolumesFrom EdgeKind = "volumes_from"
)

// GraphEdge is one dependency of a service.
type GraphEdge struct {
	// Service is the service depended on.
	Service string `json:"service"`
	// Via are what make the dependency, in EdgeKind order: compose adds a
	// depends_on entry for network_mode and volumes_from itself, so those
	// come with depends_on.
	Via []EdgeKind `json:"via"`
	// Condition is the depends_on condition; network_mode and
	// volumes_from alone need the service started.
	Condition compose.DependencyCondition `json:"condition"`
	Required  bool                        `json:"required"`
	Restart   bool                        `json:"restart"`
	// Enabled is false for a dependency on a service the active profiles
	// do not enable (compose allows it when required is false): up starts
	// without it.
	Enabled bool `json:"enabled"`
	// InCycle marks the edges of Cycle.
	InCycle bool `json:"in_cycle,omitempty"`
}

// GraphResource is a network or named volume of a GraphView.
type GraphResource struct {
	// Key is the key in the file; Name the real name.
	Key      string `json:"key"`
	Name     string `json:"name"`
	External bool   `json:"external"`
}

// NewGraphView builds the graph view of p's enabled services. A dependency
// cycle is not an error here, so that it can be shown: it is in Cycle, and
// Err reports it. A reference to a service that is not defined, or that the
// active profiles do not enable while it is required, is an error, the one
// up gives.
func NewGraphView(p *compose.Project) (*GraphView, error) {
	g, err := newGraph(p)
	if err != nil {
		return nil, err
	}
	v := &GraphView{
		Project:  p.Name,
		Services: []GraphService{},
		Networks: []GraphResource{},
		Volumes:  []GraphResource{},
		Cycle:    g.findCycle(),
	}
	inCycle := map[[2]string]bool{}
	for i := 0; i+1 < len(v.Cycle); i++ {
		inCycle[[2]string{v.Cycle[i], v.Cycle[i+1]}] = true
	}
	enabled := map[string]bool{}
	for _, s := range p.Services {
		enabled[s.Name] = true
	}
	volumeKey := map[string]string{}
	for key, vol := range p.Volumes {
		volumeKey[vol.Name] = key
	}
	usedNetworks, usedVolumes := map[string]bool{}, map[string]bool{}
	for _, s := range p.Services {
		gs := GraphService{Name: s.Name, DependsOn: edgesOf(s, enabled), NetworkMode: s.NetworkMode, Networks: []string{}, Volumes: []string{}}
		for i := range gs.DependsOn {
			gs.DependsOn[i].InCycle = inCycle[[2]string{s.Name, gs.DependsOn[i].Service}]
		}
		for _, n := range s.Networks {
			if !contains(gs.Networks, n.Key) {
				gs.Networks = append(gs.Networks, n.Key)
				usedNetworks[n.Key] = true
			}
		}
		for _, m := range s.Mounts {
			if m.Type != compose.MountVolume || m.Anonymous {
				continue
			}
			key, ok := volumeKey[m.Source]
			if !ok {
				key = m.Source
			}
			if !contains(gs.Volumes, key) {
				gs.Volumes = append(gs.Volumes, key)
				usedVolumes[key] = true
			}
		}
		sort.Strings(gs.Networks)
		sort.Strings(gs.Volumes)
		v.Services = append(v.Services, gs)
	}
	sort.Slice(v.Services, func(i, j int) bool { return v.Services[i].Name < v.Services[j].Name })
	for key, n := range p.Networks {
		if usedNetworks[key] || p.AllResources {
			v.Networks = append(v.Networks, GraphResource{Key: key, Name: n.Name, External: n.External})
		}
	}
	for key, vol := range p.Volumes {
		if usedVolumes[key] || p.AllResources {
			v.Volumes = append(v.Volumes, GraphResource{Key: key, Name: vol.Name, External: vol.External})
		}
	}
	for _, rs := range [][]GraphResource{v.Networks, v.Volumes} {
		sort.Slice(rs, func(i, j int) bool { return rs[i].Key < rs[j].Key })
	}
	return v, nil
}

// edgesOf are the dependencies of s, as serviceRefs finds them, one edge
// for each service depended on, sorted by name.
func edgesOf(s *compose.Service, enabled map[string]bool) []GraphEdge {
	edges := []GraphEdge{}
	for name, d := range s.DependsOn {
		edges = append(edges, GraphEdge{Service: name, Via: []EdgeKind{EdgeDependsOn}, Condition: d.Condition, Required: d.Required, Restart: d.Restart, Enabled: enabled[name]})
	}
	add := func(name string, kind EdgeKind) {
		for i := range edges {
			if edges[i].Service == name {
				if !slices.Contains(edges[i].Via, kind) {
					edges[i].Via = append(edges[i].Via, kind)
				}
				return
			}
		}
		edges = append(edges, GraphEdge{Service: name, Via: []EdgeKind{kind}, Condition: compose.ConditionStarted, Required: true, Enabled: enabled[name]})
	}
	if name, ok := strings.CutPrefix(s.NetworkMode, "service:"); ok {
		add(name, EdgeNetworkMode)
	}
	for _, vf := range s.VolumesFrom {
		if strings.HasPrefix(vf, "container:") {
			continue
		}
		name, _, _ := strings.Cut(vf, ":")
		add(name, EdgeVolumesFrom)
	}
	sort.Slice(edges, func(i, j int) bool { return edges[i].Service < edges[j].Service })
	return edges
}

// Err is the error of a cycle in the graph, as up reports it, or nil.
func (v *GraphView) Err() error {
	if v.Cycle == nil {
		return nil
	}
	return cycleError(v.Cycle)
}

// service returns the service called name, or nil.
func (v *GraphView) service(name string) *GraphService {
	i := sort.Search(len(v.Services), func(i int) bool { return v.Services[i].Name >= name })
	if i < len(v.Services) && v.Services[i].Name == name {
		return &v.Services[i]
	}
	return nil
}

// Roots are the services no other service depends on, sorted: where the
// text tree starts. In a graph made only of cycles there are none.
func (v *GraphView) Roots() []string {
	dependedOn := map[string]bool{}
	for _, s := range v.Services {
		for _, e := range s.DependsOn {
			dependedOn[e.Service] = true
		}
	}
	roots := []string{}
	for _, s := range v.Services {
		if !dependedOn[s.Name] {
			roots = append(roots, s.Name)
		}
	}
	return roots
}
