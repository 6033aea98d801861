package scheduler

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/containerd/errdefs"

	"github.com/berth/berth/compose"
)

// upContainers is a fake runtime holding the containers up made of p: what a
// command working from the labels alone finds.
func upContainers(p *compose.Project, state State) *fakeRuntime {
	f := newFakeRuntime()
	for _, s := range p.Services {
		for n := 1; n <= s.Replicas; n++ {
			f.add(p, s.Name, n, state, s.ConfigHash)
			name := compose.ContainerName(p.Name, s.Name, n)
			c := f.containers[name]
			c.Image = s.ImageName()
			f.containers[name] = c
		}
	}
	return f
}

func TestProjectFromContainers(t *testing.T) {
	p := withRestart(project("db", "api<-db", "web<-api,db"), "api<-db")
	p.Service("web").Replicas = 2
	p.Service("db").Image = ""
	f := upContainers(p, StateRunning)
	// A one-off's service is no service of the project.
	f.containers["demo-web-1-run"] = Container{ID: "demo-web-1-run", Name: "demo-web-1-run", Labels: compose.Labels{
		compose.LabelProject: "demo", compose.LabelService: "cron", compose.LabelOneOff: "True"}}
	cs, _ := f.Containers(context.Background(), "demo")

	got := ProjectFromContainers("demo", cs)
	var b strings.Builder
	for _, s := range got.Services {
		fmt.Fprintf(&b, "%s image=%s replicas=%d deps=%s\n", s.Name, s.Image, s.Replicas, compose.FormatDependsOn(s.DependsOn))
	}
	want := `api image=api replicas=1 deps=db:service_started:true
db image=demo-db replicas=1 deps=
web image=web replicas=2 deps=api:service_started:false,db:service_started:false
`
	if b.String() != want {
		t.Errorf("ProjectFromContainers:\n%swant:\n%s", b.String(), want)
	}
	if !got.FromLabels || got.Name != "demo" {
		t.Errorf("ProjectFromContainers = %q FromLabels=%v, want demo, true", got.Name, got.FromLabels)
	}
	for _, s := range got.Services {
		for dep, d := range s.DependsOn {
			if d.Required {
				t.Errorf("service %s: dependency %s is required; the labels cannot tell it still exists", s.Name, dep)
			}
		}
	}
	// A dependency without containers is left out: the graph must build.
	delete(f.containers, "demo-db-1")
	cs, _ = f.Containers(context.Background(), "demo")
	if _, err := NewGraph(ProjectFromContainers("demo", cs)); err != nil {
		t.Errorf("NewGraph of a project whose dependency has no container: %v", err)
	}
}

// TestProjectWithOneOffs: exec by project name finds a service that only
// a one-off (run -d) container has, picks that container, and for
// --index=1 says what docker compose says.
func TestProjectWithOneOffs(t *testing.T) {
	p := project("db")
	f := upContainers(p, StateRunning)
	f.containers["demo-cron-run-1"] = Container{ID: "demo-cron-run-1", Name: "demo-cron-run-1", State: StateRunning, Image: "busybox",
		Labels: compose.Labels{compose.LabelProject: "demo", compose.LabelService: "cron", compose.LabelOneOff: "True"}}
	cs, _ := f.Containers(context.Background(), "demo")

	if got := ProjectFromContainers("demo", cs); got.Service("cron") != nil {
		t.Errorf("ProjectFromContainers has the one-off's service cron: only exec looks at one-offs")
	}
	got := ProjectWithOneOffs("demo", cs)
	if names := strings.Join(got.ServiceNames(), ","); names != "cron,db" {
		t.Fatalf("ProjectWithOneOffs services = %s, want cron,db", names)
	}
	if s := got.Service("cron"); s.Replicas != 0 || s.Image != "busybox" || !got.FromLabels {
		t.Errorf("ProjectWithOneOffs cron = replicas %d image %q (FromLabels %v), want 0, busybox, true", s.Replicas, s.Image, got.FromLabels)
	}
	c, err := ServiceContainer(context.Background(), f, got, "cron", 0)
	if err != nil || c.Name != "demo-cron-run-1" {
		t.Errorf("ServiceContainer(cron, 0) = %q, %v; want the one-off demo-cron-run-1", c.Name, err)
	}
	if _, err := ServiceContainer(context.Background(), f, got, "cron", 1); err == nil || !strings.HasPrefix(err.Error(), `service "cron" is not running container #1`) {
		t.Errorf("ServiceContainer(cron, 1) = %v, want docker compose's: service \"cron\" is not running container #1", err)
	}
}

