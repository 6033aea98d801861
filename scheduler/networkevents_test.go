package scheduler

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/berth/berth/compose"
)

// namedNetworks is a fakeNetwork that also knows its networks by name, as
// the real network layer does (NetworkObserver).
type namedNetworks struct {
	fakeNetwork
	mu   sync.Mutex
	made map[string]bool
}

func (n *namedNetworks) EnsureNetworks(ctx context.Context, p *compose.Project) error {
	n.mu.Lock()
	for key, net := range p.Networks {
		used := p.AllResources
		for _, s := range p.Services {
			used = used || slices.ContainsFunc(s.Networks, func(sn compose.ServiceNetwork) bool { return sn.Key == key })
		}
		if used && !net.External {
			n.made[net.Name] = true
		}
	}
	n.mu.Unlock()
	return n.fakeNetwork.EnsureNetworks(ctx, p)
}

func (n *namedNetworks) RemoveNetworks(ctx context.Context, project string) error {
	n.mu.Lock()
	clear(n.made)
	n.mu.Unlock()
	return n.fakeNetwork.RemoveNetworks(ctx, project)
}

func (n *namedNetworks) ObserveNetworks(context.Context, string) ([]ObservedNetwork, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []ObservedNetwork
	for name := range n.made {
		out = append(out, ObservedNetwork{Name: name})
	}
	return out, nil
}

func (n *namedNetworks) RemoveNetwork(_ context.Context, _, name string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.made, name)
	return nil
}

// kindEvents records "Kind Name  Text" lines of one kind, as plain progress prints them.
type kindEvents struct {
	kind  Kind
	mu    sync.Mutex
	lines []string
}

func (k *kindEvents) Emit(e Event) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if e.Kind == k.kind {
		k.lines = append(k.lines, string(e.Kind)+" "+e.Name+"  "+e.Text)
	}
}

func TestNetworkProgressLines(t *testing.T) {
	setup := func(all bool) *compose.Project {
		p := project("db", "api<-db")
		p.AllResources = all
		p.Networks = map[string]compose.Network{
			"default": {Name: "demo_default"},
			"back":    {Name: "demo_back"},
			"spare":   {Name: "demo_spare"},             // no service uses it
			"shared":  {Name: "shared", External: true}, // never made nor reported
		}
		p.Service("api").Networks = []compose.ServiceNetwork{{Key: "default", Name: "demo_default"}, {Key: "back", Name: "demo_back"}, {Key: "shared", Name: "shared"}}
		p.Service("db").Networks = []compose.ServiceNetwork{{Key: "back", Name: "demo_back"}}
		return p
	}
	tests := []struct {
		name string
		all  bool
		want []string
	}{
		{"used networks", false, []string{
			"Network demo_back  Creating", "Network demo_default  Creating",
			"Network demo_back  Created", "Network demo_default  Created",
		}},
		{"all resources", true, []string{
			"Network demo_back  Creating", "Network demo_default  Creating", "Network demo_spare  Creating",
			"Network demo_back  Created", "Network demo_default  Created", "Network demo_spare  Created",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			p := setup(tt.all)
			f, n := newFakeRuntime(), &namedNetworks{made: map[string]bool{}}
			ev := &kindEvents{kind: KindNetwork}
			if _, err := Up(ctx, p, f, n, ev, UpOptions{}); err != nil {
				t.Fatalf("Up: %v", err)
			}
			if !slices.Equal(ev.lines, tt.want) {
				t.Errorf("first up printed\n%s\nwant\n%s", strings.Join(ev.lines, "\n"), strings.Join(tt.want, "\n"))
			}

			ev.lines = nil
			if _, err := Up(ctx, p, f, n, ev, UpOptions{}); err != nil {
				t.Fatalf("second Up: %v", err)
			}
			if len(ev.lines) != 0 {
				t.Errorf("second up, networks unchanged, printed\n%s\nwant nothing", strings.Join(ev.lines, "\n"))
			}

			ev.lines = nil
			if _, err := Down(ctx, p, f, n, ev, DownRequest{}); err != nil {
				t.Fatalf("Down: %v", err)
			}
			var want []string
			for _, l := range tt.want {
				want = append(want, strings.NewReplacer("Creating", "Removing", "Created", "Removed").Replace(l))
			}
			if !slices.Equal(ev.lines, want) {
				t.Errorf("down printed\n%s\nwant\n%s", strings.Join(ev.lines, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// With --all-resources, up makes the networks of a project without services.
func TestAllResourcesNetworksWithoutServices(t *testing.T) {
	for _, all := range []bool{false, true} {
		p := project()
		p.AllResources = all
		p.Networks = map[string]compose.Network{"my_net": {Name: "demo_my_net"}}
		f, n := newFakeRuntime(), &namedNetworks{made: map[string]bool{}}
		ev := &kindEvents{kind: KindNetwork}
		if _, err := Up(context.Background(), p, f, n, ev, UpOptions{}); err != nil {
			t.Fatalf("Up (all resources %v): %v", all, err)
		}
		var want []string
		if all {
			want = []string{"Network demo_my_net  Creating", "Network demo_my_net  Created"}
		}
		if !slices.Equal(ev.lines, want) || n.made["demo_my_net"] != all {
			t.Errorf("all resources %v: printed %q, network made %v; want %q", all, ev.lines, n.made["demo_my_net"], want)
		}
	}
}
