package scheduler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth/berth/compose"
)

// countedNetworks counts EnsureNetworks calls and tells when the first
// one is done.
type countedNetworks struct {
	namedNetworks
	mu      sync.Mutex
	ensures int
	ensured chan struct{}
}

func (n *countedNetworks) EnsureNetworks(ctx context.Context, p *compose.Project) error {
	err := n.namedNetworks.EnsureNetworks(ctx, p)
	n.mu.Lock()
	defer n.mu.Unlock()
	n.ensures++
	if n.ensures == 1 {
		close(n.ensured)
	}
	return err
}

func (n *countedNetworks) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ensures
}

// networkWaitingBuilder builds only once the project's networks are made
// (when wait is set), so that a build that comes first never ends; it
// records how many EnsureNetworks calls it saw, and fails when told.
type networkWaitingBuilder struct {
	fakeBuilder
	n    *countedNetworks
	wait bool
	fail bool
	seen []int
}

func (b *networkWaitingBuilder) BuildImage(ctx context.Context, s *compose.Service, opts BuildOptions, out io.Writer) error {
	if b.wait {
		select {
		case <-b.n.ensured:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	b.mu.Lock()
	b.seen = append(b.seen, b.n.count())
	b.mu.Unlock()
	if b.fail {
		return errors.New("build failed")
	}
	return b.fakeBuilder.BuildImage(ctx, s, opts, out)
}

func networkedBuildProject() *compose.Project {
	p := buildProject()
	p.Networks = map[string]compose.Network{"default": {Name: "demo_default"}}
	for _, s := range p.Services {
		s.Networks = []compose.ServiceNetwork{{Key: "default", Name: "demo_default"}}
	}
	return p
}

func TestUpMakesNetworksWhileBuilding(t *testing.T) {
	wantLines := []string{"Network demo_default  Creating", "Network demo_default  Created"}
	// A guard, not a measure: an up that builds before it makes the
	// networks would wait for ever.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := networkedBuildProject()
	rt := newFakeRuntime()
	n := &countedNetworks{namedNetworks: namedNetworks{made: map[string]bool{}}, ensured: make(chan struct{})}
	b := &networkWaitingBuilder{fakeBuilder: fakeBuilder{rt: rt}, n: n, wait: true}
	ev := &kindEvents{kind: KindNetwork}
	if _, err := Up(ctx, p, rt, n, ev, UpOptions{Builder: b, Build: true}); err != nil {
		t.Fatalf("Up: %v", err)
	}
	if n.count() != 1 {
		t.Errorf("EnsureNetworks ran %d times, want once", n.count())
	}
	// The op reports them as it made them.
	if !slices.Equal(ev.lines, wantLines) {
		t.Errorf("up printed\n%s\nwant\n%s", strings.Join(ev.lines, "\n"), strings.Join(wantLines, "\n"))
	}
	if got := n.connections(); got != "demo-a-1,demo-b-1,demo-c-1,demo-d-1" {
		t.Errorf("connected %q", got)
	}

	// Networks that exist are the plan's to make (or recreate), after the
	// builds.
	b.wait, b.seen = false, nil
	ev.lines = nil
	if _, err := Up(ctx, p, rt, n, ev, UpOptions{Builder: b, Build: true}); err != nil {
		t.Fatalf("second Up: %v", err)
	}
	if !slices.Equal(b.seen, []int{1, 1}) || n.count() != 2 {
		t.Errorf("with networks up: builds saw %v EnsureNetworks calls, %d in all; want [1 1], 2", b.seen, n.count())
	}
	if len(ev.lines) != 0 {
		t.Errorf("second up printed %v", ev.lines)
	}
}

func TestUpFailedBuildRemovesNetworksMadeAhead(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := networkedBuildProject()
	rt := newFakeRuntime()
	n := &countedNetworks{namedNetworks: namedNetworks{made: map[string]bool{}}, ensured: make(chan struct{})}
	b := &networkWaitingBuilder{fakeBuilder: fakeBuilder{rt: rt}, n: n, wait: true, fail: true}
	ev := &kindEvents{kind: KindNetwork}
	if _, err := Up(ctx, p, rt, n, ev, UpOptions{Builder: b, Build: true}); err == nil || !strings.Contains(err.Error(), "build failed") {
		t.Fatalf("Up with a failing build = %v", err)
	}
	if got, _ := n.ObserveNetworks(ctx, p.Name); len(got) != 0 || n.networks[p.Name] {
		t.Errorf("networks left after a failed build: %v", got)
	}
	if calls := rt.callList(); calls != "" {
		t.Errorf("containers touched after a failed build: %s", calls)
	}
	if len(ev.lines) != 0 {
		t.Errorf("a failed build printed %v", ev.lines)
	}
}

// startingNetworks is a NetworkStarter whose project process is ready
// only once a container was created (with a guard against a wait for
// ever); it records its readiness and how often started was called.
type startingNetworks struct {
	namedNetworks
	rt      *fakeRuntime
	smu     sync.Mutex // guards the fields below
	ready   bool
	waits   int
	readyAt int // how many runtime calls were made when it was ready
}

func (n *startingNetworks) StartNetworks(ctx context.Context, p *compose.Project) (func() error, error) {
	if err := n.namedNetworks.EnsureNetworks(ctx, p); err != nil {
		return nil, err
	}
	return func() error {
		n.smu.Lock()
		n.waits++
		n.smu.Unlock()
		guard := time.After(10 * time.Second)
		for !strings.Contains(n.rt.callList(), "create ") {
			select {
			case <-n.rt.called:
			case <-guard:
				return errors.New("no container was created while the project's process started")
			}
		}
		n.smu.Lock()
		defer n.smu.Unlock()
		n.ready = true
		n.readyAt = len(strings.Split(n.rt.callList(), "\n"))
		return nil
	}, nil
}

// TestUpCreatesWhileProjectProcessStarts: with a NetworkStarter, up
// creates containers while the project's process starts, and makes no
// task (start or prepare) before it is ready; it waits for it once, also
// when it starts nothing.
func TestUpCreatesWhileProjectProcessStarts(t *testing.T) {
	for _, noStart := range []bool{false, true} {
		t.Run(fmt.Sprintf("no-start=%v", noStart), func(t *testing.T) {
			p := networkedBuildProject()
			rt := newFakeRuntime()
			n := &startingNetworks{namedNetworks: namedNetworks{made: map[string]bool{}}, rt: rt}
			b := &fakeBuilder{rt: rt}
			if _, err := Up(context.Background(), p, rt, n, nil, UpOptions{Builder: b, Build: true, NoStart: noStart}); err != nil {
				t.Fatalf("Up: %v", err)
			}
			n.smu.Lock()
			defer n.smu.Unlock()
			if !n.ready || n.waits != 1 {
				t.Fatalf("project process ready %v after %d waits, want ready after 1", n.ready, n.waits)
			}
			calls := strings.Split(rt.callList(), "\n")
			for i, call := range calls {
				if (strings.HasPrefix(call, "start ") || strings.HasPrefix(call, "prepare ")) && i < n.readyAt {
					t.Errorf("%q (call %d) before the project's process was ready (after call %d):\n%s", call, i+1, n.readyAt, strings.Join(calls, "\n"))
				}
			}
		})
	}
}
