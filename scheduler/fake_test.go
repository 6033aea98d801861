package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/berth/berth/compose"
)

// fakeRuntime is an in-memory Runtime that records what it is asked to do.
type fakeRuntime struct {
	mu         sync.Mutex // guards everything below
	containers map[string]Container
	calls      []string
	// failOn makes the named call fail: "start web-1", "image web", ...
	failOn map[string]error
	// gate, when set, is waited on by Start (to hold ops in flight).
	gate            chan struct{}
	running, maxRun int
	// images are the IDs of the images present, by name.
	images map[string]string
	// subs get an event whenever a container changes.
	subs []chan RuntimeEvent
	// called is signalled after every recorded call.
	called chan struct{}
	// listings counts the calls of Containers.
	listings int
	// volumes are the named volumes there are; Create makes those its
	// container mounts, as the real runtime does, noting in made those it
	// made for ReleaseVolumes.
	volumes, made map[string]bool
	// preStops are the pre_stop hooks Stop was given (Container.PreStop),
	// by container name.
	preStops map[string][]compose.Hook
	// postStarts are the post_start hooks Start was given
	// (Container.PostStart), by container name.
	postStarts map[string][]compose.Hook
	// gateStop, when set, holds the Stop of a container until its
	// channel is closed.
	gateStop map[string]chan struct{}
}

func (f *fakeRuntime) Events(ctx context.Context) (<-chan RuntimeEvent, <-chan error) {
	ch := make(chan RuntimeEvent, 100)
	f.mu.Lock()
	f.subs = append(f.subs, ch)
	f.mu.Unlock()
	return ch, make(chan error)
}

// notify tells the subscribers that a container changed; f.mu is held.
func (f *fakeRuntime) notify(id string) {
	for _, ch := range f.subs {
		select {
		case ch <- RuntimeEvent{Kind: EventUpdated, Container: id}:
		default:
		}
	}
}

// set changes a container (its state, its labels) as the supervisor or
// the container itself would, and tells the waiters.
func (f *fakeRuntime) set(id string, change func(c *Container)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.containers[id]
	l := compose.Labels{}
	for k, v := range c.Labels {
		l[k] = v
	}
	c.Labels = l
	change(&c)
	f.containers[id] = c
	f.notify(id)
}

func newFakeRuntime() *fakeRuntime {
	return &fakeRuntime{containers: map[string]Container{}, failOn: map[string]error{}, images: map[string]string{}, called: make(chan struct{}, 1)}
}

func (f *fakeRuntime) record(call string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	select {
	case f.called <- struct{}{}:
	default:
	}
	return f.failOn[call]
}

