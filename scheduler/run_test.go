package scheduler

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/compose"
)

func TestCreateOneOff(t *testing.T) {
	tests := []struct {
		name string
		// setup changes api's dependency on db.
		setup   func(p *compose.Project)
		noDeps  bool
		wantErr string
		// calls must contain these, in this order.
		want []string
	}{
		{
			name: "dependency started first",
			want: []string{"start demo-db-1", "create demo-api-run-1"},
		},
		{
			name:   "no deps",
			noDeps: true,
			want:   []string{"create demo-api-run-1"},
		},
		{
			// A service its profile leaves out is not in the project:
			// nothing to wait for (it used to wait for ever).
			name: "optional dependency not in the project",
			setup: func(p *compose.Project) {
				p.DisabledServices = []string{"cache"}
				p.Service("api").DependsOn["cache"] = compose.Dependency{Condition: compose.ConditionHealthy, Required: false}
			},
			want: []string{"start demo-db-1", "create demo-api-run-1"},
		},
		{
			name: "dependency exits instead of completing",
			setup: func(p *compose.Project) {
				p.Service("api").DependsOn["db"] = compose.Dependency{Condition: compose.ConditionHealthy, Required: true}
			},
			wantErr: `dependency failed to start: container demo-db-1 has no healthcheck configured`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := project("db", "api<-db")
			if tt.setup != nil {
				tt.setup(p)
			}
			f, n := newFakeRuntime(), &fakeNetwork{}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, err := CreateOneOff(ctx, p, f, n, nil, RunRequest{Service: "api", Name: "demo-api-run-1", NoDeps: tt.noDeps})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("CreateOneOff = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Name != "demo-api-run-1" || !c.Labels.OneOff() || c.State != StateCreated {
				t.Errorf("container %+v, want the one-off, created", c)
			}
			calls := f.callList()
			at := 0
			for _, w := range tt.want {
				i := strings.Index(calls[at:], w)
				if i < 0 {
					t.Fatalf("calls lack %q after position %d:\n%s", w, at, calls)
				}
				at += i
			}
			if tt.noDeps && strings.Contains(calls, "demo-db-1") {
				t.Errorf("no deps touched db:\n%s", calls)
			}
		})
	}
}

// TestCreateOneOffFailureReleasesVolumes: a one-off whose creation fails
// takes back the volume it made (run -v new:/x), not the one its
// dependency's container mounts.
func TestCreateOneOffFailureReleasesVolumes(t *testing.T) {
	p := project("db", "api<-db")
	p.Service("db").Mounts = []compose.Mount{{Type: compose.MountVolume, Source: "demo_data", Target: "/data"}}
	f, n := newFakeRuntime(), &fakeNetwork{}
	f.failOn["create demo-api-run-1 netns=/run/netns/berth-demo-api-run-1"] = errors.New("no space left")
	req := RunRequest{Service: "api", Name: "demo-api-run-1", Mounts: []compose.Mount{
		{Type: compose.MountVolume, Source: "demo_new", Target: "/new"},
		{Type: compose.MountVolume, Source: "demo_data", Target: "/data"},
	}}
	if _, err := CreateOneOff(context.Background(), p, f, n, nil, req); err == nil || !strings.Contains(err.Error(), "no space left") {
		t.Fatalf("CreateOneOff = %v, want the creation's error", err)
	}
	vs, _ := f.Volumes(context.Background())
	if got := names(vs); got != "demo_data" {
		t.Errorf("volumes after the failed one-off = %q, want demo_data (db mounts it; demo_new removed)", got)
	}
}

// warnings records the warnings of an event stream.
type warnings struct{ got []string }

func (w *warnings) Emit(e Event) {
	if e.Status == StatusWarning {
		w.got = append(w.got, e.Detail)
	}
}

