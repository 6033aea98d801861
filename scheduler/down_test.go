package scheduler

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth/berth/compose"
)

// haltRuntime is a fakeRuntime that can halt containers and quiesce
// them. Halts and removals may be held (holdHalt, holdRemove: closed to
// let them go on); quiesced records what the supervisor was told.
type haltRuntime struct {
	*fakeRuntime
	hmu sync.Mutex // guards the fields below
	// halting counts the halts under way, maxHalting the most at once.
	halting, maxHalting int
	holdHalt            map[string]chan struct{}
	holdRemove          map[string]chan struct{}
	quiesced            []string
	unquiesced          []string
}

func newHaltRuntime() *haltRuntime {
	return &haltRuntime{fakeRuntime: newFakeRuntime(), holdHalt: map[string]chan struct{}{}, holdRemove: map[string]chan struct{}{}}
}

func (r *haltRuntime) Halt(_ context.Context, c Container, timeout time.Duration) error {
	r.hmu.Lock()
	r.halting++
	r.maxHalting = max(r.maxHalting, r.halting)
	hold := r.holdHalt[c.Name]
	r.hmu.Unlock()
	defer func() {
		r.hmu.Lock()
		r.halting--
		r.hmu.Unlock()
	}()
	if err := r.record(fmt.Sprintf("halt %s %s", c.Name, timeout)); err != nil {
		return err
	}
	if hold != nil {
		<-hold
	}
	r.set(c.ID, func(c *Container) { c.State = StateExited })
	return nil
}

func (r *haltRuntime) Remove(ctx context.Context, c Container) error {
	r.hmu.Lock()
	hold := r.holdRemove[c.Name]
	r.hmu.Unlock()
	if hold != nil {
		<-hold
	}
	return r.fakeRuntime.Remove(ctx, c)
}

func (r *haltRuntime) Quiesce(_ context.Context, ids []string) {
	r.hmu.Lock()
	defer r.hmu.Unlock()
	r.quiesced = append(r.quiesced, ids...)
	r.record("quiesce " + strings.Join(ids, ","))
}

func (r *haltRuntime) Unquiesce(_ context.Context, ids []string) {
	r.hmu.Lock()
	defer r.hmu.Unlock()
	r.unquiesced = append(r.unquiesced, ids...)
	r.record("unquiesce " + strings.Join(ids, ","))
}

// position is where call is in calls, failing the test when it is not.
func position(t *testing.T, calls []string, call string) int {
	t.Helper()
	i := slices.Index(calls, call)
	if i < 0 {
		t.Fatalf("no %q in calls:\n%s", call, strings.Join(calls, "\n"))
	}
	return i
}

// TestDownHaltsInOrderRemovesBeside: down tells the supervisor first,
// stops dependents before what they depend on, the replicas of a service
// at once, and does not wait for a dependent's removal before stopping
// its dependency; networks go once every container is removed.
func TestDownHaltsInOrderRemovesBeside(t *testing.T) {
	p := project("db", "api<-db", "web<-api")
	p.Service("api").Replicas = 2
	r, n := newHaltRuntime(), &fakeNetwork{}
	ctx := context.Background()
	if _, err := Up(ctx, p, r, n, nil, UpOptions{}); err != nil {
		t.Fatal(err)
	}
	r.fakeRuntime.calls = nil
	// The halts of api's two replicas are held until both are under way;
	// web's removal until db has been halted.
	bothAPI := make(chan struct{})
	r.holdHalt["demo-api-1"], r.holdHalt["demo-api-2"] = bothAPI, bothAPI
	webRemoval := make(chan struct{})
	r.holdRemove["demo-web-1"] = webRemoval
	go func() {
		r.awaitCalls("halt demo-api-1 10s", "halt demo-api-2 10s")
		close(bothAPI)
		r.awaitCalls("halt demo-db-1 10s")
		close(webRemoval)
	}()
	done := make(chan error, 1)
	go func() {
		_, err := Down(ctx, p, r, n, nil, DownRequest{})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Down: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("Down hangs: it waits for a removal before the next stop, or halts replicas one by one; calls:\n%s", r.callList())
	}
	calls := strings.Split(r.callList(), "\n")
	if calls[0] != "quiesce demo-api-1,demo-api-2,demo-db-1,demo-web-1" {
		t.Errorf("first call %q, want the quiescing of every running container (sorted)", calls[0])
	}
	web, db := position(t, calls, "halt demo-web-1 10s"), position(t, calls, "halt demo-db-1 10s")
	for _, api := range []string{"halt demo-api-1 10s", "halt demo-api-2 10s"} {
		if i := position(t, calls, api); i < web || i > db {
			t.Errorf("%q at %d: not after web's halt (%d) and before db's (%d)", api, i, web, db)
		}
	}
	if i := position(t, calls, "remove demo-web-1"); i < db {
		t.Errorf("web removed (%d) before db was halted (%d): its removal held up the walk", i, db)
	}
	if r.maxHalting != 2 {
		t.Errorf("at most %d halts at once, want 2 (api's replicas)", r.maxHalting)
	}
	if cs, _ := r.Containers(ctx, "demo"); len(cs) != 0 || n.names() != "" || n.networks["demo"] {
		t.Errorf("left after down: containers %v, namespaces %q, networks %v", cs, n.names(), n.networks)
	}
	if len(r.unquiesced) != 0 {
		t.Errorf("a down that succeeded gave back %v", r.unquiesced)
	}
}

