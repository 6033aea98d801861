package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth/berth/compose"
)

func healthJSON(st HealthStatus, out string) string {
	b, _ := json.Marshal(Health{Status: st, Log: []ProbeResult{{ExitCode: 1, Output: out}}})
	return string(b)
}

func TestConditionMet(t *testing.T) {
	hc := `{"test":["CMD","true"]}`
	c := func(st State, code int, labels map[string]string) Container {
		l := compose.Labels{compose.LabelService: "db"}
		for k, v := range labels {
			l[k] = v
		}
		return Container{Name: "db-1", State: st, ExitCode: code, Labels: l}
	}
	tests := []struct {
		name    string
		cs      []Container
		cond    compose.DependencyCondition
		met     bool
		wantErr string
	}{
		{"no container yet", nil, compose.ConditionHealthy, false, ""},
		{"running, no health yet", []Container{c(StateRunning, 0, map[string]string{compose.LabelHealthcheck: hc})}, compose.ConditionHealthy, false, ""},
		{"starting", []Container{c(StateRunning, 0, map[string]string{compose.LabelHealthcheck: hc, compose.LabelHealth: healthJSON(HealthStarting, "")})}, compose.ConditionHealthy, false, ""},
		{"healthy", []Container{c(StateRunning, 0, map[string]string{compose.LabelHealthcheck: hc, compose.LabelHealth: healthJSON(HealthHealthy, "")})}, compose.ConditionHealthy, true, ""},
		{"unhealthy", []Container{c(StateRunning, 0, map[string]string{compose.LabelHealthcheck: hc, compose.LabelHealth: healthJSON(HealthUnhealthy, "connection refused")})}, compose.ConditionHealthy, false, `container db-1 is unhealthy | the last healthcheck of container db-1 (service "db") said: connection refused`},
		{"no healthcheck", []Container{c(StateRunning, 0, nil)}, compose.ConditionHealthy, false, `container db-1 has no healthcheck configured | service "db" has no healthcheck`},
		{"exited instead of healthy", []Container{c(StateExited, 3, map[string]string{compose.LabelHealthcheck: hc})}, compose.ConditionHealthy, false, `container db-1 exited (3) | service "db" exited with code 3 instead of becoming healthy`},
		{"completed", []Container{c(StateExited, 0, nil)}, compose.ConditionCompletedSuccessfully, true, ""},
		{"still running", []Container{c(StateRunning, 0, nil)}, compose.ConditionCompletedSuccessfully, false, ""},
		{"failed", []Container{c(StateExited, 2, nil)}, compose.ConditionCompletedSuccessfully, false, `service "db" didn't complete successfully: exit 2 | its dependents need`},
		{"started", []Container{c(StateRunning, 0, nil)}, compose.ConditionStarted, true, ""},
	}
	for _, tt := range tests {
		met, err := ConditionMet("db", tt.cs, tt.cond)
		text := "" // compose's line | berth's detail
		if err != nil {
			text = err.Error() + " | " + strings.Join(Details(err), "; ")
		}
		if met != tt.met || (tt.wantErr == "") != (err == nil) || (err != nil && !strings.HasPrefix(text, tt.wantErr)) {
			t.Errorf("%s: ConditionMet = %v, %v; want %v, %q", tt.name, met, err, tt.met, tt.wantErr)
		}
	}
}

// depProject: api depends on db (healthy, with a healthcheck) and on
// migrate (completed successfully); cache is optional (healthy, required
// false).
func depProject() *compose.Project {
	p := project("db", "migrate", "cache", "api<-db,migrate,cache")
	p.Service("db").Healthcheck = &compose.Healthcheck{Test: []string{"CMD", "pg_isready"}}
	p.Service("cache").Healthcheck = &compose.Healthcheck{Test: []string{"CMD", "ping"}}
	api := p.Service("api")
	api.DependsOn["db"] = compose.Dependency{Condition: compose.ConditionHealthy, Required: true}
	api.DependsOn["migrate"] = compose.Dependency{Condition: compose.ConditionCompletedSuccessfully, Required: true}
	api.DependsOn["cache"] = compose.Dependency{Condition: compose.ConditionHealthy, Required: false}
	return p
}