// TestLifecycleFromLabels drives stop and start on a project rebuilt from
// its labels: in dependency order, as with the file.
func TestLifecycleFromLabels(t *testing.T) {
	p := project("db", "api<-db", "web<-api")
	f := upContainers(p, StateRunning)
	cs, _ := f.Containers(context.Background(), "demo")
	lp := ProjectFromContainers("demo", cs)
	nw := &fakeNetwork{}

	if err := Lifecycle(context.Background(), lp, f, nw, nil, OpStop, LifecycleRequest{}); err != nil {
		t.Fatal(err)
	}
	want := "stop demo-web-1 10s\nstop demo-api-1 10s\nstop demo-db-1 10s"
	if got := f.callList(); got != want {
		t.Errorf("stop from labels:\n%s\nwant:\n%s", got, want)
	}

	f.calls = nil
	if err := Lifecycle(context.Background(), lp, f, nw, nil, OpStart, LifecycleRequest{Services: []string{"db"}}); err != nil {
		t.Fatal(err)
	}
	if got := f.callList(); got != "start demo-db-1" {
		t.Errorf("start db from labels: %s, want start demo-db-1", got)
	}

	// After a reboot the namespace is gone: the labels cannot rebuild it.
	nw.lost = map[string]bool{"demo-api-1": true}
	err := Lifecycle(context.Background(), lp, f, nw, nil, OpStart, LifecycleRequest{Services: []string{"api"}})
	if err == nil || !strings.Contains(err.Error(), "network namespace is gone") {
		t.Errorf("start of a container without its namespace from labels = %v, want the namespace is gone", err)
	}
}

// TestStopHooksOfTheFile: stop and down with a compose file run the
// pre_stop hooks the file gives (none when it gives none), as docker
// compose does, not those kept on the containers' labels; a project known
// by name only leaves the runtime to run the labels' (PreStop nil).
func TestStopHooksOfTheFile(t *testing.T) {
	hook := compose.Hook{Command: []string{"echo", "bye"}}
	newFile := func() *compose.Project {
		p := project("db", "web<-db")
		p.Service("web").PreStop = []compose.Hook{hook}
		return p
	}
	check := func(t *testing.T, f *fakeRuntime, fromFile bool) {
		t.Helper()
		web, db := f.preStops["demo-web-1"], f.preStops["demo-db-1"]
		switch {
		case !fromFile && (web != nil || db != nil):
			t.Errorf("from labels: PreStop web %v, db %v; want nil (the labels' hooks)", web, db)
		case fromFile && (len(web) != 1 || web[0].Command[1] != "bye"):
			t.Errorf("from the file: PreStop of web = %v, want the file's [echo bye]", web)
		case fromFile && (db == nil || len(db) != 0):
			t.Errorf("from the file: PreStop of db = %#v, want none (an empty list, not the labels')", db)
		}
	}
	t.Run("stop with the file", func(t *testing.T) {
		p := newFile()
		f := upContainers(p, StateRunning)
		if err := Lifecycle(context.Background(), p, f, &fakeNetwork{}, nil, OpStop, LifecycleRequest{}); err != nil {
			t.Fatal(err)
		}
		check(t, f, true)
	})
	t.Run("down with the file", func(t *testing.T) {
		p := newFile()
		f := upContainers(p, StateRunning)
		if _, err := Down(context.Background(), p, f, &fakeNetwork{}, nil, DownRequest{}); err != nil {
			t.Fatal(err)
		}
		check(t, f, true)
	})
	t.Run("down that cannot stop a container keeps its volumes", func(t *testing.T) {
		p := newFile()
		p.Volumes = map[string]compose.Volume{"data": {Name: "demo_data"}}
		f := upContainers(p, StateRunning)
		f.failOn["stop demo-web-1 10s"] = errors.New("web hook exited with status 127")
		_, err := Down(context.Background(), p, f, &fakeNetwork{}, nil, DownRequest{DownOptions: DownOptions{Volumes: true}})
		if err == nil || !strings.Contains(err.Error(), "hook exited with status 127") {
			t.Errorf("down = %v, want the hook's failure", err)
		}
		if calls := f.callList(); strings.Contains(calls, "remove-volume") {
			t.Errorf("down removed a volume although a container using it still runs:\n%s", calls)
		}
	})
	t.Run("stop by name", func(t *testing.T) {
		f := upContainers(newFile(), StateRunning)
		cs, _ := f.Containers(context.Background(), "demo")
		if err := Lifecycle(context.Background(), ProjectFromContainers("demo", cs), f, &fakeNetwork{}, nil, OpStop, LifecycleRequest{}); err != nil {
			t.Fatal(err)
		}
		check(t, f, false)
	})
}