// TestDownFailureGivesBack: a down that fails gives back to the
// supervisor what it left running, and removes no network while a
// removal failed.
func TestDownFailureGivesBack(t *testing.T) {
	p := project("db", "api<-db", "cache")
	r, n := newHaltRuntime(), &fakeNetwork{}
	ctx := context.Background()
	if _, err := Up(ctx, p, r, n, nil, UpOptions{}); err != nil {
		t.Fatal(err)
	}
	r.fakeRuntime.calls = nil
	r.failOn["halt demo-api-1 10s"] = errors.New("pre_stop hook failed")
	r.failOn["remove demo-cache-1"] = errors.New("snapshot busy")
	_, err := Down(ctx, p, r, n, nil, DownRequest{})
	if err == nil || !strings.Contains(err.Error(), "pre_stop hook failed") || !strings.Contains(err.Error(), "remove container demo-cache-1: snapshot busy") {
		t.Fatalf("Down = %v, want both failures", err)
	}
	// api failed to stop and db was skipped: both still run.
	if want := []string{"demo-api-1", "demo-db-1"}; !reflect.DeepEqual(r.unquiesced, want) {
		t.Errorf("given back %v, want %v", r.unquiesced, want)
	}
	if !n.networks["demo"] {
		t.Error("networks removed although containers are left")
	}
}

// TestDownExitedNotHalted: a container that has exited already is
// removed without a halt; one-offs and orphans go at once.
func TestDownExitedNotHalted(t *testing.T) {
	p := project("db")
	r, n := newHaltRuntime(), &fakeNetwork{}
	ctx := context.Background()
	if _, err := Up(ctx, p, r, n, nil, UpOptions{}); err != nil {
		t.Fatal(err)
	}
	r.set("demo-db-1", func(c *Container) { c.State = StateExited })
	for _, name := range []string{"demo-db-run-a", "demo-db-run-b"} {
		r.containers[name] = Container{ID: name, Name: name, State: StateRunning,
			Labels: compose.Labels{compose.LabelProject: "demo", compose.LabelService: "db", compose.LabelOneOff: "True"}}
	}
	r.fakeRuntime.calls = nil
	// The one-offs' stops are held until both are under way.
	r.gateStops([]string{"demo-db-run-a", "demo-db-run-b"})
	done := make(chan error, 1)
	go func() {
		_, err := Down(ctx, p, r, n, nil, DownRequest{})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Down: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("Down hangs: one-offs removed one by one; calls:\n%s", r.callList())
	}
	calls := r.callList()
	if strings.Contains(calls, "halt demo-db-1") || !strings.Contains(calls, "remove demo-db-1") {
		t.Errorf("the exited container was halted, or not removed:\n%s", calls)
	}
	if !strings.HasPrefix(calls, "quiesce demo-db-run-a,demo-db-run-b\n") {
		t.Errorf("calls:\n%s\nwant the running one-offs quiesced first", calls)
	}
}

