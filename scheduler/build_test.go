package scheduler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/berth/berth/compose"
)

// fakeBuilder records builds and "produces" an image in the fake runtime.
type fakeBuilder struct {
	mu     sync.Mutex
	rt     *fakeRuntime
	built  []string
	failOn string
}

func (b *fakeBuilder) BuildImage(_ context.Context, s *compose.Service, opts BuildOptions, _ io.Writer) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s.Name == b.failOn {
		return errors.New("build failed")
	}
	b.built = append(b.built, fmt.Sprintf("%s nocache=%v arg=%s", s.Name, opts.NoCache, opts.Args["V"]))
	b.rt.mu.Lock()
	b.rt.images[s.ImageName()] = "sha256:new-" + s.Name
	b.rt.mu.Unlock()
	return nil
}

func (b *fakeBuilder) list() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := append([]string{}, b.built...)
	sort.Strings(out)
	return strings.Join(out, "; ")
}

// buildProject has services a and b built (b shares a's image name), c
// built under its own name, d pulled.
func buildProject() *compose.Project {
	p := project("a", "b", "c<-a", "d")
	for _, s := range p.Services {
		if s.Name != "d" {
			s.Build = &compose.Build{Context: "/ctx"}
			s.HasBuild = true
		}
	}
	p.Service("b").Image = "a"
	p.Service("c").Image = ""
	return p
}

func TestBuild(t *testing.T) {
	tests := []struct {
		name     string
		services []string
		opts     BuildOptions
		present  []string
		want     string
		wantErr  string
	}{
		{name: "all, one build per image", want: "a nocache=false arg=; c nocache=false arg="},
		{name: "named", services: []string{"c"}, opts: BuildOptions{NoCache: true, Args: map[string]string{"V": "1"}}, want: "c nocache=true arg=1"},
		{name: "missing only", opts: BuildOptions{Missing: true}, present: []string{"a"}, want: "c nocache=false arg="},
		{name: "unknown service", services: []string{"zz"}, wantErr: `no such service: zz`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := newFakeRuntime()
			for _, img := range tt.present {
				rt.images[img] = "sha256:old"
			}
			b := &fakeBuilder{rt: rt}
			err := Build(context.Background(), buildProject(), rt, b, tt.services, tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Build = %v; want error %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := b.list(); got != tt.want {
				t.Errorf("built %q, want %q", got, tt.want)
			}
		})
	}
}