// waitCall waits until the fake runtime was asked for call.
func waitCall(t *testing.T, f *fakeRuntime, call string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for !strings.Contains(f.callList(), call) {
		select {
		case <-deadline:
			t.Fatalf("no %q; calls:\n%s", call, f.callList())
		case <-f.called:
		}
	}
}

func TestUpWaitsForDependencies(t *testing.T) {
	tests := []struct {
		name      string
		db, cache HealthStatus
		migrate   int
		wantErr   string
	}{
		{"all met", HealthHealthy, HealthHealthy, 0, ""},
		{"optional dependency unhealthy", HealthHealthy, HealthUnhealthy, 0, ""},
		{"db unhealthy", HealthUnhealthy, HealthHealthy, 0, `dependency failed to start: container demo-db-1 is unhealthy`},
		{"migration failed", HealthHealthy, HealthHealthy, 1, `service "migrate" didn't complete successfully: exit 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, n := newFakeRuntime(), &fakeNetwork{}
			p := depProject()
			done := make(chan error, 1)
			go func() {
				_, err := Up(context.Background(), p, f, n, nil, UpOptions{})
				done <- err
			}()
			for _, s := range []string{"db", "migrate", "cache"} {
				waitCall(t, f, "start demo-"+s+"-1")
			}
			// api is made ready while it waits, not started.
			waitCall(t, f, "prepare demo-api-1")
			if strings.Contains(f.callList(), "start demo-api-1") {
				t.Fatalf("api started before its dependencies were ready:\n%s", f.callList())
			}
			f.set("demo-db-1", func(c *Container) { c.Labels[compose.LabelHealth] = healthJSON(tt.db, "pg down") })
			f.set("demo-cache-1", func(c *Container) { c.Labels[compose.LabelHealth] = healthJSON(tt.cache, "") })
			f.set("demo-migrate-1", func(c *Container) { c.State, c.ExitCode = StateExited, tt.migrate })
			err := <-done
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Up = %v, want %q", err, tt.wantErr)
				}
				// Its prepared container is removed, with its namespace.
				calls := f.callList()
				if strings.Contains(calls, "start demo-api-1") || !strings.Contains(calls, "remove demo-api-1") {
					t.Errorf("api started, or not removed, although a dependency failed:\n%s", calls)
				}
				if ns := n.names(); strings.Contains(ns, "demo-api-1") {
					t.Errorf("namespaces left: %s", ns)
				}
				if cs, _ := f.Containers(context.Background(), "demo"); slices.ContainsFunc(cs, func(c Container) bool { return c.Name == "demo-api-1" }) {
					t.Errorf("api's container left although a dependency failed")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			waitCall(t, f, "start demo-api-1")
		})
	}
}

// TestPlanLifecycleStartDependencies: as docker compose, start SERVICE
// starts the services it depends on too, and no other.
func TestPlanLifecycleStartDependencies(t *testing.T) {
	p := project("db", "api<-db", "job")
	f := newFakeRuntime()
	for _, s := range []string{"db", "api", "job"} {
		f.add(p, s, 1, StateExited, "h-"+s)
	}
	observed, _ := f.Containers(context.Background(), "demo")
	g, err := NewGraph(p)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := PlanLifecycle(p, observed, g, OpStart, LifecycleRequest{Services: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(plan.String()), "api: start demo-api-1\ndb: start demo-db-1"; got != want {
		t.Errorf("start api: plan\n%s\nwant\n%s", got, want)
	}
}

func TestPlanLifecycle(t *testing.T) {
	p := project("db", "api<-db", "job")
	f := newFakeRuntime()
	f.add(p, "db", 1, StateRunning, "h-db")
	f.add(p, "api", 1, StateRunning, "h-api")
	f.add(p, "job", 1, StateExited, "h-job")
	f.add(project("old"), "old", 1, StateRunning, "h-old") // an orphan
	observed, _ := f.Containers(context.Background(), "demo")
	g, err := NewGraph(p)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		kind          OpKind
		services      []string
		want          string
		order         Direction
		removeOrphans bool
	}{
		{OpStop, nil, "api: stop demo-api-1\ndb: stop demo-db-1\njob: stop demo-job-1", DependentsFirst, false}, // job has exited: stopped again, as compose does
		{OpStart, nil, "job: start demo-job-1", DependenciesFirst, false},
		{OpKill, []string{"db"}, "db: kill demo-db-1 (SIGKILL)", DependentsFirst, false},
		{OpRemove, nil, "job: remove demo-job-1 (rm)", DependentsFirst, false},
		{OpPause, []string{"db", "job"}, "db: pause demo-db-1", DependentsFirst, false},
		{OpUnpause, nil, "", DependenciesFirst, false},
		{OpKill, []string{"db"}, "db: kill demo-db-1 (SIGKILL)\nremove demo-old-1 (orphan)", DependentsFirst, true},
		{OpStop, nil, "api: stop demo-api-1\ndb: stop demo-db-1\njob: stop demo-job-1", DependentsFirst, true}, // only kill has --remove-orphans
	}
	for _, tt := range tests {
		plan, err := PlanLifecycle(p, observed, g, tt.kind, LifecycleRequest{Services: tt.services, RemoveOrphans: tt.removeOrphans})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(plan.String()); got != tt.want || plan.Order != tt.order {
			t.Errorf("%s %v: plan\n%s\nwant\n%s (order %v)", tt.kind, tt.services, got, tt.want, plan.Order)
		}
	}
	if _, err := PlanLifecycle(p, observed, g, OpStop, LifecycleRequest{Services: []string{"nope"}}); err == nil {
		t.Error("an unknown service was accepted")
	}
}

func TestWaitAttached(t *testing.T) {
	always, _ := json.Marshal(compose.RestartPolicy{Condition: compose.RestartAlways})
	p := project("a", "b")
	tests := []struct {
		name    string
		opts    AttachOptions
		exitB   int
		policyA string
		want    string // "" = all done, else the container that ended it
	}{
		{"all done", AttachOptions{}, 0, "", ""},
		{"exit-code-from, abort on exit", AttachOptions{ExitCodeFrom: "b", AbortOnExit: true}, 3, "", "demo-b-1"},
		// With abort on failure, the service's clean exit ends nothing.
		{"exit-code-from, abort on failure, exit 0", AttachOptions{ExitCodeFrom: "b", AbortOnFailure: true}, 0, "", ""},
		{"abort on failure", AttachOptions{AbortOnFailure: true}, 1, "", "demo-b-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeRuntime()
			f.add(p, "a", 1, StateRunning, "h")
			f.add(p, "b", 1, StateRunning, "h")
			done := make(chan AttachResult, 1)
			go func() {
				r, err := WaitAttached(context.Background(), f, "demo", []string{"a", "b"}, tt.opts)
				if err != nil {
					t.Error(err)
				}
				done <- r
			}()
			f.set("demo-b-1", func(c *Container) { c.State, c.ExitCode = StateExited, tt.exitB })
			if tt.want == "" {
				select {
				case r := <-done:
					t.Fatalf("ended with a still running: %+v", r)
				default:
				}
				f.set("demo-a-1", func(c *Container) { c.State = StateExited })
			}
			r := <-done
			got := ""
			if r.Container != nil {
				got = r.Container.Name
			}
			if got != tt.want {
				t.Errorf("ended by %q, want %q", got, tt.want)
			}
		})
	}
	// A container its policy restarts is not done.
	c := Container{State: StateExited, ExitCode: 1, Labels: compose.Labels{compose.LabelRestart: string(always)}}
	if !willRestart(&c) {
		t.Error("restart: always exited container counted as done")
	}
	c.Labels[compose.LabelManualStop] = "true"
	if willRestart(&c) {
		t.Error("a stopped container counted as restarting")
	}
}

func TestSummarizeProjects(t *testing.T) {
	c := func(project string, st State, oneOff bool) Container {
		l := compose.Labels{compose.LabelProject: project, compose.LabelConfigFiles: "/srv/" + project + "/compose.yaml", compose.LabelOneOff: "False"}
		if oneOff {
			l[compose.LabelOneOff] = "True"
		}
		return Container{State: st, Labels: l}
	}
	got := SummarizeProjects([]Container{
		c("web", StateRunning, false), c("web", StateExited, false), c("web", StateRunning, false),
		c("db", StateExited, false), c("db", StateRunning, true), {Labels: compose.Labels{}},
	})
	want := []ProjectSummary{
		{Name: "db", Status: "exited(1)", ConfigFiles: "/srv/db/compose.yaml"},
		{Name: "web", Status: "running(2), exited(1)", ConfigFiles: "/srv/web/compose.yaml", Running: 2},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("SummarizeProjects = %+v, want %+v", got, want)
	}
}

func TestCulprits(t *testing.T) {
	dbErr := &ConditionError{Service: "db", Reason: "container db-1 is unhealthy", Detail: "the last healthcheck said: no"}
	jobErr := &ConditionError{Service: "job", Reason: `service "job" didn't complete successfully: exit 1`}
	tests := []struct {
		name string
		err  error
		want []string
	}{
		{"none", nil, nil},
		{"plain error", errors.New("boom"), nil},
		{"direct", dbErr, []string{"db"}},
		{"wrapped", fmt.Errorf("dependency failed to start: %w", dbErr), []string{"db"}},
		{"walk of several, deduplicated", &WalkError{Errs: map[string]error{
			"web": fmt.Errorf("x: %w", jobErr), "api": fmt.Errorf("dependency failed to start: %w", dbErr), "cli": dbErr,
		}}, []string{"db", "job"}},
		{"joined", errors.Join(errors.New("other"), jobErr), []string{"job"}},
	}
	for _, tt := range tests {
		if got := Culprits(tt.err); !slices.Equal(got, tt.want) {
			t.Errorf("%s: Culprits = %v, want %v", tt.name, got, tt.want)
		}
	}
}

type recordedEvents struct {
	mu     sync.Mutex
	events []string
}

func (r *recordedEvents) Emit(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e.Name+" "+e.Text)
}

func TestWaitReady(t *testing.T) {
	setup := func() (*compose.Project, *fakeRuntime) {
		p := project("db", "migrate", "web", "api<-migrate")
		p.Service("api").DependsOn["migrate"] = compose.Dependency{Condition: compose.ConditionCompletedSuccessfully, Required: true}
		f := newFakeRuntime()
		for _, s := range []string{"db", "migrate", "web", "api"} {
			f.add(p, s, 1, StateRunning, "h-"+s)
		}
		f.containers["demo-db-1"].Labels[compose.LabelHealthcheck] = `{"Test":["CMD","true"]}`
		return p, f
	}
	all := []string{"api", "db", "migrate", "web"}

	t.Run("all ready", func(t *testing.T) {
		p, f := setup()
		ev := &recordedEvents{}
		done := make(chan error, 1)
		go func() { done <- WaitReady(context.Background(), p, f, ev, all, 0) }()
		waitSubscribed(t, f)
		f.set("demo-migrate-1", func(c *Container) { c.State, c.ExitCode = StateExited, 0 })
		f.set("demo-db-1", func(c *Container) { c.Labels[compose.LabelHealth] = healthJSON(HealthHealthy, "") })
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		got := strings.Join(ev.events, ", ")
		for _, want := range []string{"db Healthy", "migrate Exited", "web Running", "api Running"} {
			if !strings.Contains(got, want) {
				t.Errorf("events %s lack %q", got, want)
			}
		}
	})
	t.Run("a service exits", func(t *testing.T) {
		p, f := setup()
		done := make(chan error, 1)
		go func() { done <- WaitReady(context.Background(), p, f, nil, all, 0) }()
		waitSubscribed(t, f)
		f.set("demo-web-1", func(c *Container) { c.State, c.ExitCode = StateExited, 2 })
		err := <-done
		if err == nil || !strings.Contains(err.Error(), `container demo-web-1 exited (2)`) {
			t.Errorf("WaitReady = %v", err)
		}
	})
	t.Run("timeout names a service not ready", func(t *testing.T) {
		p, f := setup()
		err := WaitReady(context.Background(), p, f, nil, all, time.Nanosecond)
		var ce *ConditionError
		if !errors.As(err, &ce) || ce.Service != "db" || !strings.Contains(err.Error(), "is not ready after 1ns (--wait-timeout)") {
			t.Errorf("WaitReady = %v", err)
		}
	})
}

// waitSubscribed waits until someone follows the fake runtime's events.
func waitSubscribed(t *testing.T, f *fakeRuntime) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		f.mu.Lock()
		n := len(f.subs)
		f.mu.Unlock()
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("nobody subscribed to the runtime's events")
		}
		runtime.Gosched()
	}
}

