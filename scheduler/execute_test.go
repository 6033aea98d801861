package scheduler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth/berth/compose"
)

func TestUpThenNoop(t *testing.T) {
	p := project("db", "api<-db")
	f, n := newFakeRuntime(), &fakeNetwork{}
	ctx := context.Background()
	plan, err := Up(ctx, p, f, n, nil, UpOptions{})
	if err != nil {
		t.Fatalf("Up: %v", err)
	}
	if !plan.Changes() {
		t.Errorf("first Up: plan has no changes")
	}
	calls := f.callList()
	if strings.Index(calls, "start demo-db-1") > strings.Index(calls, "create demo-api-1") {
		t.Errorf("api created before db started:\n%s", calls)
	}
	if !strings.Contains(calls, "create demo-api-1 netns=/run/netns/berth-demo-api-1") {
		t.Errorf("api did not get its own netns:\n%s", calls)
	}
	if got := n.names(); got != "demo-api-1,demo-db-1" {
		t.Errorf("namespaces = %s", got)
	}

	f.calls = nil
	plan, err = Up(ctx, p, f, n, nil, UpOptions{})
	if err != nil {
		t.Fatalf("second Up: %v", err)
	}
	if plan.Changes() || f.callList() != "" {
		t.Errorf("second Up changed things: plan\n%s\ncalls\n%s", plan, f.callList())
	}
}

func TestUpStartFailureRollsBack(t *testing.T) {
	p := project("db", "api<-db", "web<-api", "other")
	f, n := newFakeRuntime(), &fakeNetwork{}
	f.failOn["start demo-api-1"] = errors.New(`exec: "nope": executable file not found in $PATH`)
	ev := &recordedEvents{}
	_, err := Up(context.Background(), p, f, n, ev, UpOptions{Parallel: 1})
	if err == nil {
		t.Fatal("Up = nil, want the start failure")
	}
	for _, want := range []string{"executable file not found", `service "web" skipped: "api" failed`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Up error %q does not say %q", err, want)
		}
	}
	cs, _ := f.Containers(context.Background(), "demo")
	var names []string
	for _, c := range cs {
		names = append(names, c.Name)
	}
	if got := strings.Join(names, ","); got != "demo-db-1,demo-other-1" {
		t.Errorf("containers after failed up = %s, want demo-db-1,demo-other-1 (api rolled back, web's prepared one removed)", got)
	}
	if got := n.names(); got != "demo-db-1,demo-other-1" {
		t.Errorf("namespaces after failed up = %s, want api's and web's removed", got)
	}
	ev.mu.Lock()
	defer ev.mu.Unlock()
	for _, want := range []string{"demo-api-1 Error", "demo-web-1 Removed"} {
		if !slices.Contains(ev.events, want) {
			t.Errorf("no event %q: %q", want, ev.events)
		}
	}
}