func TestUpBuildsMissingAndRecreatesOnImageChange(t *testing.T) {
	ctx := context.Background()
	p := buildProject()
	rt, nw := newFakeRuntime(), &fakeNetwork{}
	b := &fakeBuilder{rt: rt}
	if _, err := Up(ctx, p, rt, nw, nil, UpOptions{Builder: b}); err != nil {
		t.Fatal(err)
	}
	if got := b.list(); got != "a nocache=false arg=; c nocache=false arg=" {
		t.Errorf("first up built %q", got)
	}

	// Nothing changed: no build, no recreate.
	b.built = nil
	plan, err := Up(ctx, p, rt, nw, nil, UpOptions{Builder: b})
	if err != nil {
		t.Fatal(err)
	}
	if b.list() != "" || plan.Changes() {
		t.Errorf("second up built %q, plan:\n%s", b.list(), plan)
	}

	// up --build of c gives a new image: c is recreated, a is not.
	b.built = nil
	rt.images["demo-c"] = "sha256:older"
	for name, c := range rt.containers {
		if c.Labels.Service() == "c" {
			c.Labels[compose.LabelImageID] = "sha256:older"
			rt.containers[name] = c
		}
	}
	plan, err = Up(ctx, p, rt, nw, nil, UpOptions{Builder: b, Build: true, ReconcileOptions: ReconcileOptions{Services: []string{"c"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := b.list(); got != "a nocache=false arg=; c nocache=false arg=" {
		t.Errorf("up --build c built %q (c and its dependency a)", got)
	}
	if s := plan.String(); !strings.Contains(s, "recreate demo-c-1 (image changed)") || strings.Contains(s, "recreate demo-a-1") {
		t.Errorf("plan:\n%s", s)
	}

	// A failed build fails up before any container is touched.
	b.failOn = "c"
	rt.calls = nil
	if _, err := Up(ctx, p, rt, nw, nil, UpOptions{Builder: b, Build: true}); err == nil || !strings.Contains(err.Error(), "build failed") {
		t.Fatalf("up with a failing build = %v", err)
	}
	if calls := rt.callList(); calls != "" {
		t.Errorf("containers touched after a failed build: %s", calls)
	}
}

// gatedBuilder fails the build of failOn at once; every other build waits
// until that failure was returned and then records whether its context
// was cancelled.
type gatedBuilder struct {
	failOn  string
	failed  chan struct{}
	mu      sync.Mutex
	outcome map[string]error
}

func (b *gatedBuilder) BuildImage(ctx context.Context, s *compose.Service, _ BuildOptions, _ io.Writer) error {
	if s.Name == b.failOn {
		defer close(b.failed)
		return errors.New("RUN exited 1")
	}
	<-b.failed
	b.mu.Lock()
	defer b.mu.Unlock()
	b.outcome[s.Name] = ctx.Err()
	return ctx.Err()
}

// TestBuildFailureLetsOthersFinish: one service's failed build does not
// cancel the others; Build returns the failure once they are done.
func TestBuildFailureLetsOthersFinish(t *testing.T) {
	b := &gatedBuilder{failOn: "a", failed: make(chan struct{}), outcome: map[string]error{}}
	err := Build(context.Background(), buildProject(), newFakeRuntime(), b, nil, BuildOptions{})
	if err == nil || !strings.Contains(err.Error(), "RUN exited 1") {
		t.Fatalf("Build = %v, want the failure of a", err)
	}
	if got, ok := b.outcome["c"]; !ok || got != nil {
		t.Errorf("c's build: ran %v, context error %v; want it run to its end", ok, got)
	}
}

// orderBuilder records the order builds end in.
type orderBuilder struct {
	mu    sync.Mutex
	order []string
	fail  string
}

func (b *orderBuilder) BuildImage(_ context.Context, s *compose.Service, _ BuildOptions, _ io.Writer) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s.Name == b.fail {
		return errors.New("RUN exited 1")
	}
	b.order = append(b.order, s.Name)
	return nil
}

// TestBuildServiceContexts: a build that uses another service's image
// (service: context) runs after it, builds it even when only the user
// is named, does not run when it failed, and a cycle is refused.
func TestBuildServiceContexts(t *testing.T) {
	proj := func(after map[string][]string) *compose.Project {
		p := project("app", "lib", "base")
		for _, s := range p.Services {
			s.Image = ""
			s.Build = &compose.Build{Context: "/ctx", After: after[s.Name]}
		}
		return p
	}
	b := &orderBuilder{}
	if err := Build(context.Background(), proj(map[string][]string{"app": {"lib"}, "lib": {"base"}}), newFakeRuntime(), b, []string{"app"}, BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(b.order, ","); got != "base,lib,app" {
		t.Errorf("built %s, want base,lib,app", got)
	}
	b = &orderBuilder{fail: "lib"}
	err := Build(context.Background(), proj(map[string][]string{"app": {"lib"}}), newFakeRuntime(), b, nil, BuildOptions{})
	if err == nil || !strings.Contains(err.Error(), `service "app": not built: the build of service "lib", whose image it uses, failed`) || slices.Contains(b.order, "app") {
		t.Errorf("Build with lib failing = %v, built %v", err, b.order)
	}
	err = Build(context.Background(), proj(map[string][]string{"app": {"lib"}, "lib": {"app"}}), newFakeRuntime(), &orderBuilder{}, nil, BuildOptions{})
	if err == nil || !strings.Contains(err.Error(), "build cycle: app -> lib -> app") {
		t.Errorf("Build with a cycle = %v", err)
	}
}