func (f *fakeRuntime) Containers(_ context.Context, project string) ([]Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.listings++
	var out []Container
	for _, c := range f.containers {
		if project == "" || c.Labels.Project() == project {
			l := compose.Labels{}
			for k, v := range c.Labels {
				l[k] = v
			}
			c.Labels = l
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (f *fakeRuntime) EnsureImage(_ context.Context, s *compose.Service) error {
	return f.record("image " + s.Name)
}

func (f *fakeRuntime) ImageID(_ context.Context, image string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.images[image], nil
}

func (f *fakeRuntime) Create(_ context.Context, req CreateRequest) (Container, error) {
	// The named volumes are made first, and stay when the creation fails.
	var volumes []string
	f.mu.Lock()
	for _, m := range req.Service.Mounts {
		if m.Type == compose.MountVolume {
			if f.volumes == nil {
				f.volumes = map[string]bool{}
			}
			if !f.volumes[m.Source] {
				if f.made == nil {
					f.made = map[string]bool{}
				}
				f.made[m.Source] = true
			}
			f.volumes[m.Source] = true
			volumes = append(volumes, m.Source)
		}
	}
	f.mu.Unlock()
	if err := f.record("create " + req.Name + " netns=" + req.NetNS + dnsSuffix(req.DNS)); err != nil {
		return Container{}, err
	}
	c := Container{ID: req.Name, Name: req.Name, State: StateCreated, Volumes: volumes,
		Labels: compose.Labels(compose.ContainerLabels(req.Project, req.Service, req.Number))}
	f.mu.Lock()
	if id := f.images[req.Service.ImageName()]; id != "" {
		c.Labels[compose.LabelImageID] = id
	}
	if hc := EffectiveHealth(req.Service.Healthcheck, nil); hc != nil {
		b, _ := json.Marshal(hc)
		c.Labels[compose.LabelHealthcheck] = string(b)
	}
	f.mu.Unlock()
	if req.NetNS != "" {
		c.Labels[compose.LabelNetNSPath] = req.NetNS
	}
	if req.OneOff {
		c.Labels[compose.LabelOneOff] = "True"
	}
	f.mu.Lock()
	f.containers[c.ID] = c
	f.mu.Unlock()
	return c, nil
}

func (f *fakeRuntime) Volumes(context.Context) ([]Volume, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Volume
	for name := range f.volumes {
		out = append(out, Volume{Name: name, Driver: "local"})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// ReleaseVolumes removes the volumes it made that no container mounts.
func (f *fakeRuntime) ReleaseVolumes(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for name := range f.made {
		used := false
		for _, c := range f.containers {
			used = used || slices.Contains(c.Volumes, name)
		}
		if !used {
			delete(f.volumes, name)
			delete(f.made, name)
		}
	}
	return nil
}

func (f *fakeRuntime) Start(_ context.Context, c Container) error {
	f.mu.Lock()
	f.running++
	f.maxRun = max(f.maxRun, f.running)
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		<-gate
	}
	f.mu.Lock()
	f.running--
	f.mu.Unlock()
	f.mu.Lock()
	if f.postStarts == nil {
		f.postStarts = map[string][]compose.Hook{}
	}
	f.postStarts[c.Name] = c.PostStart
	fail := f.failOn["start "+c.Name]
	if fail == nil {
		c = f.containers[c.ID]
		c.State = StateRunning
		f.containers[c.ID] = c
		f.notify(c.ID)
	}
	f.mu.Unlock()
	// Recorded once started, so that a test seeing the call may change
	// the container without the start undoing it.
	return f.record("start " + c.Name)
}

func (f *fakeRuntime) Prepare(_ context.Context, c Container) error {
	return f.record("prepare " + c.Name)
}

func (f *fakeRuntime) Stop(_ context.Context, c Container, timeout time.Duration) error {
	if err := f.record(fmt.Sprintf("stop %s %s", c.Name, timeout)); err != nil {
		return err
	}
	f.mu.Lock()
	gate := f.gateStop[c.Name]
	f.mu.Unlock()
	if gate != nil {
		<-gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.preStops == nil {
		f.preStops = map[string][]compose.Hook{}
	}
	f.preStops[c.Name] = c.PreStop
	c = f.containers[c.ID]
	c.State = StateExited
	f.containers[c.ID] = c
	return nil
}

func (f *fakeRuntime) Kill(_ context.Context, c Container, signal string) error {
	if err := f.record("kill " + c.Name + " " + signal); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c = f.containers[c.ID]
	c.State = StateExited
	f.containers[c.ID] = c
	f.notify(c.ID)
	return nil
}

func (f *fakeRuntime) Pause(_ context.Context, c Container, paused bool) error {
	if err := f.record(fmt.Sprintf("pause %s %v", c.Name, paused)); err != nil {
		return err
	}
	f.set(c.ID, func(c *Container) {
		c.State = StateRunning
		if paused {
			c.State = StatePaused
		}
	})
	return nil
}

func (f *fakeRuntime) Remove(_ context.Context, c Container) error {
	if err := f.record("remove " + c.Name); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.containers, c.ID)
	return nil
}

func (f *fakeRuntime) RemoveVolume(_ context.Context, name string) error {
	if err := f.record("remove-volume " + name); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.volumes, name)
	return nil
}

// add puts an existing container of service s, replica n, in state st with hash.
func (f *fakeRuntime) add(p *compose.Project, s string, n int, st State, hash string) {
	svc := p.Service(s)
	if svc == nil {
		svc = &compose.Service{Name: s, Project: p.Name, Replicas: 1}
	}
	name := compose.ContainerName(p.Name, s, n)
	l := compose.Labels(compose.ContainerLabels(p, svc, n))
	l[compose.LabelConfigHash] = hash
	l[compose.LabelNetNSPath] = "/run/netns/berth-" + name
	f.containers[name] = Container{ID: name, Name: name, State: st, Labels: l}
}

func (f *fakeRuntime) callList() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.calls, "\n")
}

// fakeNetwork records namespaces, networks and connections.
type fakeNetwork struct {
	mu        sync.Mutex // guards everything below
	created   map[string]bool
	networks  map[string]bool
	connected map[string]bool
	// failConnect makes Connect fail for this container.
	failConnect string
	// lost are namespaces that are gone.
	lost map[string]bool
}

func (n *fakeNetwork) EnsureNetworks(_ context.Context, p *compose.Project) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.networks == nil {
		n.networks = map[string]bool{}
	}
	n.networks[p.Name] = true
	return nil
}

