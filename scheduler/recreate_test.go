package scheduler

import (
	"context"
	"errors"
	"strings"
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
remove demo-api-1 (network demo_front is recreated)
remove demo-web-1 (network demo_front is recreated)
remove-network demo_front (configuration changed)
create-networks demo
api: ensure-image api (for new containers)
api: create demo-api-1 (missing)
db: running demo-db-1
web: ensure-image web (for new containers)
web: create demo-web-1 (missing)`,
		},
		{
			name: "up of one service brings back the others on its changed network",
			opts: ReconcileOptions{Services: []string{"api"}, NoDeps: true, Networks: []ObservedNetwork{{Name: "demo_front", ConfigHash: "old", Containers: onFront}}},
			want: `
remove demo-api-1 (network demo_front is recreated)
remove demo-web-1 (network demo_front is recreated)
remove-network demo_front (configuration changed)
create-networks demo
api: ensure-image api (for new containers)
api: create demo-api-1 (missing)
web: ensure-image web (for new containers)
web: create demo-web-1 (missing)`,
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
			name: "a network and a volume: each container is removed once",
			opts: ReconcileOptions{RecreateVolumes: []string{"demo_data"}, Networks: []ObservedNetwork{{Name: "demo_front", ConfigHash: "old", Containers: onFront}}},
			want: `
remove demo-api-1 (network demo_front is recreated)
remove demo-web-1 (network demo_front is recreated)
remove-network demo_front (configuration changed)
remove-volume demo_data (configuration changed)
create-networks demo
api: ensure-image api (for new containers)
api: create demo-api-1 (missing)
db: running demo-db-1
web: ensure-image web (for new containers)
web: create demo-web-1 (missing)`,
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
