package scheduler

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/berth/berth/compose"
)

// networked is a project whose services api and web are on network
// front (demo_front) and db on back; api mounts volume data.
func networked() *compose.Project {
	p := project("db", "api<-db", "web")
	p.Networks = map[string]compose.Network{
		"front": {Name: "demo_front", Labels: map[string]string{"tier": "front"}},
		"back":  {Name: "demo_back"},
		"ext":   {Name: "shared", External: true},
	}
	p.Volumes = map[string]compose.Volume{"data": {Name: "demo_data"}}
	p.Service("api").Networks = []compose.ServiceNetwork{{Key: "front", Name: "demo_front"}, {Key: "ext", Name: "shared"}}
	p.Service("api").Mounts = []compose.Mount{{Type: compose.MountVolume, Source: "demo_data", Target: "/data"}}
	p.Service("web").Networks = []compose.ServiceNetwork{{Key: "front", Name: "demo_front"}}
	p.Service("db").Networks = []compose.ServiceNetwork{{Key: "back", Name: "demo_back"}}
	return p
}

func TestReconcileRecreatesChangedResources(t *testing.T) {
	p := networked()
	front, back := compose.NetworkHash(p.Networks["front"]), compose.NetworkHash(p.Networks["back"])
	running := func(f *fakeRuntime, p *compose.Project) {
		f.add(p, "db", 1, StateRunning, "h-db")
		f.add(p, "api", 1, StateRunning, "h-api")
		f.add(p, "web", 1, StateRunning, "h-web")
		f.set("demo-api-1", func(c *Container) { c.Volumes = []string{"demo_data"} })
	}
	onFront := []string{"demo-api-1", "demo-web-1"}
	tests := []struct {
		name string
		prep func(f *fakeRuntime)
		opts ReconcileOptions
		want string
	}{
		{
			name: "unchanged networks",
			opts: ReconcileOptions{Networks: []ObservedNetwork{{Name: "demo_front", ConfigHash: front, Containers: onFront}, {Name: "demo_back", ConfigHash: back}}},
			want: `
create-networks demo
api: running demo-api-1
db: running demo-db-1
web: running demo-web-1`,
		},
		{
			name: "a network an older berth made has no hash: kept",
			opts: ReconcileOptions{Networks: []ObservedNetwork{{Name: "demo_front", Containers: onFront}}},
			want: `
create-networks demo
api: running demo-api-1
db: running demo-db-1
web: running demo-web-1`,
		},
		{
			name: "a changed network goes with the containers on it, which come back",
			opts: ReconcileOptions{Networks: []ObservedNetwork{{Name: "demo_front", ConfigHash: "old", Containers: onFront}, {Name: "demo_back", ConfigHash: back}}},
			want: `
stop demo-api-1 (network demo_front is recreated)
stop demo-web-1 (network demo_front is recreated)
disconnect demo-api-1 (network demo_front is recreated)
disconnect demo-web-1 (network demo_front is recreated)
remove-network demo_front (configuration changed)
create-networks demo
reconnect demo-api-1
reconnect demo-web-1
api: start demo-api-1 (exited)
db: running demo-db-1
web: start demo-web-1 (exited)`,
		},
		{
			name: "a stopped container on a changed network is not stopped again",
			prep: func(f *fakeRuntime) { f.set("demo-web-1", func(c *Container) { c.State = StateExited }) },
			opts: ReconcileOptions{Networks: []ObservedNetwork{{Name: "demo_front", ConfigHash: "old", Containers: onFront}}},
			want: `
stop demo-api-1 (network demo_front is recreated)
disconnect demo-api-1 (network demo_front is recreated)
disconnect demo-web-1 (network demo_front is recreated)
remove-network demo_front (configuration changed)
create-networks demo
reconnect demo-api-1
reconnect demo-web-1
api: start demo-api-1 (exited)
db: running demo-db-1
web: start demo-web-1 (exited)`,
		},
		{
			name: "a container on a changed network whose configuration changed too is recreated after",
			prep: func(f *fakeRuntime) {
				f.set("demo-web-1", func(c *Container) { c.Labels[compose.LabelConfigHash] = "h-old" })
			},
			opts: ReconcileOptions{Networks: []ObservedNetwork{{Name: "demo_front", ConfigHash: "old", Containers: onFront}}},
			want: `
stop demo-api-1 (network demo_front is recreated)
stop demo-web-1 (network demo_front is recreated)
disconnect demo-api-1 (network demo_front is recreated)
disconnect demo-web-1 (network demo_front is recreated)
remove-network demo_front (configuration changed)
create-networks demo
reconnect demo-api-1
reconnect demo-web-1
api: start demo-api-1 (exited)
db: running demo-db-1
web: ensure-image web (for new containers)
web: recreate demo-web-1 (config hash changed)`,
		},
		{
			name: "a one-off on a changed network is removed",
			prep: func(f *fakeRuntime) {
				f.add(networked(), "web", 1, StateRunning, "h-web")
				c := f.containers["demo-web-1"]
				c.Name, c.ID = "demo-web-run-1", "demo-web-run-1"
				c.Labels[compose.LabelOneOff] = "True"
				f.containers[c.Name] = c
				f.add(networked(), "web", 1, StateRunning, "h-web")
			},
			opts: ReconcileOptions{Networks: []ObservedNetwork{{Name: "demo_front", ConfigHash: "old", Containers: []string{"demo-web-1", "demo-web-run-1"}}}},
			want: `
remove demo-web-run-1 (network demo_front is recreated)
stop demo-web-1 (network demo_front is recreated)
disconnect demo-web-1 (network demo_front is recreated)
remove-network demo_front (configuration changed)
create-networks demo
reconnect demo-web-1
api: running demo-api-1
db: running demo-db-1
web: start demo-web-1 (exited)`,
		},
		{
			name: "up of one service brings back the others on its changed network",
			opts: ReconcileOptions{Services: []string{"api"}, NoDeps: true, Networks: []ObservedNetwork{{Name: "demo_front", ConfigHash: "old", Containers: onFront}}},
			want: `
stop demo-api-1 (network demo_front is recreated)
stop demo-web-1 (network demo_front is recreated)
disconnect demo-api-1 (network demo_front is recreated)
disconnect demo-web-1 (network demo_front is recreated)
remove-network demo_front (configuration changed)
create-networks demo
reconnect demo-api-1
reconnect demo-web-1
api: start demo-api-1 (exited)
web: start demo-web-1 (exited)`,
		},
		{
			name: "a volume the user agreed to recreate",
			opts: ReconcileOptions{RecreateVolumes: []string{"demo_data"}},
			want: `
remove demo-api-1 (volume demo_data is recreated)
remove-volume demo_data (configuration changed)
create-networks demo
api: ensure-image api (for new containers)
api: create demo-api-1 (missing)
db: running demo-db-1
web: running demo-web-1`,
		},
		{
			name: "a network and a volume: the container on both is removed, the other kept",
			opts: ReconcileOptions{RecreateVolumes: []string{"demo_data"}, Networks: []ObservedNetwork{{Name: "demo_front", ConfigHash: "old", Containers: onFront}}},
			want: `
remove demo-api-1 (volume demo_data is recreated)
stop demo-web-1 (network demo_front is recreated)
disconnect demo-web-1 (network demo_front is recreated)
remove-network demo_front (configuration changed)
remove-volume demo_data (configuration changed)
create-networks demo
reconnect demo-web-1
api: ensure-image api (for new containers)
api: create demo-api-1 (missing)
db: running demo-db-1
web: start demo-web-1 (exited)`,
		},
	}
	t.Run("a changed network another project's container is on", func(t *testing.T) {
		f := newFakeRuntime()
		running(f, p)
		observed, _ := f.Containers(context.Background(), p.Name)
		g, _ := NewGraph(p)
		opts := ReconcileOptions{Networks: []ObservedNetwork{{Name: "demo_front", ConfigHash: "old", Containers: append(onFront, "other-x-1")}}}
		_, err := Reconcile(p, observed, g, opts)
		if err == nil || !strings.Contains(err.Error(), `network "front" (demo_front) exists with a different configuration`) || !strings.Contains(err.Error(), "other-x-1") {
			t.Errorf("Reconcile() error = %v, want one naming the network and the other container", err)
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeRuntime()
			running(f, p)
			if tt.prep != nil {
				tt.prep(f)
			}
			observed, _ := f.Containers(context.Background(), p.Name)
			g, err := NewGraph(p)
			if err != nil {
				t.Fatal(err)
			}
			plan, err := Reconcile(p, observed, g, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := strings.TrimSpace(plan.String()), strings.TrimSpace(tt.want); got != want {
				t.Errorf("plan:\n%s\nwant:\n%s", got, want)
			}
			if !plan.Changes() && strings.Contains(tt.want, "remove") {
				t.Errorf("Changes() = false for a plan that removes")
			}
		})
	}
}

// volumeFake is a VolumeRuntime with fixed volumes and containers.
type volumeFake struct {
	vols       []Volume
	containers []Container
}

func (v *volumeFake) Volumes(context.Context) ([]Volume, error) { return v.vols, nil }
func (v *volumeFake) Containers(context.Context, string) ([]Container, error) {
	return v.containers, nil
}
func (v *volumeFake) RemoveVolume(context.Context, string) error { return nil }

func TestConfirmVolumes(t *testing.T) {
	p := networked()
	now := compose.VolumeHash(p.Volumes["data"])
	vol := func(hash string) []Volume {
		l := compose.Labels{compose.LabelProject: "demo", compose.LabelVolume: "data"}
		if hash != "" {
			l[compose.LabelConfigHash] = hash
		}
		return []Volume{{Name: "demo_data", Labels: l}}
	}
	user := func(project string) []Container {
		return []Container{{Name: project + "-x-1", Labels: compose.Labels{compose.LabelProject: project}, Volumes: []string{"demo_data"}}}
	}
	yes := func(string) (bool, error) { return true, nil }
	no := func(string) (bool, error) { return false, nil }
	tests := []struct {
		name       string
		vols       []Volume
		containers []Container
		ask        Confirm
		want       string
		wantErr    string
	}{
		{name: "same configuration", vols: vol(now)},
		{name: "older berth's volume without a hash", vols: vol("")},
		{name: "not made yet"},
		{name: "changed, agreed", vols: vol("old"), containers: user("demo"), ask: yes, want: "demo_data"},
		{name: "changed, refused: kept", vols: vol("old"), ask: no},
		{name: "changed, no way to ask", vols: vol("old"), wantErr: `volume "data" (demo_data) exists with a different configuration than the compose file declares (driver, driver_opts or labels): run up with -y to recreate it`},
		{name: "changed, used by another project", vols: vol("old"), containers: user("other"), ask: yes, wantErr: "container other-x-1 of project other uses it"},
		{name: "prompt fails", vols: vol("old"), ask: func(string) (bool, error) { return false, errors.New("no tty") }, wantErr: "no tty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var asked string
			ask := tt.ask
			if ask != nil {
				ask = func(q string) (bool, error) { asked = q; return tt.ask(q) }
			}
			got, err := confirmVolumes(context.Background(), p, &volumeFake{vols: tt.vols, containers: tt.containers}, ask)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("confirmVolumes() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, ",") != tt.want {
				t.Errorf("confirmVolumes() = %v, want %q", got, tt.want)
			}
			if ask != nil && tt.vols != nil && tt.vols[0].Labels.ConfigHash() == "old" && !strings.Contains(asked, `Volume "demo_data" exists but doesn't match configuration in compose file`) {
				t.Errorf("asked %q", asked)
			}
		})
	}
}