// TestCreateOneOffOrphans: as docker compose, run names the project's
// orphans (containers of no service, one-offs that exited) before it
// makes its container, or removes them when asked, and is quiet when told.
func TestCreateOneOffOrphans(t *testing.T) {
	tests := []struct {
		name          string
		remove, quiet bool
		wantWarn      string
		wantCalls     []string
	}{
		{"warned", false, false, "Found orphan containers ([demo-api-1-run demo-gone-1]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.", nil},
		{"ignored", false, true, "", nil},
		{"removed", true, false, "", []string{"remove demo-api-1-run", "remove demo-gone-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := project("db", "api")
			// An exited one-off and a running one of api, db's replica
			// and a container of a service gone from the file.
			f := replicas("api/1/exited/run", "db/1/running", "gone/1/running")
			f.containers["demo-api-2-run"] = Container{ID: "demo-api-2-run", Name: "demo-api-2-run", State: StateRunning,
				Labels: compose.Labels{compose.LabelProject: "demo", compose.LabelService: "api", compose.LabelOneOff: "True"}}
			w := &warnings{}
			_, err := CreateOneOff(context.Background(), p, f, &fakeNetwork{}, w, RunRequest{Service: "api", Name: "demo-api-run-3", NoDeps: true, RemoveOrphans: tt.remove, IgnoreOrphans: tt.quiet})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(w.got, "\n"); got != tt.wantWarn {
				t.Errorf("warnings = %q, want %q", got, tt.wantWarn)
			}
			calls := f.callList()
			for _, c := range tt.wantCalls {
				if !strings.Contains(calls, c) {
					t.Errorf("calls lack %q:\n%s", c, calls)
				}
			}
			if !tt.remove && strings.Contains(calls, "remove") {
				t.Errorf("removed a container unasked:\n%s", calls)
			}
			if strings.Contains(calls, "demo-api-2-run") || strings.Contains(calls, "remove demo-db-1") {
				t.Errorf("touched a running one-off or a service's replica:\n%s", calls)
			}
		})
	}
}

func TestOneOffServiceAutoRemove(t *testing.T) {
	base := &compose.Service{Name: "api", Labels: map[string]string{"x": "1"}}
	s := oneOffService(base, RunRequest{Service: "api", AutoRemove: true, Detached: true})
	if !compose.Labels(s.Labels).AutoRemove() || s.Labels["x"] != "1" {
		t.Errorf("labels = %v, want the service's and %s", s.Labels, compose.LabelAutoRemove)
	}
	if _, ok := base.Labels[compose.LabelAutoRemove]; ok {
		t.Error("the service's own labels were changed")
	}
	if s := oneOffService(base, RunRequest{Service: "api"}); compose.Labels(s.Labels).AutoRemove() {
		t.Error("a one-off without --rm -d is marked for removal")
	}
}

// TestCreateOneOffBuildsDependencies: run --build builds the service and
// the services it depends on, each once (their up builds nothing more);
// with --no-deps only the service; without --build only what is missing.
func TestCreateOneOffBuildsDependencies(t *testing.T) {
	tests := []struct {
		name    string
		build   bool
		noDeps  bool
		present []string
		want    string
	}{
		{name: "build", build: true, want: "api nocache=false arg=; db nocache=false arg="},
		{name: "build, no deps", build: true, noDeps: true, want: "api nocache=false arg="},
		{name: "missing only", present: []string{"demo-api"}, want: "db nocache=false arg="},
		{name: "nothing missing", present: []string{"demo-api", "demo-db"}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := project("db", "api<-db")
			for _, s := range p.Services {
				s.Build = &compose.Build{Context: "/ctx"}
				s.HasBuild = true
				s.Image = ""
			}
			f, n := newFakeRuntime(), &fakeNetwork{}
			for _, img := range tt.present {
				f.images[img] = "sha256:old"
			}
			b := &fakeBuilder{rt: f}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			req := RunRequest{Service: "api", Name: "demo-api-run-1", Build: tt.build, NoDeps: tt.noDeps, Builder: b}
			if _, err := CreateOneOff(ctx, p, f, n, nil, req); err != nil {
				t.Fatal(err)
			}
			if got := b.list(); got != tt.want {
				t.Errorf("built %q, want %q", got, tt.want)
			}
		})
	}
}