// TestStartHooksOfTheFile: start and restart with a compose file run the
// post_start hooks the file gives (none when it gives none), as docker
// compose does; a project known by name only leaves the runtime to run
// the labels' (PostStart nil).
func TestStartHooksOfTheFile(t *testing.T) {
	hook := compose.Hook{Command: []string{"echo", "hello"}}
	newFile := func() *compose.Project {
		p := project("db", "web<-db")
		p.Service("web").PostStart = []compose.Hook{hook}
		return p
	}
	tests := []struct {
		name     string
		op       OpKind
		state    State
		fromFile bool
	}{
		{"start with the file", OpStart, StateExited, true},
		{"restart with the file", OpRestart, StateRunning, true},
		{"start by name", OpStart, StateExited, false},
		{"restart by name", OpRestart, StateRunning, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := upContainers(newFile(), tt.state)
			p := newFile()
			if !tt.fromFile {
				cs, _ := f.Containers(context.Background(), "demo")
				p = ProjectFromContainers("demo", cs)
			}
			if err := Lifecycle(context.Background(), p, f, &fakeNetwork{}, nil, tt.op, LifecycleRequest{}); err != nil {
				t.Fatal(err)
			}
			web, db := f.postStarts["demo-web-1"], f.postStarts["demo-db-1"]
			switch {
			case !tt.fromFile && (web != nil || db != nil):
				t.Errorf("from labels: PostStart web %v, db %v; want nil (the labels' hooks)", web, db)
			case tt.fromFile && (len(web) != 1 || web[0].Command[1] != "hello"):
				t.Errorf("from the file: PostStart of web = %v, want the file's [echo hello]", web)
			case tt.fromFile && (db == nil || len(db) != 0):
				t.Errorf("from the file: PostStart of db = %#v, want none (an empty list, not the labels')", db)
			}
		})
	}
}

func TestPauseAlreadyPaused(t *testing.T) {
	f := replicas("web/1/paused", "db/1/running")
	cs, _ := f.Containers(context.Background(), "demo")
	p := project("web", "db")
	g, _ := NewGraph(p)
	_, err := PlanLifecycle(p, cs, g, OpPause, LifecycleRequest{Services: []string{"web"}})
	if err == nil || err.Error() != "container demo-web-1 is already paused" {
		t.Errorf("PlanLifecycle(pause of a paused container) = %v, want already paused", err)
	}
	plan, err := PlanLifecycle(p, cs, g, OpPause, LifecycleRequest{Services: []string{"db"}})
	if err != nil || strings.TrimSpace(plan.String()) != "db: pause demo-db-1" {
		t.Errorf("PlanLifecycle(pause db) = %v, %v", plan, err)
	}
}