// TestUpFailureRemovesNewVolumes: the named volumes a failed up made go
// with the containers it removed again; those there before, and those a
// container it left mounts, stay.
func TestUpFailureRemovesNewVolumes(t *testing.T) {
	tests := []struct {
		name   string
		failOn string
		want   string
	}{
		{name: "start fails", failOn: "start demo-api-1", want: "demo_data,demo_old,demo_shared"},
		{name: "create fails", failOn: "create demo-api-1 netns=/run/netns/berth-demo-api-1", want: "demo_data,demo_old,demo_shared"},
		{name: "up succeeds", want: "demo_cache,demo_data,demo_old,demo_shared"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := project("db", "api<-db")
			p.Volumes = map[string]compose.Volume{"data": {Name: "demo_data"}, "cache": {Name: "demo_cache"}, "shared": {Name: "demo_shared"}, "old": {Name: "demo_old"}}
			p.Service("db").Mounts = []compose.Mount{{Type: compose.MountVolume, Source: "demo_data", Target: "/data"}, {Type: compose.MountVolume, Source: "demo_shared", Target: "/shared"}}
			p.Service("api").Mounts = []compose.Mount{{Type: compose.MountVolume, Source: "demo_cache", Target: "/cache"}, {Type: compose.MountVolume, Source: "demo_shared", Target: "/shared"}, {Type: compose.MountVolume, Source: "demo_old", Target: "/old"}}
			f, n := newFakeRuntime(), &fakeNetwork{}
			f.volumes = map[string]bool{"demo_old": true}
			if tt.failOn != "" {
				f.failOn[tt.failOn] = errors.New("no space left")
			}
			if _, err := Up(context.Background(), p, f, n, nil, UpOptions{}); (err != nil) != (tt.failOn != "") {
				t.Fatalf("Up = %v, want an error: %v", err, tt.failOn != "")
			}
			vs, _ := f.Volumes(context.Background())
			if got := names(vs); got != tt.want {
				t.Errorf("volumes after up = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestUpFailureKeepsSharedVolume: a volume the failed container's creation
// made stays when another container, made meanwhile, mounts it; it goes
// once no container mounts it.
func TestUpFailureKeepsSharedVolume(t *testing.T) {
	p := project("a", "b")
	p.Volumes = map[string]compose.Volume{"shared": {Name: "demo_shared"}}
	for _, s := range p.Services {
		s.Mounts = []compose.Mount{{Type: compose.MountVolume, Source: "demo_shared", Target: "/shared"}}
	}
	f, n := newFakeRuntime(), &fakeNetwork{}
	f.failOn["start demo-a-1"] = errors.New("exec format error")
	if _, err := Up(context.Background(), p, f, n, nil, UpOptions{Parallel: 1}); err == nil {
		t.Fatal("Up succeeded, want a's start to fail")
	}
	vs, _ := f.Volumes(context.Background())
	if got := names(vs); got != "demo_shared" {
		t.Fatalf("volumes after a failed = %q, want demo_shared (b's container mounts it)", got)
	}
	cs, _ := f.Containers(context.Background(), "")
	for _, c := range cs {
		f.Remove(context.Background(), c)
	}
	if err := f.ReleaseVolumes(context.Background()); err != nil {
		t.Fatal(err)
	}
	if vs, _ := f.Volumes(context.Background()); len(vs) != 0 {
		t.Errorf("volumes once no container mounts them = %q, want none", names(vs))
	}
}

func TestUpCreateFailureRemovesNamespace(t *testing.T) {
	p := project("db")
	f, n := newFakeRuntime(), &fakeNetwork{}
	f.failOn["create demo-db-1 netns=/run/netns/berth-demo-db-1"] = errors.New("no space left")
	if _, err := Up(context.Background(), p, f, n, nil, UpOptions{}); err == nil {
		t.Fatal("Up = nil, want the create failure")
	}
	if got := n.names(); got != "" {
		t.Errorf("namespaces left after failed create: %s", got)
	}
}

func TestUpNetworkModes(t *testing.T) {
	p := project("db", "sidecar<-db", "hostnet", "none")
	p.Service("sidecar").NetworkMode = "service:db"
	p.Service("hostnet").NetworkMode = "host"
	p.Service("none").NetworkMode = "none"
	f, n := newFakeRuntime(), &fakeNetwork{}
	if _, err := Up(context.Background(), p, f, n, nil, UpOptions{}); err != nil {
		t.Fatalf("Up: %v", err)
	}
	calls := f.callList()
	for _, want := range []string{
		"create demo-sidecar-1 netns=/run/netns/berth-demo-db-1",
		"create demo-hostnet-1 netns=\n",
		"create demo-none-1 netns=/run/netns/berth-demo-none-1",
	} {
		if !strings.Contains(calls+"\n", want) {
			t.Errorf("calls do not include %q:\n%s", want, calls)
		}
	}
	if got := n.names(); got != "demo-db-1,demo-none-1" {
		t.Errorf("namespaces = %s, want only db's and none's own", got)
	}

	p.Service("db").NetworkMode = "container:x"
	p.Service("db").ConfigHash = "changed"
	_, err := Up(context.Background(), p, f, n, nil, UpOptions{})
	if err == nil || !strings.Contains(err.Error(), `network_mode "container:x" is not supported yet`) {
		t.Errorf("Up with container: network mode = %v", err)
	}
}

func TestDownOrderAndTimeouts(t *testing.T) {
	p := project("db", "api<-db")
	grace := 3 * time.Second
	p.Service("db").StopGracePeriod = &grace
	p.Volumes["data"] = compose.Volume{Name: "demo_data"}
	f, n := newFakeRuntime(), &fakeNetwork{}
	ctx := context.Background()
	if _, err := Up(ctx, p, f, n, nil, UpOptions{}); err != nil {
		t.Fatal(err)
	}
	f.calls = nil
	if _, err := Down(ctx, p, f, n, nil, DownRequest{DownOptions: DownOptions{Volumes: true}}); err != nil {
		t.Fatalf("Down: %v", err)
	}
	want := "stop demo-api-1 10s\nremove demo-api-1\nstop demo-db-1 3s\nremove demo-db-1\nremove-volume demo_data"
	if got := f.callList(); got != want {
		t.Errorf("Down calls:\n%s\nwant:\n%s", got, want)
	}
	if got := n.names(); got != "" {
		t.Errorf("namespaces left after down: %s", got)
	}

	if _, err := Up(ctx, p, f, n, nil, UpOptions{}); err != nil {
		t.Fatal(err)
	}
	f.calls = nil
	zero := time.Duration(0)
	if _, err := Down(ctx, p, f, n, nil, DownRequest{Timeout: &zero}); err != nil {
		t.Fatal(err)
	}
	if got := f.callList(); !strings.Contains(got, "stop demo-db-1 0s") || strings.Contains(got, "remove-volume") {
		t.Errorf("Down -t 0 without -v calls:\n%s", got)
	}
}

func TestNetworksLifecycle(t *testing.T) {
	p := project("db", "api<-db")
	p.Service("api").Networks = []compose.ServiceNetwork{{Key: "default", Name: "demo_default"}}
	f, n := newFakeRuntime(), &fakeNetwork{}
	ctx := context.Background()
	if _, err := Up(ctx, p, f, n, nil, UpOptions{}); err != nil {
		t.Fatalf("Up: %v (networks must be created before containers connect)", err)
	}
	if got := n.connections(); got != "demo-api-1,demo-db-1" {
		t.Errorf("connected after up = %q", got)
	}
	if calls := f.callList(); !strings.Contains(calls, "create demo-api-1 netns=/run/netns/berth-demo-api-1 dns=10.89.0.1") {
		t.Errorf("api was not created with the network's nameserver:\n%s", calls)
	}
	if _, err := Down(ctx, p, f, n, nil, DownRequest{}); err != nil {
		t.Fatal(err)
	}
	if got := n.connections(); got != "" {
		t.Errorf("connected after down = %q, want none", got)
	}
	if n.networks["demo"] {
		t.Errorf("networks of demo still there after down")
	}
}

func TestConnectFailureRollsBack(t *testing.T) {
	p := project("db")
	f, n := newFakeRuntime(), &fakeNetwork{failConnect: "demo-db-1"}
	_, err := Up(context.Background(), p, f, n, nil, UpOptions{})
	if err == nil || !strings.Contains(err.Error(), "no free address") {
		t.Fatalf("Up = %v, want the connect failure", err)
	}
	if cs, _ := f.Containers(context.Background(), "demo"); len(cs) != 0 {
		t.Errorf("containers after a failed connect: %+v", cs)
	}
	if got := n.names(); got != "" {
		t.Errorf("namespaces after a failed connect: %s", got)
	}
	if n.networks["demo"] {
		t.Errorf("a failed up with no container left kept the project's networks")
	}
}

// TestStartAfterReboot: a stopped container whose namespace is gone (the
// host rebooted) gets it back, joined to its networks, before it starts.
func TestStartAfterReboot(t *testing.T) {
	p := project("db", "api<-db")
	f, n := newFakeRuntime(), &fakeNetwork{lost: map[string]bool{"demo-db-1": true}}
	f.add(p, "db", 1, StateExited, "h-db")
	f.add(p, "api", 1, StateExited, "h-api")
	if _, err := Up(context.Background(), p, f, n, nil, UpOptions{}); err != nil {
		t.Fatal(err)
	}
	if !n.created["demo-db-1"] || !n.connected["demo-db-1"] {
		t.Errorf("db's namespace was not made again and joined: created %v, connected %v", n.created, n.connected)
	}
	if n.created["demo-api-1"] {
		t.Error("api's namespace, still there, was made again")
	}
	if calls := f.callList(); !strings.Contains(calls, "start demo-db-1") || !strings.Contains(calls, "start demo-api-1") {
		t.Errorf("calls:\n%s", calls)
	}
}

// A dependency scaled to 0 is not waited for: it would never be healthy.
func TestUpDependencyScaledToZero(t *testing.T) {
	p := project("db", "api<-db")
	p.Service("api").DependsOn["db"] = compose.Dependency{Condition: compose.ConditionHealthy, Required: true}
	p.Service("db").Replicas = 0
	f, n := newFakeRuntime(), &fakeNetwork{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // a hang fails, it does not block the suite
	defer cancel()
	if _, err := Up(ctx, p, f, n, nil, UpOptions{}); err != nil {
		t.Fatalf("Up: %v", err)
	}
	calls := f.callList()
	if !strings.Contains(calls, "start demo-api-1") || strings.Contains(calls, "demo-db-1") {
		t.Errorf("want api started and no db container:\n%s", calls)
	}
}

// TestUpNoStartLeavesExisting: with NoStart (create, up --no-start) a
// container that exists and is up to date is not started, and the
// missing one is created, not started.
func TestUpNoStartLeavesExisting(t *testing.T) {
	p := project("db", "api<-db")
	f, n := newFakeRuntime(), &fakeNetwork{}
	f.add(p, "db", 1, StateCreated, "h-db")
	if _, err := Up(context.Background(), p, f, n, nil, UpOptions{NoStart: true}); err != nil {
		t.Fatal(err)
	}
	calls := f.callList()
	if strings.Contains(calls, "start ") || !strings.Contains(calls, "create demo-api-1") {
		t.Errorf("Up with NoStart: calls\n%s\nwant api created and nothing started", calls)
	}
}

// portNetwork is a fakeNetwork that holds host ports (PortHolder); taken
// names a container whose ports another program took.
type portNetwork struct {
	fakeNetwork
	pmu   sync.Mutex
	calls []string
	taken string
}

func (n *portNetwork) ReleasePorts(_ context.Context, _, container string) error {
	n.pmu.Lock()
	defer n.pmu.Unlock()
	n.calls = append(n.calls, "release "+container)
	return nil
}

func (n *portNetwork) HoldPorts(_ context.Context, _, container string) error {
	n.pmu.Lock()
	defer n.pmu.Unlock()
	if container == n.taken {
		return fmt.Errorf("container %s: port 127.0.0.1:8080->80/tcp is already in use on the host (by nc, pid 9)", container)
	}
	n.calls = append(n.calls, "hold "+container)
	return nil
}

// A stop frees the container's host ports, a start (or restart) takes
// them again before the container starts, and fails when they are taken.
func TestExecutorPortsFollowTheContainer(t *testing.T) {
	ctx := context.Background()
	p := project("web")
	tests := []struct {
		name  string
		op    OpKind
		state State
		taken bool
		want  string
		err   string
	}{
		{name: "stop", op: OpStop, state: StateRunning, want: "release demo-web-1"},
		{name: "start", op: OpStart, state: StateExited, want: "hold demo-web-1"},
		{name: "restart", op: OpRestart, state: StateExited, want: "hold demo-web-1"},
		{name: "start, port taken", op: OpStart, state: StateExited, taken: true, err: "port 127.0.0.1:8080->80/tcp is already in use on the host (by nc, pid 9)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeRuntime()
			f.add(p, "web", 1, tt.state, "h-web")
			n := &portNetwork{}
			if tt.taken {
				n.taken = "demo-web-1"
			}
			c := f.containers["demo-web-1"]
			e := &Executor{Project: p, Runtime: f, Network: n, Events: Discard}
			err := e.run(ctx, Op{Kind: tt.op, Service: "web", Name: c.Name, Container: &c})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("run %s: error %v, want %q", tt.op, err, tt.err)
				}
				if strings.Contains(f.callList(), "start") {
					t.Errorf("the container was started although its port is taken: %s", f.callList())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(n.calls, ","); got != tt.want {
				t.Errorf("run %s: port calls %q, want %q", tt.op, got, tt.want)
			}
		})
	}
}
