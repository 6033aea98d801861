package scheduler

import (
	"context"
	"strings"
	"testing"

	"github.com/berth/berth/compose"
)

func TestReconcileGolden(t *testing.T) {
	tests := []struct {
		name     string
		project  *compose.Project
		observed func(*fakeRuntime, *compose.Project)
		opts     ReconcileOptions
		want     string
	}{
		{
			name:    "fresh up",
			project: project("db", "api<-db"),
			want: `
create-networks demo
api: ensure-image api (for new containers)
api: create demo-api-1 (missing)
db: ensure-image db (for new containers)
db: create demo-db-1 (missing)`,
		},
		{
			name:    "no-op up",
			project: project("db", "api<-db"),
			observed: func(f *fakeRuntime, p *compose.Project) {
				f.add(p, "db", 1, StateRunning, "h-db")
				f.add(p, "api", 1, StateRunning, "h-api")
			},
			want: `
create-networks demo
api: running demo-api-1
db: running demo-db-1`,
		},
		{
			name:    "changed hash recreates only that service",
			project: project("db", "api<-db"),
			observed: func(f *fakeRuntime, p *compose.Project) {
				f.add(p, "db", 1, StateRunning, "old")
				f.add(p, "api", 1, StateRunning, "h-api")
			},
			want: `
create-networks demo
api: running demo-api-1
db: ensure-image db (for new containers)
db: recreate demo-db-1 (config hash changed)`,
		},
		{
			name:    "exited containers are started",
			project: project("db"),
			observed: func(f *fakeRuntime, p *compose.Project) {
				f.add(p, "db", 1, StateExited, "h-db")
			},
			want: `
create-networks demo
db: start demo-db-1 (exited)`,
		},
		{
			name: "scale up and down",
			project: func() *compose.Project {
				p := project("web", "worker")
				p.Service("web").Replicas = 3
				p.Service("worker").Replicas = 1
				return p
			}(),
			observed: func(f *fakeRuntime, p *compose.Project) {
				f.add(p, "web", 1, StateRunning, "h-web")
				f.add(p, "worker", 1, StateRunning, "h-worker")
				f.add(p, "worker", 2, StateRunning, "h-worker")
				f.add(p, "worker", 3, StateRunning, "h-worker")
			},
			want: `
create-networks demo
web: ensure-image web (for new containers)
web: running demo-web-1
web: create demo-web-2 (missing)
web: create demo-web-3 (missing)
worker: remove demo-worker-3 (scale down to 1)
worker: remove demo-worker-2 (scale down to 1)
worker: running demo-worker-1`,
		},
		{
			name: "scale keeps the replicas that exist",
			project: func() *compose.Project {
				p := project("web", "worker")
				p.Service("web").Replicas = 2
				p.Service("worker").Replicas = 3
				return p
			}(),
			observed: func(f *fakeRuntime, p *compose.Project) {
				// Replica 2 of each was removed by hand (rm).
				f.add(p, "web", 1, StateRunning, "h-web")
				f.add(p, "web", 3, StateRunning, "h-web")
				f.add(p, "worker", 1, StateRunning, "h-worker")
				f.add(p, "worker", 3, StateRunning, "h-worker")
			},
			want: `
create-networks demo
web: running demo-web-1
web: running demo-web-3
worker: ensure-image worker (for new containers)
worker: running demo-worker-1
worker: create demo-worker-2 (missing)
worker: running demo-worker-3`,
		},
		{
			name: "scale down removes the highest numbers",
			project: func() *compose.Project {
				p := project("web")
				p.Service("web").Replicas = 2
				return p
			}(),
			observed: func(f *fakeRuntime, p *compose.Project) {
				for n := 1; n <= 4; n++ {
					f.add(p, "web", n, StateRunning, "h-web")
				}
			},
			want: `
create-networks demo
web: remove demo-web-4 (scale down to 2)
web: remove demo-web-3 (scale down to 2)
web: running demo-web-1
web: running demo-web-2`,
		},
		{
			name: "scale to 0 removes every container",
			project: func() *compose.Project {
				p := project("db", "web<-db")
				p.Service("web").Replicas = 0
				return p
			}(),
			observed: func(f *fakeRuntime, p *compose.Project) {
				f.add(p, "db", 1, StateRunning, "h-db")
				f.add(p, "web", 1, StateRunning, "h-web")
				f.add(p, "web", 2, StateExited, "h-web")
			},
			want: `
create-networks demo
db: running demo-db-1
web: remove demo-web-2 (scale down to 0)
web: remove demo-web-1 (scale down to 0)`,
		},
		{
			name: "scale down and a changed config: the kept replica is recreated",
			project: func() *compose.Project {
				p := project("web")
				p.Service("web").Replicas = 1
				return p
			}(),
			observed: func(f *fakeRuntime, p *compose.Project) {
				f.add(p, "web", 1, StateRunning, "old")
				f.add(p, "web", 2, StateRunning, "old")
			},
			want: `
create-networks demo
web: remove demo-web-2 (scale down to 1)
web: ensure-image web (for new containers)
web: recreate demo-web-1 (config hash changed)`,
		},
		{
			name:    "force recreate",
			project: project("db"),
			observed: func(f *fakeRuntime, p *compose.Project) {
				f.add(p, "db", 1, StateRunning, "h-db")
			},
			opts: ReconcileOptions{ForceRecreate: true},
			want: `
create-networks demo
db: ensure-image db (for new containers)
db: recreate demo-db-1 (--force-recreate)`,
		},
		{
			name:    "always recreate deps recreates the unnamed dependencies only",
			project: project("db", "cache", "api<-db,cache", "web"),
			observed: func(f *fakeRuntime, p *compose.Project) {
				f.add(p, "db", 1, StateRunning, "h-db")
				f.add(p, "cache", 1, StateExited, "h-cache")
				f.add(p, "api", 1, StateRunning, "h-api")
				f.add(p, "web", 1, StateRunning, "h-web")
			},
			opts: ReconcileOptions{Services: []string{"api"}, AlwaysRecreateDeps: true},
			want: `
create-networks demo
api: running demo-api-1
cache: ensure-image cache (for new containers)
cache: recreate demo-cache-1 (--always-recreate-deps)
db: ensure-image db (for new containers)
db: recreate demo-db-1 (--always-recreate-deps)`,
		},
		{
			name:    "always recreate deps without named services changes nothing",
			project: project("db", "api<-db"),
			observed: func(f *fakeRuntime, p *compose.Project) {
				f.add(p, "db", 1, StateRunning, "h-db")
				f.add(p, "api", 1, StateRunning, "h-api")
			},
			opts: ReconcileOptions{AlwaysRecreateDeps: true},
			want: `
create-networks demo
api: running demo-api-1
db: running demo-db-1`,
		},
		{
			name:    "no recreate keeps a changed container",
			project: project("db"),
			observed: func(f *fakeRuntime, p *compose.Project) {
				f.add(p, "db", 1, StateExited, "old")
			},
			opts: ReconcileOptions{NoRecreate: true},
			want: `
create-networks demo
db: start demo-db-1 (exited)`,
		},
		{
			name:    "orphans warned",
			project: project("db"),
			observed: func(f *fakeRuntime, p *compose.Project) {
				f.add(p, "db", 1, StateRunning, "h-db")
				f.add(p, "gone", 1, StateRunning, "x")
			},
			want: `
create-networks demo
db: running demo-db-1
warning: Found orphan containers ([demo-gone-1]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.`,
		},
		{
			name:    "orphans removed",
			project: project("db"),
			observed: func(f *fakeRuntime, p *compose.Project) {
				f.add(p, "db", 1, StateRunning, "h-db")
				f.add(p, "gone", 1, StateRunning, "x")
			},
			opts: ReconcileOptions{RemoveOrphans: true},
			want: `
create-networks demo
db: running demo-db-1
remove demo-gone-1 (orphan)`,
		},
		{
			// As docker compose: a one-off that exited is an orphan, one
			// that runs is not.
			name: "exited one-offs are orphans",
			project: func() *compose.Project {
				p := project("db")
				p.DisabledServices = []string{"tool"}
				return p
			}(),
			observed: func(f *fakeRuntime, p *compose.Project) {
				f.add(p, "db", 1, StateRunning, "h-db")
				f.add(p, "tool", 1, StateExited, "x")
				f.add(p, "tool", 2, StateRunning, "x")
				for _, name := range []string{"demo-tool-1", "demo-tool-2"} {
					f.set(name, func(c *Container) { c.Labels[compose.LabelOneOff] = "True" })
				}
			},
			opts: ReconcileOptions{RemoveOrphans: true},
			want: `
create-networks demo
db: running demo-db-1
remove demo-tool-1 (orphan)`,
		},
		{
			name: "disabled services are not orphans",
			project: func() *compose.Project {
				p := project("db")
				p.DisabledServices = []string{"debug"}
				return p
			}(),
			observed: func(f *fakeRuntime, p *compose.Project) {
				f.add(p, "db", 1, StateRunning, "h-db")
				f.add(p, "debug", 1, StateRunning, "x")
			},
			want: `
create-networks demo
db: running demo-db-1`,
		},
		{
			name:    "restart: true restarts dependents of a recreated service, transitively",
			project: withRestart(project("db", "api<-db", "web<-api", "cache<-db"), "api<-db", "web<-api"),
			observed: func(f *fakeRuntime, p *compose.Project) {
				f.add(p, "db", 1, StateRunning, "old")
				f.add(p, "api", 1, StateRunning, "h-api")
				f.add(p, "web", 1, StateRunning, "h-web")
				f.add(p, "cache", 1, StateRunning, "h-cache")
			},
			want: `
create-networks demo
api: restart-dependent demo-api-1 (dependency db: recreate)
cache: running demo-cache-1
db: ensure-image db (for new containers)
db: recreate demo-db-1 (config hash changed)
web: restart-dependent demo-web-1 (dependency api: restart)`,
		},
		{
			// Two updated dependencies: the reason names the first by name, every time.
			name:    "restart: true with two updated dependencies",
			project: withRestart(project("db", "cache", "api<-db,cache"), "api<-db", "api<-cache"),
			observed: func(f *fakeRuntime, p *compose.Project) {
				f.add(p, "db", 1, StateRunning, "old")
				f.add(p, "cache", 1, StateRunning, "old")
				f.add(p, "api", 1, StateRunning, "h-api")
			},
			want: `
create-networks demo
api: restart-dependent demo-api-1 (dependency cache: recreate)
cache: ensure-image cache (for new containers)
cache: recreate demo-cache-1 (config hash changed)
db: ensure-image db (for new containers)
db: recreate demo-db-1 (config hash changed)`,
		},
		{
			name:    "restart: true leaves dependents of an unchanged service alone",
			project: withRestart(project("db", "api<-db"), "api<-db"),
			observed: func(f *fakeRuntime, p *compose.Project) {
				f.add(p, "db", 1, StateRunning, "h-db")
				f.add(p, "api", 1, StateRunning, "h-api")
			},
			want: `
create-networks demo
api: running demo-api-1
db: running demo-db-1`,
		},
		{
			name:    "no-deps leaves the dependencies alone",
			project: project("db", "api<-db", "web<-api"),
			opts:    ReconcileOptions{Services: []string{"api"}, NoDeps: true},
			want: `
create-networks demo
api: ensure-image api (for new containers)
api: create demo-api-1 (missing)`,
		},
		{
			name:    "subset brings its dependencies only",
			project: project("db", "api<-db", "web<-api", "other"),
			opts:    ReconcileOptions{Services: []string{"api"}},
			want: `
create-networks demo
api: ensure-image api (for new containers)
api: create demo-api-1 (missing)
db: ensure-image db (for new containers)
db: create demo-db-1 (missing)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeRuntime()
			if tt.observed != nil {
				tt.observed(f, tt.project)
			}
			g, err := NewGraph(tt.project)
			if err != nil {
				t.Fatal(err)
			}
			observed, _ := f.Containers(nil, "demo") //nolint:staticcheck // the fake ignores the context
			plan, err := Reconcile(tt.project, observed, g, tt.opts)
			if err != nil {
				t.Fatalf("Reconcile: %v", err)
			}
			if got, want := strings.TrimSpace(plan.String()), strings.TrimSpace(tt.want); got != want {
				t.Errorf("Reconcile plan:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestReconcileErrors(t *testing.T) {
	p := project("db", "web")
	p.DisabledServices = []string{"debug"}
	// Two replicas cannot both hold host port 8080.
	p.Service("web").Replicas = 2
	p.Service("web").Ports = []compose.PortMapping{{HostPortMin: 8080, HostPortMax: 8080, ContainerPort: 80, Protocol: "tcp"}}
	g, _ := NewGraph(p)
	tests := []struct {
		opts ReconcileOptions
		want string
	}{
		{ReconcileOptions{ForceRecreate: true, NoRecreate: true}, "cannot be used together"},
		{ReconcileOptions{Services: []string{"nope"}}, `no such service: nope`},
		{ReconcileOptions{Services: []string{"debug"}}, `service "debug" is not enabled`},
		{ReconcileOptions{}, `service "web" cannot be scaled to 2: port 8080:80/tcp publishes host port 8080`},
	}
	for _, tt := range tests {
		if _, err := Reconcile(p, nil, g, tt.opts); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Reconcile(%+v) error = %v, want %q", tt.opts, err, tt.want)
		}
	}
}

func TestPlanDownGolden(t *testing.T) {
	p := project("db", "api<-db")
	p.Volumes = map[string]compose.Volume{"data": {Name: "demo_data"}, "ext": {Name: "shared", External: true}}
	f := newFakeRuntime()
	f.add(p, "db", 1, StateRunning, "h-db")
	f.add(p, "api", 1, StateRunning, "h-api")
	f.add(p, "gone", 1, StateExited, "x")
	observed, _ := f.Containers(nil, "demo") //nolint:staticcheck // the fake ignores the context
	g, _ := NewGraph(p)

	got := PlanDown(p, observed, g, DownOptions{Volumes: true}).String()
	want := `api: remove demo-api-1
db: remove demo-db-1
remove-volume demo_data
remove-networks demo
warning: found orphan containers (demo-gone-1) for this project; run down with --remove-orphans to remove them too
`
	if got != want {
		t.Errorf("PlanDown:\n%s\nwant:\n%s", got, want)
	}

	// Volumes labelled with the project: the undeclared ones are added
	// once, before the networks; without Volumes none.
	labelled := []string{"demo_cache", "demo_data"}
	got = PlanDown(p, observed, g, DownOptions{Volumes: true, RemoveOrphans: true, LabelledVolumes: labelled}).String()
	want = `api: remove demo-api-1
db: remove demo-db-1
remove demo-gone-1 (orphan)
remove-volume demo_data
remove-volume demo_cache
remove-networks demo
`
	if got != want {
		t.Errorf("PlanDown with labelled volumes:\n%s\nwant:\n%s", got, want)
	}
	if got := PlanDown(p, observed, g, DownOptions{LabelledVolumes: labelled}).String(); strings.Contains(got, "remove-volume") {
		t.Errorf("PlanDown without Volumes removes volumes:\n%s", got)
	}

	byName := PlanDown(&compose.Project{Name: "demo"}, observed, g, DownOptions{}).String()
	wantByName := `remove demo-api-1 (project demo)
remove demo-db-1 (project demo)
remove demo-gone-1 (project demo)
remove-networks demo
`
	if byName != wantByName {
		t.Errorf("PlanDown by name:\n%s\nwant:\n%s", byName, wantByName)
	}
}

// withRestart sets restart: true on the given "dependent<-dependency" edges.
func withRestart(p *compose.Project, edges ...string) *compose.Project {
	for _, e := range edges {
		s, dep, _ := strings.Cut(e, "<-")
		d := p.Service(s).DependsOn[dep]
		d.Restart = true
		p.Service(s).DependsOn[dep] = d
	}
	return p
}

func TestRestartDependents(t *testing.T) {
	p := withRestart(project("db", "api<-db", "web<-api", "cache<-db", "other"), "api<-db", "web<-api")
	tests := []struct {
		services []string
		want     string
	}{
		{[]string{"db"}, "api,db,web"},
		{[]string{"api"}, "api,web"},
		{[]string{"cache"}, "cache"},
		{[]string{"other", "db"}, "api,db,other,web"},
	}
	for _, tt := range tests {
		if got := strings.Join(RestartDependents(p, tt.services), ","); got != tt.want {
			t.Errorf("RestartDependents(%v) = %s, want %s", tt.services, got, tt.want)
		}
	}
}

// volumeLister is the fake runtime with volumes on the machine.
type volumeLister struct {
	*fakeRuntime
	vols []Volume
}

func (v volumeLister) Volumes(context.Context) ([]Volume, error) { return v.vols, nil }

func TestDownVolumesRemovesUndeclaredProjectVolumes(t *testing.T) {
	p := project("db")
	p.Volumes["data"] = compose.Volume{Name: "demo_data"}
	rt := volumeLister{fakeRuntime: newFakeRuntime(), vols: []Volume{
		{Name: "demo_data", Labels: compose.Labels{compose.LabelProject: "demo"}},
		{Name: "demo_cache", Labels: compose.Labels{compose.LabelProject: "demo"}},
		{Name: "other_cache", Labels: compose.Labels{compose.LabelProject: "other"}},
	}}
	plan, err := Down(context.Background(), p, rt, &fakeNetwork{}, nil, DownRequest{DownOptions: DownOptions{Volumes: true}})
	if err != nil {
		t.Fatal(err)
	}
	want := "remove-volume demo_data\nremove-volume demo_cache\nremove-networks demo"
	if got := strings.TrimSpace(plan.String()); got != want {
		t.Errorf("plan:\n%s\nwant:\n%s", got, want)
	}
}
