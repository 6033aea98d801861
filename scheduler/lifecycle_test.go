package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/berth/berth/compose"
)

func TestServiceContainers(t *testing.T) {
	f := replicas("web/2/running", "web/1/exited", "web/1/running/run", "db/1/created", "cache/1/running")
	cs, _ := f.Containers(context.Background(), "demo")
	tests := []struct {
		name     string
		services []string
		want     string
	}{
		{"all", nil, "demo-cache-1 demo-db-1 demo-web-1 demo-web-2"},
		{"some", []string{"web", "db"}, "demo-db-1 demo-web-1 demo-web-2"},
		{"none of them has one", []string{"idle"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var names []string
			for _, c := range ServiceContainers(cs, tt.services) {
				names = append(names, c.Name)
			}
			if got := strings.Join(names, " "); got != tt.want {
				t.Errorf("ServiceContainers(%q) = %s, want %s", tt.services, got, tt.want)
			}
		})
	}
}

func TestRemoveOneOff(t *testing.T) {
	tests := []struct {
		name  string
		state State // what the container is in when it is removed
		want  string
	}{
		{"exited", StateExited, "remove demo-web-1-run"},
		{"still running", StateRunning, "stop demo-web-1-run 10s\nremove demo-web-1-run"},
		{"gone", "", ""},
	}
	p := project("web")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeRuntime()
			if tt.state != "" {
				f = replicas("web/1/" + string(tt.state) + "/run")
			}
			if err := RemoveOneOff(context.Background(), p, f, &fakeNetwork{}, "demo-web-1-run"); err != nil {
				t.Fatal(err)
			}
			if got := f.callList(); got != tt.want {
				t.Errorf("RemoveOneOff calls:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestSummarizeProjectsRunning(t *testing.T) {
	c := func(project string, st State) Container {
		return Container{State: st, Labels: compose.Labels{compose.LabelProject: project}}
	}
	tests := []struct {
		name string
		cs   []Container
		want int
	}{
		{"running", []Container{c("p", StateRunning), c("p", StateExited)}, 1},
		{"paused", []Container{c("p", StatePaused), c("p", StateRunning)}, 2},
		{"none", []Container{c("p", StateExited), c("p", StateCreated)}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SummarizeProjects(tt.cs)
			if len(got) != 1 || got[0].Running != tt.want {
				t.Fatalf("SummarizeProjects = %+v, want Running %d", got, tt.want)
			}
			b, err := json.Marshal(got[0])
			if err != nil || strings.Contains(string(b), "Running") {
				t.Errorf("JSON of a ProjectSummary = %s, %v: want docker compose's fields only", b, err)
			}
		})
	}
}

func TestServiceContainerIndex(t *testing.T) {
	tests := []struct {
		name       string
		containers []string
		index      int
		want       string // container name, or a fragment of the error
	}{
		{"first running replica", []string{"web/1/exited", "web/2/running", "web/3/running"}, 0, "demo-web-2"},
		{"replicas before one-offs", []string{"web/1/running/run", "web/2/running"}, 0, "demo-web-2"},
		{"a one-off when no replica runs", []string{"web/1/exited", "web/1/running/run"}, 0, "demo-web-1-run"},
		{"nothing runs", []string{"web/1/exited", "web/1/exited/run"}, 0, `service "web" is not running`},
		{"replica asked", []string{"web/1/running", "web/2/running"}, 2, "demo-web-2"},
		{"replica asked, one-offs left out", []string{"web/1/running/run"}, 1, `service "web" is not running container #1: run berth up -d web first`},
	}
	p := project("web")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ServiceContainer(context.Background(), replicas(tt.containers...), p, "web", tt.index)
			got := c.Name
			if err != nil {
				got = err.Error()
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("ServiceContainer(%q, index %d) = %q, want %q", tt.containers, tt.index, got, tt.want)
			}
		})
	}
}

