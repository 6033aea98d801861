package scheduler

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/compose"
)

// strictRuntime reads what the fake runtime holds and fails the test on
// any call that would change something: the runtime's, the network
// layer's and the builder's. Dry runs are given it.
type strictRuntime struct {
	t  *testing.T
	f  *fakeRuntime
	nw []ObservedNetwork
	// vols are the volumes on the machine.
	vols []Volume
}

func (s strictRuntime) mutated(call string) error {
	s.t.Helper()
	s.t.Errorf("dry run called %s", call)
	return nil
}

func (s strictRuntime) Containers(ctx context.Context, project string) ([]Container, error) {
	return s.f.Containers(ctx, project)
}
func (s strictRuntime) ImageID(ctx context.Context, image string) (string, error) {
	return s.f.ImageID(ctx, image)
}
func (s strictRuntime) Volumes(context.Context) ([]Volume, error) { return s.vols, nil }
func (s strictRuntime) ObserveNetworks(context.Context, string) ([]ObservedNetwork, error) {
	return s.nw, nil
}
func (s strictRuntime) EnsureImage(context.Context, *compose.Service) error {
	return s.mutated("EnsureImage")
}
func (s strictRuntime) Create(context.Context, CreateRequest) (Container, error) {
	return Container{}, s.mutated("Create")
}
func (s strictRuntime) Prepare(context.Context, Container) error { return s.mutated("Prepare") }
func (s strictRuntime) Start(context.Context, Container) error   { return s.mutated("Start") }
func (s strictRuntime) Stop(context.Context, Container, time.Duration) error {
	return s.mutated("Stop")
}
func (s strictRuntime) Kill(context.Context, Container, string) error { return s.mutated("Kill") }
func (s strictRuntime) Pause(context.Context, Container, bool) error  { return s.mutated("Pause") }
func (s strictRuntime) Remove(context.Context, Container) error       { return s.mutated("Remove") }
func (s strictRuntime) RemoveVolume(context.Context, string) error    { return s.mutated("RemoveVolume") }
func (s strictRuntime) Events(ctx context.Context) (<-chan RuntimeEvent, <-chan error) {
	return s.f.Events(ctx)
}
func (s strictRuntime) BuildImage(context.Context, *compose.Service, BuildOptions, io.Writer) error {
	return s.mutated("BuildImage")
}
func (s strictRuntime) CreateNamespace(context.Context, string, string) (string, error) {
	return "", s.mutated("CreateNamespace")
}
func (s strictRuntime) NamespaceExists(context.Context, string, string) (bool, error) {
	return true, nil
}
func (s strictRuntime) DeleteNamespace(context.Context, string, string) error {
	return s.mutated("DeleteNamespace")
}
func (s strictRuntime) EnsureNetworks(context.Context, *compose.Project) error {
	return s.mutated("EnsureNetworks")
}
func (s strictRuntime) Connect(context.Context, *compose.Project, *compose.Service, string, string) ([]string, error) {
	return nil, s.mutated("Connect")
}
func (s strictRuntime) Disconnect(context.Context, string, string) error {
	return s.mutated("Disconnect")
}
func (s strictRuntime) RemoveNetworks(context.Context, string) error {
	return s.mutated("RemoveNetworks")
}
func (s strictRuntime) RemoveNetwork(context.Context, string, string) error {
	return s.mutated("RemoveNetwork")
}

var (
	_ Runtime         = strictRuntime{}
	_ Network         = strictRuntime{}
	_ NetworkObserver = strictRuntime{}
	_ VolumeRuntime   = strictRuntime{}
	_ Builder         = strictRuntime{}
)

