package scheduler

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/berth/berth/compose"
)

func TestPrepareAhead(t *testing.T) {
	tests := []struct {
		name  string
		setup func(p *compose.Project, f *fakeRuntime)
		opts  UpOptions
		// prepared are the containers made ready before their start;
		// started the ones started (prepared or not).
		prepared, started []string
	}{
		{
			name:     "first up: the dependents are prepared",
			prepared: []string{"demo-api-1", "demo-web-1"},
			started:  []string{"demo-api-1", "demo-db-1", "demo-web-1"},
		},
		{
			name:     "replicas",
			setup:    func(p *compose.Project, _ *fakeRuntime) { p.Service("api").Replicas = 2 },
			prepared: []string{"demo-api-1", "demo-api-2", "demo-web-1"},
			started:  []string{"demo-api-1", "demo-api-2", "demo-db-1", "demo-web-1"},
		},
		{
			name:    "no start",
			opts:    UpOptions{NoStart: true},
			started: nil,
		},
		{
			name:    "one parallel at most still prepares",
			opts:    UpOptions{Parallel: 1},
			started: []string{"demo-api-1", "demo-db-1", "demo-web-1"}, prepared: []string{"demo-api-1", "demo-web-1"},
		},
		{
			name:     "a service on another's namespace is not prepared",
			setup:    func(p *compose.Project, _ *fakeRuntime) { p.Service("web").NetworkMode = "service:api" },
			prepared: []string{"demo-api-1"},
			started:  []string{"demo-api-1", "demo-db-1", "demo-web-1"},
		},
		{
			name: "a recreated service is not prepared",
			setup: func(p *compose.Project, f *fakeRuntime) {
				f.add(p, "db", 1, StateRunning, "h-db")
				f.add(p, "api", 1, StateRunning, "old")
				f.add(p, "web", 1, StateRunning, "h-web")
			},
			started: []string{"demo-api-1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := project("db", "api<-db", "web<-api")
			f, n := newFakeRuntime(), &fakeNetwork{}
			if tt.setup != nil {
				tt.setup(p, f)
			}
			if _, err := Up(context.Background(), p, f, n, nil, tt.opts); err != nil {
				t.Fatalf("Up: %v", err)
			}
			calls := strings.Split(f.callList(), "\n")
			var prepared, started []string
			for i, c := range calls {
				verb, name, _ := strings.Cut(c, " ")
				switch verb {
				case "prepare":
					prepared = append(prepared, name)
					if j := slices.Index(calls, "start "+name); j >= 0 && j < i {
						t.Errorf("%s prepared after its start:\n%s", name, f.callList())
					}
				case "start":
					started = append(started, name)
				}
			}
			// Containers are made in the order of the graph, as
			// without preparing (their addresses are given in that order).
			created := func(service string) (first, last int) {
				first = -1
				for i, c := range calls {
					if strings.HasPrefix(c, "create demo-"+service+"-") {
						if first < 0 {
							first = i
						}
						last = i
					}
				}
				return first, last
			}
			for _, pair := range [][2]string{{"db", "api"}, {"api", "web"}} {
				_, depLast := created(pair[0])
				if first, _ := created(pair[1]); first >= 0 && first < depLast {
					t.Errorf("%s created before %s:\n%s", pair[1], pair[0], f.callList())
				}
			}
			slices.Sort(prepared)
			slices.Sort(started)
			if !slices.Equal(prepared, tt.prepared) || !slices.Equal(started, tt.started) {
				t.Errorf("prepared %q, started %q; want %q, %q\ncalls:\n%s", prepared, started, tt.prepared, tt.started, f.callList())
			}
		})
	}
}

func TestPrepareAheadFailures(t *testing.T) {
	boom := errors.New("runc create failed: boom")
	tests := []struct {
		name     string
		replicas int
		failOn   string
		// cancel ends up's context once api is prepared (db never gets healthy).
		cancel  bool
		wantErr string
	}{
		{name: "prepare fails", failOn: "prepare demo-api-1", wantErr: "boom"},
		{name: "second replica's prepare fails", replicas: 2, failOn: "prepare demo-api-2", wantErr: "boom"},
		{name: "start of a prepared container fails", replicas: 2, failOn: "start demo-api-1", wantErr: "boom"},
		{name: "interrupted while waiting", replicas: 2, cancel: true, wantErr: context.Canceled.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := project("db", "api<-db")
			p.Service("api").Replicas = max(tt.replicas, 1)
			f, n := newFakeRuntime(), &fakeNetwork{}
			if tt.failOn != "" {
				f.failOn[tt.failOn] = boom
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel {
				p.Service("db").Healthcheck = &compose.Healthcheck{Test: []string{"CMD", "true"}}
				p.Service("api").DependsOn["db"] = compose.Dependency{Condition: compose.ConditionHealthy, Required: true}
				go func() {
					waitCall(t, f, "prepare demo-api-2")
					cancel()
				}()
			}
			_, err := Up(ctx, p, f, n, nil, UpOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Up = %v, want %q", err, tt.wantErr)
			}
			cs, _ := f.Containers(context.Background(), "demo")
			for _, c := range cs {
				if c.Labels.Service() == "api" {
					t.Errorf("%s left behind", c.Name)
				}
			}
			if ns := n.names(); ns != "demo-db-1" {
				t.Errorf("namespaces left: %s, want demo-db-1 only", ns)
			}
			if conns := n.connections(); strings.Contains(conns, "api") {
				t.Errorf("connections left: %s", conns)
			}
		})
	}
}

func TestByDepth(t *testing.T) {
	g, err := NewGraph(project("a", "b<-a", "c<-b", "d<-a,c", "x"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(g.byDepth([]string{"d", "x", "c", "b", "a"}), ","); got != "a,x,b,c,d" {
		t.Errorf("byDepth = %s, want a,x,b,c,d", got)
	}
}

// TestPrepareAheadStopsWithTheWalk: once up has failed, services still
// queued for preparing are not created (and removed) any more.
func TestPrepareAheadStopsWithTheWalk(t *testing.T) {
	for range 20 {
		p := project("x", "y<-x", "z<-y", "w<-y")
		p.Service("y").NetworkMode = "service:x" // not prepared: z and w wait for its creation
		f, n := newFakeRuntime(), &fakeNetwork{}
		f.failOn["start demo-x-1"] = errors.New("boom")
		if _, err := Up(context.Background(), p, f, n, nil, UpOptions{Parallel: 1}); err == nil {
			t.Fatal("Up = nil, want x's start failure")
		}
		if calls := f.callList(); strings.Contains(calls, "create demo-z-1") || strings.Contains(calls, "create demo-w-1") {
			t.Fatalf("z or w created after up failed:\n%s", calls)
		}
	}
}