func TestPlanDownServices(t *testing.T) {
	p := project("db", "api<-db", "web<-api", "cache")
	p.Volumes = map[string]compose.Volume{"data": {Name: "demo_data"}, "tmp": {Name: "demo_tmp"}}
	f := upContainers(p, StateRunning)
	set := func(name string, vols ...string) {
		c := f.containers[name]
		c.Volumes = vols
		f.containers[name] = c
	}
	set("demo-db-1", "demo_data")
	set("demo-api-1", "demo_tmp")
	observed, _ := f.Containers(context.Background(), "demo")
	g, _ := NewGraph(p)

	tests := []struct {
		name string
		opts DownOptions
		want string
	}{
		{"a service and its dependents", DownOptions{Services: []string{"api"}, Volumes: true},
			"api: remove demo-api-1\nweb: remove demo-web-1\nremove-volume demo_tmp\n"},
		{"a leaf", DownOptions{Services: []string{"cache"}},
			"cache: remove demo-cache-1\n"},
		{"every service: the networks go", DownOptions{Services: []string{"db", "cache"}, Volumes: true},
			"api: remove demo-api-1\ncache: remove demo-cache-1\ndb: remove demo-db-1\nweb: remove demo-web-1\nremove-volume demo_data\nremove-volume demo_tmp\nremove-networks demo\n"},
		{"images after the containers", DownOptions{Images: []string{"web"}},
			"api: remove demo-api-1\ncache: remove demo-cache-1\ndb: remove demo-db-1\nweb: remove demo-web-1\nremove-image web\nremove-networks demo\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			if opts.Services != nil {
				opts.Services = g.WithDependents(opts.Services)
			}
			if got := PlanDown(p, observed, g, opts).String(); got != tt.want {
				t.Errorf("PlanDown(%+v):\n%s\nwant:\n%s", tt.opts, got, tt.want)
			}
		})
	}
}

func TestDownImages(t *testing.T) {
	p := project("db", "web", "worker")
	p.Service("web").Image = "" // built: demo-web
	p.Service("worker").Image = "web"
	f := upContainers(p, StateExited)
	cs, _ := f.Containers(context.Background(), "demo")
	byLabels := ProjectFromContainers("demo", cs)
	tests := []struct {
		name     string
		p        *compose.Project
		mode     ImageRemoval
		services []string
		want     string
	}{
		{"none", p, "", nil, ""},
		{"local", p, ImagesLocal, nil, "demo-web"},
		{"all, each once", p, ImagesAll, nil, "db demo-web web"},
		{"all of a service", p, ImagesAll, []string{"db"}, "db"},
		{"local from labels", byLabels, ImagesLocal, nil, "demo-web"},
		{"all from labels", byLabels, ImagesAll, nil, "db demo-web web"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := strings.Join(DownImages(tt.p, tt.mode, tt.services), " "); got != tt.want {
				t.Errorf("DownImages(%s, %v) = %q, want %q", tt.mode, tt.services, got, tt.want)
			}
		})
	}
	for _, bad := range []string{"none", "LOCAL", "yes"} {
		if _, err := ParseImageRemoval(bad); err == nil {
			t.Errorf("ParseImageRemoval(%q) = nil error, want one", bad)
		}
	}
}

// imageRemover is the fake runtime that removes images; inUse ones are
// refused as the real runtime refuses them.
type imageRemover struct {
	*fakeRuntime
	inUse map[string]bool
}

func (r imageRemover) RemoveImage(_ context.Context, image string) error {
	if err := r.record("remove-image " + image); err != nil {
		return err
	}
	if r.inUse[image] {
		return fmt.Errorf("image %s is used by container other-x-1: %w", image, errdefs.ErrConflict)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.images, image)
	return nil
}

func TestDownRmi(t *testing.T) {
	p := project("db", "web", "cache")
	p.Service("web").Image = ""
	f := upContainers(p, StateRunning)
	f.images = map[string]string{"db": "sha256:d", "demo-web": "sha256:w"} // cache's is not there
	rt := imageRemover{fakeRuntime: f, inUse: map[string]bool{"db": true}}
	var ev recordedEvents
	_, err := Down(context.Background(), p, rt, &fakeNetwork{}, &ev, DownRequest{Images: ImagesAll})
	if err != nil {
		t.Fatal(err)
	}
	calls := f.callList()
	if !strings.Contains(calls, "remove-image db\nremove-image demo-web") || strings.Contains(calls, "remove-image cache") {
		t.Errorf("down --rmi all calls:\n%s\nwant db and demo-web removed (after the containers), not the absent cache", calls)
	}
	if i, j := strings.Index(calls, "remove demo-web-1"), strings.Index(calls, "remove-image"); i < 0 || i > j {
		t.Errorf("down --rmi removes images before the containers:\n%s", calls)
	}
	events := strings.Join(ev.events, "\n")
	if !strings.Contains(events, "db Resource is still in use") || !strings.Contains(events, "demo-web Removed") {
		t.Errorf("events = %v, want db still in use, demo-web removed", ev.events)
	}

	// A failure other than "in use" fails down.
	f2 := upContainers(p, StateExited)
	f2.images = map[string]string{"demo-web": "sha256:w"}
	f2.failOn["remove-image demo-web"] = errors.New("disk on fire")
	_, err = Down(context.Background(), p, imageRemover{fakeRuntime: f2}, &fakeNetwork{}, nil, DownRequest{Images: ImagesLocal})
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("Down with a failing image removal = %v, want the failure", err)
	}
}