func (n *fakeNetwork) Connect(_ context.Context, p *compose.Project, s *compose.Service, container, _ string) ([]string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.networks[p.Name] {
		return nil, fmt.Errorf("connect %s: networks of %s not created first", container, p.Name)
	}
	if container == n.failConnect {
		return nil, fmt.Errorf("connect %s: no free address", container)
	}
	if n.connected == nil {
		n.connected = map[string]bool{}
	}
	n.connected[container] = true
	if len(s.Networks) == 0 {
		return nil, nil // network_mode none: no network, no nameserver
	}
	return []string{"10.89.0.1"}, nil
}

func (n *fakeNetwork) Disconnect(_ context.Context, _, container string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.connected, container)
	return nil
}

func (n *fakeNetwork) RemoveNetworks(_ context.Context, project string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.networks, project)
	return nil
}

func (n *fakeNetwork) connections() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for k := range n.connected {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func (n *fakeNetwork) CreateNamespace(_ context.Context, _, name string) (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.created == nil {
		n.created = map[string]bool{}
	}
	n.created[name] = true
	delete(n.lost, name)
	return "/run/netns/berth-" + name, nil
}

// NamespaceExists: namespaces the test lists in lost are gone (a reboot).
func (n *fakeNetwork) NamespaceExists(_ context.Context, _, name string) (bool, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return !n.lost[name], nil
}

func (n *fakeNetwork) DeleteNamespace(_ context.Context, _, name string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.created, name)
	return nil
}

func (n *fakeNetwork) names() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for k := range n.created {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// project builds a test project: services "name" or "name<-dep1,dep2",
// hash "h-<name>", one replica.
func project(specs ...string) *compose.Project {
	p := &compose.Project{Name: "demo", Volumes: map[string]compose.Volume{}}
	for _, spec := range specs {
		name, deps, _ := strings.Cut(spec, "<-")
		s := &compose.Service{Name: name, Image: name, Project: "demo", Replicas: 1, ConfigHash: "h-" + name, DependsOn: map[string]compose.Dependency{}}
		for _, d := range strings.Split(deps, ",") {
			if d != "" {
				s.DependsOn[d] = compose.Dependency{Condition: compose.ConditionStarted, Required: true}
			}
		}
		p.Services = append(p.Services, s)
	}
	sort.Slice(p.Services, func(i, j int) bool { return p.Services[i].Name < p.Services[j].Name })
	return p
}

func dnsSuffix(dns []string) string {
	if len(dns) == 0 {
		return ""
	}
	return " dns=" + strings.Join(dns, ",")
}