// gateStops holds the Stops of names until all of them are under way.
func (r *haltRuntime) gateStops(names []string) {
	r.fakeRuntime.gateStop = map[string]chan struct{}{}
	all := make(chan struct{})
	for _, name := range names {
		r.fakeRuntime.gateStop[name] = all
	}
	var calls []string
	for _, name := range names {
		calls = append(calls, "stop "+name+" 10s")
	}
	go func() {
		r.awaitCalls(calls...)
		close(all)
	}()
}

// awaitCalls waits until every one of calls was made (the test's own
// deadline ends a wait for one that never comes).
func (r *haltRuntime) awaitCalls(calls ...string) {
	for _, call := range calls {
		for !slices.Contains(strings.Split(r.callList(), "\n"), call) {
			<-r.fakeRuntime.called
		}
	}
}

// leavingNetwork is a fakeNetwork that tells each namespace it deletes.
type leavingNetwork struct {
	*fakeNetwork
	deleted chan string
}

func (n *leavingNetwork) DeleteNamespace(ctx context.Context, project, name string) error {
	err := n.fakeNetwork.DeleteNamespace(ctx, project, name)
	n.deleted <- name
	return err
}

// TestDownRemovalLeavesNetworksBeside: a stopped container leaves its
// networks and namespace while the runtime removes it, not after; and it
// leaves them even when the runtime's removal fails.
func TestDownRemovalLeavesNetworksBeside(t *testing.T) {
	tests := []struct {
		name    string
		failRm  error
		wantErr string
	}{
		{"removed", nil, ""},
		{"removal failed", errors.New("snapshot busy"), "remove container demo-web-1: snapshot busy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := project("web")
			r := newHaltRuntime()
			n := &leavingNetwork{fakeNetwork: &fakeNetwork{}, deleted: make(chan string, 10)}
			ctx := context.Background()
			if _, err := Up(ctx, p, r, n, nil, UpOptions{}); err != nil {
				t.Fatal(err)
			}
			if tt.failRm != nil {
				r.failOn["remove demo-web-1"] = tt.failRm
			}
			// The runtime's removal is held until the namespace is gone.
			removal := make(chan struct{})
			r.holdRemove["demo-web-1"] = removal
			go func() {
				for name := range n.deleted {
					if name == "demo-web-1" {
						close(removal)
						return
					}
				}
			}()
			done := make(chan error, 1)
			go func() {
				_, err := Down(ctx, p, r, n, nil, DownRequest{})
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("Down hangs: the container leaves its networks only after the runtime removed it; calls:\n%s", r.callList())
			}
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Down = %v, want error %q", err, tt.wantErr)
			}
			if got := n.connections(); got != "" {
				t.Errorf("still connected: %s", got)
			}
			if got := n.names(); got != "" {
				t.Errorf("namespaces left: %s", got)
			}
		})
	}
}

// preparingRuntime is a haltRuntime that prepares halts: its calls
// record each preparation ("prepare-halt"), prepared halt ("halt-prepared")
// and finish ("finish-halt"); failPrepare makes a preparation fail.
type preparingRuntime struct {
	*haltRuntime
	failPrepare map[string]error
}

type fakePreparedHalt struct {
	r *preparingRuntime
	c Container
}

func (r *preparingRuntime) PrepareHalt(_ context.Context, c Container) (PreparedHalt, error) {
	r.record("prepare-halt " + c.Name)
	if err := r.failPrepare[c.Name]; err != nil {
		return nil, err
	}
	return &fakePreparedHalt{r: r, c: c}, nil
}

func (p *fakePreparedHalt) Halt(ctx context.Context, c Container, timeout time.Duration) error {
	if c.ID != p.c.ID {
		return fmt.Errorf("halt of %s prepared for %s", c.Name, p.c.Name)
	}
	p.r.hmu.Lock()
	hold := p.r.holdHalt[c.Name]
	p.r.hmu.Unlock()
	if err := p.r.record(fmt.Sprintf("halt-prepared %s %s", c.Name, timeout)); err != nil {
		return err
	}
	if hold != nil {
		<-hold
	}
	p.r.set(c.ID, func(c *Container) { c.State = StateExited })
	return nil
}

func (p *fakePreparedHalt) Finish(context.Context) { p.r.record("finish-halt " + p.c.Name) }