func TestServiceReplicas(t *testing.T) {
	f := replicas("web/2/running", "web/1/exited", "web/1/running/run", "db/1/created", "job/1/running/run")
	p := project("web", "db", "idle", "job")
	tests := []struct {
		service string
		oneOffs bool
		want    string // the containers' names, or the error
	}{
		{"web", false, "demo-web-1 demo-web-2"},
		{"web", true, "demo-web-1 demo-web-2 demo-web-1-run"},
		{"db", false, "demo-db-1"},
		{"idle", false, `no container found for service "idle": run berth up -d idle first`},
		{"job", false, "demo-job-1-run"},
		{"nope", false, `no such service: nope: the project's services are db, idle, job, web`},
	}
	for _, tt := range tests {
		cs, err := ServiceReplicas(context.Background(), f, p, tt.service, tt.oneOffs)
		var names []string
		for _, c := range cs {
			names = append(names, c.Name)
		}
		got := strings.Join(names, " ")
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("ServiceReplicas(%s, %v) = %s, want %s", tt.service, tt.oneOffs, got, tt.want)
		}
	}
}

func TestUpRefusesLabelProject(t *testing.T) {
	f := upContainers(project("web"), StateExited)
	cs, _ := f.Containers(context.Background(), "demo")
	_, err := Up(context.Background(), ProjectFromContainers("demo", cs), f, &fakeNetwork{}, nil, UpOptions{})
	if err == nil || !strings.Contains(err.Error(), "up needs its compose file") {
		t.Errorf("Up of a project rebuilt from labels = %v, want a refusal", err)
	}
	if calls := f.callList(); calls != "" {
		t.Errorf("Up of a project rebuilt from labels did %s", calls)
	}
}

func TestRmVolumes(t *testing.T) {
	p := project("db", "web")
	f := upContainers(p, StateExited)
	anon := func(name, vols string) {
		c := f.containers[name]
		c.Labels[compose.LabelAnonVolumes] = vols
		f.containers[name] = c
	}
	anon("demo-web-1", `{"/cache":"aaa","/tmp/x":"bbb"}`)
	anon("demo-db-1", `{"/data":"ccc"}`)
	cs, _ := f.Containers(context.Background(), "demo")
	g, _ := NewGraph(p)
	tests := []struct {
		name string
		req  LifecycleRequest
		want string
	}{
		{"rm -v web", LifecycleRequest{Services: []string{"web"}, Volumes: true}, "web: remove demo-web-1 (rm)\nremove-volume aaa\nremove-volume bbb\n"},
		{"rm -v", LifecycleRequest{Volumes: true}, "db: remove demo-db-1 (rm)\nweb: remove demo-web-1 (rm)\nremove-volume aaa\nremove-volume bbb\nremove-volume ccc\n"},
		{"rm keeps them", LifecycleRequest{Services: []string{"web"}}, "web: remove demo-web-1 (rm)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := PlanLifecycle(p, cs, g, OpRemove, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if got := plan.String(); got != tt.want {
				t.Errorf("PlanLifecycle(rm %+v):\n%s\nwant:\n%s", tt.req, got, tt.want)
			}
		})
	}
	// A running container is not removed without -s: nor are its volumes.
	f.set("demo-db-1", func(c *Container) { c.State = StateRunning })
	cs, _ = f.Containers(context.Background(), "demo")
	plan, _ := PlanLifecycle(p, cs, g, OpRemove, LifecycleRequest{Volumes: true})
	if got := plan.String(); strings.Contains(got, "ccc") {
		t.Errorf("rm -v of a running container without -s removes its volume:\n%s", got)
	}
}