// changedNetworks is a namedNetworks on which the networks in stale were
// made with another configuration, until they are removed.
type changedNetworks struct {
	namedNetworks
	smu   sync.Mutex
	stale map[string][]string // network: the containers on it
}

func (n *changedNetworks) ObserveNetworks(ctx context.Context, project string) ([]ObservedNetwork, error) {
	out, err := n.namedNetworks.ObserveNetworks(ctx, project)
	n.smu.Lock()
	defer n.smu.Unlock()
	for i := range out {
		if on, ok := n.stale[out[i].Name]; ok {
			out[i].ConfigHash, out[i].Containers = "old", on
		}
	}
	return out, err
}

func (n *changedNetworks) RemoveNetwork(ctx context.Context, project, name string) error {
	n.smu.Lock()
	delete(n.stale, name)
	n.smu.Unlock()
	return n.namedNetworks.RemoveNetwork(ctx, project, name)
}

// progressLines records "Kind Name  Text" lines of containers and
// networks, as plain progress prints them.
type progressLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *progressLines) Emit(e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e.Kind == KindContainer || e.Kind == KindNetwork {
		l.lines = append(l.lines, string(e.Kind)+" "+e.Name+"  "+e.Text)
	}
}

// Up on a network whose configuration changed keeps the containers on
// it: stopped, taken off, the network made again, put back on it and
// started, in docker compose's order and words.
func TestUpRecreatesChangedNetworkKeepingContainers(t *testing.T) {
	ctx := context.Background()
	p := networked()
	f := newFakeRuntime()
	n := &changedNetworks{namedNetworks: namedNetworks{made: map[string]bool{}}}
	if _, err := Up(ctx, p, f, n, Discard, UpOptions{}); err != nil {
		t.Fatalf("first Up: %v", err)
	}
	n.stale = map[string][]string{"demo_front": {"demo-api-1", "demo-web-1"}}
	f.mu.Lock()
	f.calls = nil
	f.mu.Unlock()
	ev := &progressLines{}
	if _, err := Up(ctx, p, f, n, ev, UpOptions{}); err != nil {
		t.Fatalf("Up: %v", err)
	}
	want := []string{
		"Container demo-api-1  Stopping", "Container demo-api-1  Stopped",
		"Container demo-web-1  Stopping", "Container demo-web-1  Stopped",
		"Network demo_front  Removed",
		"Network demo_front  Creating", "Network demo_front  Created",
	}
	if len(ev.lines) < len(want) || !slices.Equal(ev.lines[:len(want)], want) {
		t.Fatalf("up printed\n%s\nwant it to begin with\n%s", strings.Join(ev.lines, "\n"), strings.Join(want, "\n"))
	}
	rest := slices.Clone(ev.lines[len(want):])
	slices.Sort(rest)
	wantRest := []string{
		"Container demo-api-1  Started", "Container demo-api-1  Starting",
		"Container demo-db-1  Running",
		"Container demo-web-1  Started", "Container demo-web-1  Starting",
	}
	if !slices.Equal(rest, wantRest) {
		t.Errorf("then up printed\n%s\nwant (in any order)\n%s", strings.Join(rest, "\n"), strings.Join(wantRest, "\n"))
	}
	for _, call := range strings.Split(f.callList(), "\n") {
		if strings.HasPrefix(call, "create") || strings.HasPrefix(call, "remove") {
			t.Errorf("the containers were not kept: %s", call)
		}
	}
	if got := n.connections(); got != "demo-api-1,demo-db-1,demo-web-1" {
		t.Errorf("connected: %s, want every container back on its networks", got)
	}
}