// changedProject is a running project of which the file changed: db's
// environment, a new service cache, api built from source, web's image
// pulled always, and a container of a service since removed.
func changedProject(t *testing.T) (*compose.Project, strictRuntime) {
	p := project("db", "api<-db", "web<-api", "cache")
	p.Networks = map[string]compose.Network{compose.DefaultNetwork: {Name: "demo_default"}, "back": {Name: "demo_back"}}
	for _, s := range p.Services {
		s.Networks = []compose.ServiceNetwork{{Key: compose.DefaultNetwork}}
		s.ConfigParts = "environment=e1,image=i1"
	}
	p.Service("db").Networks = append(p.Service("db").Networks, compose.ServiceNetwork{Key: "back"})
	p.Service("api").Image, p.Service("api").Build = "", &compose.Build{Context: "."}
	p.Service("web").PullPolicy = compose.PullAlways
	f := newFakeRuntime()
	f.add(p, "db", 1, StateRunning, "old")
	f.add(p, "api", 1, StateRunning, "h-api")
	f.add(p, "web", 1, StateRunning, "h-web")
	f.add(p, "old", 1, StateRunning, "h-old")
	f.set("demo-db-1", func(c *Container) { c.Labels[compose.LabelConfigParts] = "environment=e0,image=i1" })
	f.images = map[string]string{"db": "sha256:db", "web": "sha256:web"}
	rt := strictRuntime{t: t, f: f, nw: []ObservedNetwork{{Name: "demo_default"}}}
	return p, rt
}

func TestDryRunUp(t *testing.T) {
	p, rt := changedProject(t)
	opts := UpOptions{ReconcileOptions: ReconcileOptions{RemoveOrphans: true}, Builder: rt}
	plan, err := DryRunUp(context.Background(), p, rt, rt, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := `
build demo-api (image missing; its containers are recreated if the image changes)
pull web (pull_policy always; its containers are recreated if the image changes)
create-network demo_back (missing)
api: running demo-api-1
cache: pull cache (missing, for new containers)
cache: create demo-cache-1 (missing)
db: recreate demo-db-1 (config changed (environment))
web: running demo-web-1
remove demo-old-1 (orphan)`
	if got := strings.TrimSpace(plan.String()); got != strings.TrimSpace(want) {
		t.Errorf("DryRunUp plan:\n%s\nwant:\n%s", got, strings.TrimSpace(want))
	}
	if calls := rt.f.callList(); calls != "" {
		t.Errorf("DryRunUp called the runtime: %s", calls)
	}
}

func TestDryRunDown(t *testing.T) {
	p, rt := changedProject(t)
	p.Volumes["data"] = compose.Volume{Name: "demo_data"}
	rt.vols = []Volume{{Name: "demo_data", Labels: compose.Labels{compose.LabelProject: "demo"}}}
	rt.nw = append(rt.nw, ObservedNetwork{Name: "demo_back"})
	plan, err := DryRunDown(context.Background(), p, rt, rt, DownRequest{DownOptions: DownOptions{Volumes: true, RemoveOrphans: true}})
	if err != nil {
		t.Fatal(err)
	}
	want := `
api: remove demo-api-1
db: remove demo-db-1
web: remove demo-web-1
remove demo-old-1 (orphan)
remove-volume demo_data
remove-network demo_default
remove-network demo_back`
	if got := strings.TrimSpace(plan.String()); got != strings.TrimSpace(want) {
		t.Errorf("DryRunDown plan:\n%s\nwant:\n%s", got, strings.TrimSpace(want))
	}
	if calls := rt.f.callList(); calls != "" {
		t.Errorf("DryRunDown called the runtime: %s", calls)
	}
}

func TestDryRunLifecycle(t *testing.T) {
	tests := []struct {
		kind OpKind
		req  LifecycleRequest
		want string
	}{
		{OpStop, LifecycleRequest{Services: []string{"api"}}, "api: stop demo-api-1"},
		{OpKill, LifecycleRequest{Signal: "SIGTERM"}, "api: kill demo-api-1 (SIGTERM)\ndb: kill demo-db-1 (SIGTERM)\nweb: kill demo-web-1 (SIGTERM)"},
		// The networks are there but demo_back: start makes it.
		{OpRestart, LifecycleRequest{Services: []string{"db"}}, "create-network demo_back (missing)\ndb: restart demo-db-1"},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			p, rt := changedProject(t)
			plan, err := DryRunLifecycle(context.Background(), p, rt, rt, tt.kind, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSpace(plan.String()); got != tt.want {
				t.Errorf("DryRunLifecycle(%s) plan:\n%s\nwant:\n%s", tt.kind, got, tt.want)
			}
			if calls := rt.f.callList(); calls != "" {
				t.Errorf("DryRunLifecycle called the runtime: %s", calls)
			}
		})
	}
}

