package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth/berth/compose"
)

func TestShortName(t *testing.T) {
	labels := func(project, service, number string) compose.Labels {
		return compose.Labels{compose.LabelProject: project, compose.LabelService: service, compose.LabelNumber: number}
	}
	tests := []struct {
		c    Container
		want string
	}{
		{Container{Name: "demo-web-1", Labels: labels("demo", "web", "1")}, "web-1"},
		{Container{Name: "my-app-web-12", Labels: labels("my-app", "web", "12")}, "web-12"},
		{Container{Name: "custom", Labels: labels("demo", "web", "1")}, "custom"},
		{Container{Name: "demo-web-run-1a2b", Labels: labels("demo", "web", "1")}, "demo-web-run-1a2b"},
	}
	for _, tt := range tests {
		if got := ShortName(tt.c); got != tt.want {
			t.Errorf("ShortName(%q) = %q, want %q", tt.c.Name, got, tt.want)
		}
	}
}

// followFake is a runtime whose container list and events the test sets.
type followFake struct {
	mu     sync.Mutex // guards cs
	cs     []Container
	events chan RuntimeEvent
	errs   chan error
}

func (f *followFake) Containers(context.Context, string) ([]Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Container(nil), f.cs...), nil
}

func (f *followFake) Events(context.Context) (<-chan RuntimeEvent, <-chan error) {
	return f.events, f.errs
}

func (f *followFake) set(cs ...Container) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cs = cs
}

func followContainer(service string, n int, restart string, oneOff bool) Container {
	l := compose.Labels{
		compose.LabelProject: "demo", compose.LabelService: service,
		compose.LabelNumber: fmt.Sprint(n),
	}
	b, _ := json.Marshal(compose.RestartPolicy{Condition: restart})
	l[compose.LabelRestart] = string(b)
	if oneOff {
		l[compose.LabelOneOff] = "true"
	}
	name := fmt.Sprintf("demo-%s-%d", service, n)
	return Container{ID: name, Name: name, Labels: l, State: StateRunning}
}

// TestFollowContainers: containers there at the start and those created
// later are added once each, exits say whether the restart policy starts
// the container again, and other services and one-offs are left out.
func TestFollowContainers(t *testing.T) {
	web1 := followContainer("web", 1, "no", false)
	web2 := followContainer("web", 2, "always", false)
	db1 := followContainer("db", 1, "no", false)
	run := followContainer("web", 9, "no", true)
	f := &followFake{events: make(chan RuntimeEvent), errs: make(chan error, 1)}
	f.set(web1, db1)

	var log []string
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- FollowContainers(ctx, f, "demo", []string{"web"}, FollowHandler{
			Added: func(c Container) { log = append(log, "added "+ShortName(c)) },
			Exited: func(c Container, code int, restarting bool) {
				log = append(log, fmt.Sprintf("exited %s %d %v", ShortName(c), code, restarting))
			},
			Removed: func(c Container) { log = append(log, "removed "+ShortName(c)) },
		})
	}()
	send := func(ev RuntimeEvent) { f.events <- ev }
	f.set(web1, db1, web2, run)
	send(RuntimeEvent{Kind: EventCreated, Container: web2.ID})
	send(RuntimeEvent{Kind: EventCreated, Container: run.ID})
	send(RuntimeEvent{Kind: EventStarted, Container: web2.ID})
	send(RuntimeEvent{Kind: EventExited, Container: web2.ID, ExitCode: 3})
	send(RuntimeEvent{Kind: EventExited, Container: db1.ID, ExitCode: 1})
	send(RuntimeEvent{Kind: EventExited, Container: web1.ID, ExitCode: 0})
	f.set(web2, db1, run)
	send(RuntimeEvent{Kind: EventDeleted, Container: web1.ID})
	send(RuntimeEvent{Kind: EventDeleted, Container: db1.ID})
	// web-1 comes back (recreated under its name): it is added again.
	f.set(web1, web2, db1, run)
	send(RuntimeEvent{Kind: EventCreated, Container: web1.ID})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("FollowContainers: %v", err)
	}
	want := "added web-1|added web-2|exited web-2 3 true|exited web-1 0 false|removed web-1|added web-1"
	if got := strings.Join(log, "|"); got != want {
		t.Errorf("FollowContainers saw\n%s\nwant\n%s", got, want)
	}
}

func TestFollowContainersEventError(t *testing.T) {
	f := &followFake{events: make(chan RuntimeEvent), errs: make(chan error, 1)}
	f.errs <- fmt.Errorf("stream broke")
	err := FollowContainers(context.Background(), f, "demo", nil, FollowHandler{})
	if err == nil || !strings.Contains(err.Error(), "stream broke") {
		t.Errorf("FollowContainers with a broken stream = %v, want its error", err)
	}
}

// TestFollowContainersExitedSince: a container that exited after
// ExitedSince, before the follow began, is reported once, though its exit
// event comes after the listing; one that exited before is not.
func TestFollowContainersExitedSince(t *testing.T) {
	since := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	quick := followContainer("quick", 1, "no", false)
	quick.State, quick.ExitCode, quick.FinishedAt = StateExited, 3, since.Add(time.Second)
	old := followContainer("old", 1, "no", false)
	old.State, old.FinishedAt = StateExited, since.Add(-time.Second)
	f := &followFake{events: make(chan RuntimeEvent), errs: make(chan error, 1)}
	f.set(quick, old)
	var log []string
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- FollowContainers(ctx, f, "demo", nil, FollowHandler{
			Exited: func(c Container, code int, restarting bool) {
				log = append(log, fmt.Sprintf("exited %s %d", ShortName(c), code))
			},
			ExitedSince: since,
		})
	}()
	f.events <- RuntimeEvent{Kind: EventExited, Container: quick.ID, ExitCode: 3, At: quick.FinishedAt}
	f.events <- RuntimeEvent{Kind: EventExited, Container: quick.ID, ExitCode: 4, At: quick.FinishedAt.Add(time.Second)}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("FollowContainers: %v", err)
	}
	if got, want := strings.Join(log, "|"), "exited quick-1 3|exited quick-1 4"; got != want {
		t.Errorf("FollowContainers saw %q, want %q", got, want)
	}
}