// TestDownPreparedHalts: the halts of every running container are
// prepared as the walk starts (db's while web, which depends on it
// through api, is still being stopped), the walk stops each with its
// prepared halt, and every prepared halt is finished once: after its
// halt, or without one when its container was not stopped (api's halt
// failed, so db's is skipped). A container whose preparation failed is
// halted without it.
func TestDownPreparedHalts(t *testing.T) {
	p := project("db", "api<-db", "web<-api", "cache")
	r := &preparingRuntime{haltRuntime: newHaltRuntime(), failPrepare: map[string]error{}}
	n := &fakeNetwork{}
	ctx := context.Background()
	if _, err := Up(ctx, p, r, n, nil, UpOptions{}); err != nil {
		t.Fatal(err)
	}
	r.fakeRuntime.calls = nil
	r.failPrepare["demo-cache-1"] = errors.New("task not found")
	r.failOn["halt-prepared demo-api-1 10s"] = errors.New("pre_stop hook failed")
	webHalt := make(chan struct{})
	r.holdHalt["demo-web-1"] = webHalt
	go func() {
		r.awaitCalls("prepare-halt demo-db-1")
		close(webHalt)
	}()
	done := make(chan error, 1)
	go func() {
		_, err := Down(ctx, p, r, n, nil, DownRequest{})
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("Down hangs: db's halt is not prepared while web is being stopped; calls:\n%s", r.callList())
	}
	if err == nil || !strings.Contains(err.Error(), "pre_stop hook failed") {
		t.Fatalf("Down = %v, want api's failure", err)
	}
	calls := strings.Split(r.callList(), "\n")
	count := func(call string) int {
		n := 0
		for _, c := range calls {
			if c == call {
				n++
			}
		}
		return n
	}
	for _, name := range []string{"demo-api-1", "demo-cache-1", "demo-db-1", "demo-web-1"} {
		if count("prepare-halt "+name) != 1 {
			t.Errorf("%s: prepared %d times, want once", name, count("prepare-halt "+name))
		}
	}
	for _, name := range []string{"demo-api-1", "demo-db-1", "demo-web-1"} {
		if count("finish-halt "+name) != 1 {
			t.Errorf("%s: prepared halt finished %d times, want once", name, count("finish-halt "+name))
		}
	}
	if i := position(t, calls, "finish-halt demo-web-1"); i < position(t, calls, "halt-prepared demo-web-1 10s") {
		t.Errorf("web's prepared halt finished before its halt")
	}
	if slices.Contains(calls, "halt-prepared demo-db-1 10s") || slices.Contains(calls, "halt demo-db-1 10s") {
		t.Errorf("db halted although api, which depends on it, failed to stop")
	}
	if !slices.Contains(calls, "halt demo-cache-1 10s") || slices.Contains(calls, "finish-halt demo-cache-1") {
		t.Errorf("cache, whose preparation failed, not halted as without one (or its failed preparation finished):\n%s", r.callList())
	}
	if slices.Contains(calls, "halt demo-web-1 10s") || slices.Contains(calls, "halt demo-api-1 10s") {
		t.Errorf("a prepared container halted again without its preparation:\n%s", r.callList())
	}
}

// TestDownServices: down SERVICE... with the compose file removes the
// named services only, as docker compose's; for a project known by name
// only, their dependents too.
func TestDownServices(t *testing.T) {
	services := []*compose.Service{
		{Name: "db"},
		{Name: "cache"},
		{Name: "api", DependsOn: map[string]compose.Dependency{"db": {Condition: compose.ConditionHealthy}, "cache": {}}},
		{Name: "web", DependsOn: map[string]compose.Dependency{"api": {}}},
	}
	file := &compose.Project{Name: "demo", Services: services}
	byName := &compose.Project{Name: "demo", Services: services, FromLabels: true}
	for _, tt := range []struct {
		p     *compose.Project
		named []string
		want  []string
	}{
		{file, []string{"db"}, []string{"db"}},
		{file, []string{"web", "db", "web"}, []string{"db", "web"}},
		{byName, []string{"db"}, []string{"api", "db", "web"}},
		{byName, []string{"cache", "web"}, []string{"api", "cache", "web"}},
	} {
		g, err := NewGraph(tt.p)
		if err != nil {
			t.Fatal(err)
		}
		if got := DownServices(tt.p, g, tt.named); !slices.Equal(got, tt.want) {
			t.Errorf("DownServices(%q, by name %v) = %q, want %q", tt.named, tt.p.FromLabels, got, tt.want)
		}
	}
}