// TestWaitForListsOnlyForItsService: events of other containers (the
// probes of other services update their labels every interval) do not make
// a waiter list the project again; its own container's do.
func TestWaitForListsOnlyForItsService(t *testing.T) {
	p := project("db", "cache")
	f := newFakeRuntime()
	f.add(p, "db", 1, StateRunning, "h-db")
	f.add(p, "cache", 1, StateRunning, "h-cache")
	f.containers["demo-db-1"].Labels[compose.LabelHealthcheck] = `{"Test":["CMD","true"]}`
	done := make(chan error, 1)
	go func() { done <- WaitFor(context.Background(), f, "demo", "db", compose.ConditionHealthy) }()
	waitListings := func(n int) {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for {
			f.mu.Lock()
			got := f.listings
			f.mu.Unlock()
			if got >= n {
				return
			}
			select {
			case <-deadline:
				t.Fatalf("listings = %d, want %d", got, n)
			default:
				runtime.Gosched()
			}
		}
	}
	waitListings(1)
	for range 50 {
		f.set("demo-cache-1", func(c *Container) { c.Labels[compose.LabelHealth] = healthJSON(HealthHealthy, "") })
	}
	// The waiter takes them all before db changes.
	for drained := false; !drained; runtime.Gosched() {
		f.mu.Lock()
		drained = len(f.subs[0]) == 0
		f.mu.Unlock()
	}
	f.set("demo-db-1", func(c *Container) { c.Labels[compose.LabelHealth] = healthJSON(HealthHealthy, "") })
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.listings != 2 {
		t.Errorf("WaitFor listed the project %d times, want 2 (at start, after db's update)", f.listings)
	}
}

func TestDetails(t *testing.T) {
	db := &ConditionError{Service: "db", Reason: "container db-1 is unhealthy", Detail: "the last healthcheck of container db-1 said: no"}
	job := &ConditionError{Service: "job", Reason: `service "job" didn't complete successfully: exit 1`}
	err := &WalkError{Errs: map[string]error{"api": fmt.Errorf("dependency failed to start: %w", db), "web": job, "cli": db}}
	if got, want := Details(err), []string{"the last healthcheck of container db-1 said: no"}; !slices.Equal(got, want) {
		t.Errorf("Details = %q, want %q", got, want)
	}
	if got := Details(errors.New("plain")); got != nil {
		t.Errorf("Details(plain error) = %q, want none", got)
	}
}

func TestAwaitedServices(t *testing.T) {
	for _, tt := range []struct {
		all  bool
		want []string
	}{
		// migrate is needed completed, not healthy.
		{false, []string{"cache", "db"}},
		{true, []string{"api", "cache", "db", "migrate"}},
	} {
		if got := AwaitedServices(depProject(), tt.all); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("AwaitedServices(all=%v) = %v, want %v", tt.all, got, tt.want)
		}
	}
}