// TestRestart: restart restarts each container of the named services and
// of those depending on them with restart: true (a stopped one is
// started), dependencies first, waiting only for the restart: true
// dependencies, and reports it as docker compose does: Restarting, Started,
// and the wait on each container of the dependency.
func TestRestart(t *testing.T) {
	setup := func() (*compose.Project, *fakeRuntime) {
		p := project("db", "api<-db", "web<-db")
		p.Service("db").Healthcheck = &compose.Healthcheck{Test: []string{"CMD", "true"}}
		p.Service("api").DependsOn["db"] = compose.Dependency{Condition: compose.ConditionHealthy, Required: true, Restart: true}
		p.Service("web").DependsOn["db"] = compose.Dependency{Condition: compose.ConditionHealthy, Required: true}
		f := newFakeRuntime()
		f.add(p, "db", 1, StateRunning, "h-db")
		f.add(p, "api", 1, StateExited, "h-api")
		f.add(p, "web", 1, StateRunning, "h-web")
		f.set("demo-db-1", func(c *Container) {
			c.Labels[compose.LabelHealthcheck] = `{"Test":["CMD","true"]}`
			c.Labels[compose.LabelHealth] = healthJSON(HealthHealthy, "")
		})
		return p, f
	}
	tests := []struct {
		name       string
		req        LifecycleRequest
		wantCalls  string
		wantEvents []string
	}{
		{"db and its restart: true dependents", LifecycleRequest{Services: []string{"db"}},
			"stop demo-db-1 10s\nstart demo-db-1\nstart demo-api-1",
			[]string{"demo-db-1 Restarting", "demo-db-1 Started", "demo-db-1 Waiting", "demo-db-1 Healthy", "demo-api-1 Restarting", "demo-api-1 Started"}},
		{"--no-deps", LifecycleRequest{Services: []string{"db"}, NoDeps: true},
			"stop demo-db-1 10s\nstart demo-db-1",
			[]string{"demo-db-1 Restarting", "demo-db-1 Started"}},
		{"every service: web waits for nothing", LifecycleRequest{},
			"", []string{"demo-db-1 Restarting", "demo-web-1 Restarting", "demo-web-1 Started", "demo-api-1 Started"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, f := setup()
			ev := &recordedEvents{}
			if err := Lifecycle(context.Background(), p, f, &fakeNetwork{}, ev, OpRestart, tt.req); err != nil {
				t.Fatal(err)
			}
			if calls := f.callList(); tt.wantCalls != "" && calls != tt.wantCalls {
				t.Errorf("calls:\n%s\nwant:\n%s", calls, tt.wantCalls)
			}
			got := strings.Join(ev.events, "\n")
			for _, want := range tt.wantEvents {
				if !slices.Contains(ev.events, want) {
					t.Errorf("events lack %q:\n%s", want, got)
				}
			}
			if tt.req.Services != nil && strings.Contains(got, "web") {
				t.Errorf("restart of db touched web (depends on db without restart: true):\n%s", got)
			}
			if strings.Contains(got, "Stopping") || strings.Contains(got, "Restarted") {
				t.Errorf("restart reported stop/start steps, want Restarting then Started:\n%s", got)
			}
			if p.Service("web").DependsOn["db"].Condition != compose.ConditionHealthy {
				t.Errorf("restart changed the caller's project")
			}
		})
	}
}

// removeLog records the calls RemoveExited makes, failing the one named.
type removeLog struct {
	calls []string
	fail  string
}

func (r *removeLog) call(name string) error {
	r.calls = append(r.calls, name)
	if name == r.fail {
		return errors.New(name + " failed")
	}
	return nil
}

func (r *removeLog) Remove(context.Context, Container) error { return r.call("remove") }
func (r *removeLog) Disconnect(context.Context, string, string) error {
	return r.call("disconnect")
}
func (r *removeLog) DeleteNamespace(context.Context, string, string) error {
	return r.call("netns")
}

func TestRemoveExitedOrder(t *testing.T) {
	tests := []struct {
		name, fail string
		want       string
	}{
		// The container is removed last: once it is not listed, its
		// addresses, ports and namespace are gone too.
		{"all", "", "disconnect netns remove"},
		{"disconnect fails", "disconnect", "disconnect"},
		{"namespace fails", "netns", "disconnect netns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &removeLog{fail: tt.fail}
			err := RemoveExited(context.Background(), r, r, Container{ID: "demo-web-1-run"})
			if (err != nil) != (tt.fail != "") {
				t.Errorf("err = %v, want a failure: %v", err, tt.fail != "")
			}
			if got := strings.Join(r.calls, " "); got != tt.want {
				t.Errorf("calls = %s, want %s", got, tt.want)
			}
		})
	}
}
