package scheduler

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/berth/berth/compose"
)

func TestNewGraphErrors(t *testing.T) {
	self := project("a")
	self.Services[0].DependsOn["a"] = compose.Dependency{Required: true}
	netmode := project("a", "b")
	netmode.Service("b").NetworkMode = "service:c"
	disabled := project("a<-x")
	disabled.DisabledServices = []string{"x"}
	optional := project("a")
	optional.Service("a").DependsOn["x"] = compose.Dependency{Required: false}
	optional.DisabledServices = []string{"x"}
	tests := []struct {
		name    string
		p       *compose.Project
		wantErr string
	}{
		{"cycle", project("a<-b", "b<-c", "c<-a"), "dependency cycle: a -> b -> c -> a"},
		{"self cycle", self, "dependency cycle: a -> a"},
		{"unknown depends_on", project("a<-nope"), `service "a" depends on service "nope", which is not defined`},
		{"unknown network_mode service", netmode, `service "b" uses the network of service "c", which is not defined`},
		{"disabled required", disabled, `service "a" depends on service "x", which is not enabled`},
		{"disabled optional", optional, ""},
		{"diamond", project("a", "b<-a", "c<-a", "d<-b,c"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewGraph(tt.p)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("NewGraph = %v, want no error", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewGraph error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// walkOrder walks g and returns, for each service, the services that had
// finished before it started.
func walkOrder(t *testing.T, g *Graph, dir Direction, fail string) (map[string][]string, error) {
	t.Helper()
	var mu sync.Mutex
	done := map[string]bool{}
	before := map[string][]string{}
	err := g.Walk(context.Background(), dir, nil, -1, func(_ context.Context, s string) error {
		mu.Lock()
		defer mu.Unlock()
		before[s] = []string{}
		for d := range done {
			before[s] = append(before[s], d)
		}
		done[s] = true
		if s == fail {
			return errors.New("boom")
		}
		return nil
	})
	return before, err
}

func TestWalkOrder(t *testing.T) {
	g, err := NewGraph(project("a", "b<-a", "c<-a", "d<-b,c"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		dir   Direction
		after map[string][]string // service -> services that must be done before it
	}{
		{DependenciesFirst, map[string][]string{"b": {"a"}, "c": {"a"}, "d": {"a", "b", "c"}}},
		{DependentsFirst, map[string][]string{"a": {"b", "c", "d"}, "b": {"d"}, "c": {"d"}}},
	}
	for _, tt := range tests {
		before, err := walkOrder(t, g, tt.dir, "")
		if err != nil {
			t.Fatalf("Walk(%v) = %v", tt.dir, err)
		}
		for s, deps := range tt.after {
			for _, d := range deps {
				if !contains(before[s], d) {
					t.Errorf("Walk(%v): %s started before %s was done (done before it: %v)", tt.dir, s, d, before[s])
				}
			}
		}
	}
}

func TestWalkFailureSkipsDescendants(t *testing.T) {
	g, err := NewGraph(project("a", "b<-a", "c<-b", "x"))
	if err != nil {
		t.Fatal(err)
	}
	before, err := walkOrder(t, g, DependenciesFirst, "a")
	if err == nil {
		t.Fatal("Walk = nil, want the failure of a")
	}
	var we *WalkError
	if !errors.As(err, &we) {
		t.Fatalf("Walk error %T, want *WalkError", err)
	}
	var skipped *SkippedError
	if !errors.As(we.Errs["b"], &skipped) || skipped.Because != "a" {
		t.Errorf("b: %v, want skipped because of a", we.Errs["b"])
	}
	if !errors.As(we.Errs["c"], &skipped) || skipped.Because != "b" {
		t.Errorf("c: %v, want skipped because of b", we.Errs["c"])
	}
	if _, ran := before["x"]; !ran {
		t.Errorf("independent service x did not run")
	}
	for _, s := range []string{"b", "c"} {
		if _, ran := before[s]; ran {
			t.Errorf("%s ran although its dependency failed", s)
		}
	}
	if want := `service "b" skipped: "a" failed`; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
}

func TestWalkParallelLimit(t *testing.T) {
	g, err := NewGraph(project("a", "b", "c", "d", "e"))
	if err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{1, 2, -1} {
		var mu sync.Mutex
		inFlight, peak := 0, 0
		release := make(chan struct{})
		entered := make(chan struct{}, 5)
		go func() {
			// Let the walk fill every slot it may, then release one at a time.
			for i := 0; i < 5; i++ {
				<-entered
				release <- struct{}{}
			}
		}()
		err := g.Walk(context.Background(), DependenciesFirst, nil, limit, func(context.Context, string) error {
			mu.Lock()
			inFlight++
			peak = max(peak, inFlight)
			mu.Unlock()
			entered <- struct{}{}
			<-release
			mu.Lock()
			inFlight--
			mu.Unlock()
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if limit > 0 && peak > limit {
			t.Errorf("Walk(limit %d): %d ran at once", limit, peak)
		}
	}
}

func TestClosure(t *testing.T) {
	g, err := NewGraph(project("a", "b<-a", "c<-b", "x"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(g.WithDependencies([]string{"c"}), ","); got != "a,b,c" {
		t.Errorf("WithDependencies(c) = %s, want a,b,c", got)
	}
	if got := strings.Join(g.WithDependents([]string{"a"}), ","); got != "a,b,c" {
		t.Errorf("WithDependents(a) = %s, want a,b,c", got)
	}
}