func TestDryRunUpFreshProjectMakesNothing(t *testing.T) {
	p := project("db", "api<-db")
	p.Networks = map[string]compose.Network{compose.DefaultNetwork: {Name: "demo_default"}}
	for _, s := range p.Services {
		s.Networks = []compose.ServiceNetwork{{Key: compose.DefaultNetwork}}
	}
	// A build makes Up create the networks while it builds: never here.
	p.Service("api").Build = &compose.Build{Context: "."}
	rt := strictRuntime{t: t, f: newFakeRuntime()}
	rt.f.images["db"] = "sha256:db"
	plan, err := DryRunUp(context.Background(), p, rt, rt, UpOptions{Builder: rt})
	if err != nil {
		t.Fatal(err)
	}
	want := `build api (image missing)
create-network demo_default (missing)
api: create demo-api-1 (missing)
db: create demo-db-1 (missing)`
	if got := strings.TrimSpace(plan.String()); got != want {
		t.Errorf("DryRunUp plan:\n%s\nwant:\n%s", got, want)
	}
}

func TestDryRunUpVolumeChanged(t *testing.T) {
	p := project("db")
	p.Volumes["data"] = compose.Volume{Name: "demo_data", Driver: "local"}
	p.Service("db").Mounts = []compose.Mount{{Type: compose.MountVolume, Source: "demo_data", Target: "/data"}}
	rt := strictRuntime{t: t, f: newFakeRuntime(), vols: []Volume{{Name: "demo_data", Labels: compose.Labels{compose.LabelConfigHash: "old"}}}}
	rt.f.add(p, "db", 1, StateRunning, "h-db")
	rt.f.images["db"] = "sha256:db"
	rt.f.set("demo-db-1", func(c *Container) { c.Volumes = []string{"demo_data"} })
	// Without a way to ask, up fails: so does its dry run.
	if _, err := DryRunUp(context.Background(), p, rt, nil, UpOptions{}); err == nil || !strings.Contains(err.Error(), "-y") {
		t.Errorf("DryRunUp without Confirm = %v, want up's error asking for -y", err)
	}
	asked := false
	confirm := func(string) (bool, error) { asked = true; return false, nil }
	plan, err := DryRunUp(context.Background(), p, rt, nil, UpOptions{Confirm: confirm})
	if err != nil {
		t.Fatal(err)
	}
	if asked {
		t.Error("DryRunUp asked the user")
	}
	want := `remove demo-db-1 (volume demo_data is recreated)
remove-volume demo_data (configuration changed)
db: create demo-db-1 (missing)`
	if got := strings.TrimSpace(plan.String()); got != want {
		t.Errorf("DryRunUp plan:\n%s\nwant:\n%s", got, want)
	}
}

func TestGraphWalkOrder(t *testing.T) {
	g, err := NewGraph(project("db", "api<-db", "web<-api", "cache"))
	if err != nil {
		t.Fatal(err)
	}
	services := []string{"web", "old", "api", "cache", "db"}
	if got, want := strings.Join(g.WalkOrder(services, DependenciesFirst), ","), "cache,db,api,web,old"; got != want {
		t.Errorf("WalkOrder(dependencies first) = %s, want %s", got, want)
	}
	if got, want := strings.Join(g.WalkOrder(services, DependentsFirst), ","), "web,api,db,cache,old"; got != want {
		t.Errorf("WalkOrder(dependents first) = %s, want %s", got, want)
	}
}
