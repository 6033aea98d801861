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

// TestFollowContainersStopWithoutExitEvent: a container stopped by berth
// whose exit event never came is reported exited from the listing at
// berth's stop event; an exit reported from its event, or an exit event
// coming after the stop's, is not reported twice.
func TestFollowContainersStopWithoutExitEvent(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	web1 := followContainer("web", 1, "no", false)
	web2 := followContainer("web", 2, "no", false)
	f := &followFake{events: make(chan RuntimeEvent), errs: make(chan error, 1)}
	f.set(web1, web2)
	var log []string
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- FollowContainers(ctx, f, "demo", nil, FollowHandler{
			Exited: func(c Container, code int, restarting bool) {
				log = append(log, fmt.Sprintf("exited %s %d", ShortName(c), code))
			},
		})
	}()
	stopped1, stopped2 := web1, web2
	stopped1.State, stopped1.ExitCode, stopped1.FinishedAt = StateExited, 0, at
	stopped2.State, stopped2.ExitCode, stopped2.FinishedAt = StateExited, 143, at.Add(time.Second)
	f.set(stopped1, stopped2)
	// web-1: its exit event comes, then the stop's; web-2: the exit event
	// is lost.
	f.events <- RuntimeEvent{Kind: EventExited, Container: web1.ID, ExitCode: 0, At: at}
	f.events <- RuntimeEvent{Kind: EventStopped, Container: web1.ID}
	f.events <- RuntimeEvent{Kind: EventStopped, Container: web2.ID}
	// web-3: its exit event comes late, after the stop's.
	web3 := followContainer("web", 3, "no", false)
	f.set(stopped1, stopped2, web3)
	f.events <- RuntimeEvent{Kind: EventCreated, Container: web3.ID}
	stopped3 := web3
	stopped3.State, stopped3.ExitCode, stopped3.FinishedAt = StateExited, 2, at.Add(2*time.Second)
	f.set(stopped1, stopped2, stopped3)
	f.events <- RuntimeEvent{Kind: EventStopped, Container: web3.ID}
	f.events <- RuntimeEvent{Kind: EventExited, Container: web3.ID, ExitCode: 2, At: at.Add(2 * time.Second)}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("FollowContainers: %v", err)
	}
	if got, want := strings.Join(log, "|"), "exited web-1 0|exited web-2 143|exited web-3 2"; got != want {
		t.Errorf("FollowContainers saw %q, want %q", got, want)
	}
}
