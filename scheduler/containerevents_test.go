package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth/berth/compose"
)

func healthLabels(t *testing.T, status HealthStatus, streak int) compose.Labels {
	t.Helper()
	b, err := json.Marshal(Health{Status: status, FailingStreak: streak})
	if err != nil {
		t.Fatal(err)
	}
	return compose.Labels{compose.LabelHealth: string(b), compose.LabelService: "web"}
}

func TestDockerAction(t *testing.T) {
	starting, healthy, unhealthy := healthLabels(t, HealthStarting, 0), healthLabels(t, HealthHealthy, 0), healthLabels(t, HealthUnhealthy, 3)
	healthyAgain := healthLabels(t, HealthHealthy, 0)
	healthyAgain[compose.LabelRestartCount] = "1"
	none := compose.Labels{compose.LabelService: "web"}
	tests := []struct {
		name   string
		ev     RuntimeEvent
		before compose.Labels
		want   Action
		attrs  map[string]string
		wantOK bool
	}{
		{"create", RuntimeEvent{Kind: EventCreated}, none, ActionCreate, nil, true},
		{"start", RuntimeEvent{Kind: EventStarted}, none, ActionStart, nil, true},
		{"exit", RuntimeEvent{Kind: EventExited, ExitCode: 3}, none, ActionDie, map[string]string{"exitCode": "3"}, true},
		{"kill", RuntimeEvent{Kind: EventKilled, Signal: 9}, none, ActionKill, map[string]string{"signal": "9"}, true},
		{"stop", RuntimeEvent{Kind: EventStopped}, none, ActionStop, nil, true},
		{"pause", RuntimeEvent{Kind: EventPaused}, none, ActionPause, nil, true},
		{"resume", RuntimeEvent{Kind: EventResumed}, none, ActionUnpause, nil, true},
		{"oom", RuntimeEvent{Kind: EventOOM}, none, ActionOOM, nil, true},
		{"delete", RuntimeEvent{Kind: EventDeleted}, none, ActionDestroy, nil, true},
		{"health recorded as starting", RuntimeEvent{Kind: EventUpdated, Labels: starting}, none, "", nil, false},
		{"starting to healthy", RuntimeEvent{Kind: EventUpdated, Labels: healthy}, starting, "health_status: healthy", nil, true},
		{"no health to healthy", RuntimeEvent{Kind: EventUpdated, Labels: healthy}, none, "health_status: healthy", nil, true},
		{"healthy to unhealthy", RuntimeEvent{Kind: EventUpdated, Labels: unhealthy}, healthy, "health_status: unhealthy", nil, true},
		{"unhealthy to healthy", RuntimeEvent{Kind: EventUpdated, Labels: healthy}, unhealthy, "health_status: healthy", nil, true},
		{"healthy, other labels changed", RuntimeEvent{Kind: EventUpdated, Labels: healthyAgain}, healthy, "", nil, false},
		{"health cleared by a start", RuntimeEvent{Kind: EventUpdated, Labels: none}, healthy, "", nil, false},
		{"unknown kind", RuntimeEvent{Kind: "checkpoint"}, none, "", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, attrs, ok := DockerAction(tt.ev, tt.before)
			if got != tt.want || ok != tt.wantOK || !maps.Equal(attrs, tt.attrs) {
				t.Errorf("DockerAction(%+v) = %q, %v, %v; want %q, %v, %v", tt.ev, got, attrs, ok, tt.want, tt.attrs, tt.wantOK)
			}
		})
	}
}

// eventRuntime is an EventSource whose containers the test changes before
// it sends the events that tell of the change, as containerd does.
type eventRuntime struct {
	mu         sync.Mutex // guards following
	containers map[string]Container
	lists      int

	events chan RuntimeEvent
}

func (r *eventRuntime) Containers(_ context.Context, project string) ([]Container, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lists++
	var out []Container
	for _, c := range r.containers {
		if c.Labels.Project() == project {
			out = append(out, c)
		}
	}
	return out, nil
}

func (r *eventRuntime) Events(context.Context) (<-chan RuntimeEvent, <-chan error) {
	return r.events, make(chan error)
}

func (r *eventRuntime) set(c Container) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.containers[c.ID] = c
}

func (r *eventRuntime) remove(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.containers, id)
}

func eventContainer(project, service string, oneOff bool, extra map[string]string) Container {
	id := compose.ContainerName(project, service, 1)
	l := compose.Labels{compose.LabelProject: project, compose.LabelService: service, compose.LabelOneOff: "False",
		compose.LabelConfigHash: "abc", compose.LabelLogPath: "/var/log/x"}
	if oneOff {
		l[compose.LabelOneOff] = "True"
		id += "-run"
	}
	maps.Copy(l, extra)
	return Container{ID: id, Name: id, Image: "busybox", Labels: l}
}

func TestFollowEvents(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	web := eventContainer("p", "web", false, map[string]string{"tier": "front"})
	rt := &eventRuntime{containers: map[string]Container{web.ID: web}, events: make(chan RuntimeEvent)}
	db := eventContainer("p", "db", false, nil)
	run := eventContainer("p", "web", true, nil)
	foreign := eventContainer("q", "web", false, nil)

	for _, tt := range []struct {
		name     string
		services []string
		want     []string
	}{
		{"all services", nil, []string{
			"create p-db-1 image=busybox,name=p-db-1 service=db",
			"start p-db-1 image=busybox,name=p-db-1 service=db",
			"health_status: healthy p-db-1 image=busybox,name=p-db-1 service=db",
			"pause p-web-1 image=busybox,name=p-web-1,tier=front service=web",
			"unpause p-web-1 image=busybox,name=p-web-1,tier=front service=web",
			"kill p-web-1 image=busybox,name=p-web-1,signal=9,tier=front service=web",
			"die p-web-1 exitCode=137,image=busybox,name=p-web-1,tier=front service=web",
			"oom p-db-1 image=busybox,name=p-db-1 service=db",
			"die p-db-1 exitCode=3,image=busybox,name=p-db-1 service=db",
			"destroy p-db-1 image=busybox,name=p-db-1 service=db",
		}},
		{"web only", []string{"web"}, []string{
			"pause p-web-1 image=busybox,name=p-web-1,tier=front service=web",
			"unpause p-web-1 image=busybox,name=p-web-1,tier=front service=web",
			"kill p-web-1 image=busybox,name=p-web-1,signal=9,tier=front service=web",
			"die p-web-1 exitCode=137,image=busybox,name=p-web-1,tier=front service=web",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rt.set(web)
			rt.remove(db.ID)
			rt.lists = 0
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var got []string
			done := make(chan error, 1)
			go func() {
				done <- FollowEvents(ctx, rt, "p", tt.services, func(e ContainerEvent) error {
					if !e.Time.Equal(at) {
						t.Errorf("event %s at %s, want %s", e.Action, e.Time, at)
					}
					var attrs []string
					for _, k := range slices.Sorted(maps.Keys(e.Attributes)) {
						attrs = append(attrs, k+"="+e.Attributes[k])
					}
					got = append(got, fmt.Sprintf("%s %s %s service=%s", e.Action, e.ID, strings.Join(attrs, ","), e.Service))
					return nil
				})
			}()
			send := func(kind RuntimeEventKind, c Container, f func(*RuntimeEvent)) {
				ev := RuntimeEvent{Kind: kind, Container: c.ID, At: at}
				if f != nil {
					f(&ev)
				}
				rt.events <- ev
			}
			// An update carries all the container's labels.
			health := func(c Container, status HealthStatus) func(*RuntimeEvent) {
				l := maps.Clone(c.Labels)
				l[compose.LabelHealth] = healthLabels(t, status, 0)[compose.LabelHealth]
				return func(ev *RuntimeEvent) { ev.Labels = l }
			}
			// Another project's container: listed for once, then known.
			rt.set(foreign)
			send(EventCreated, foreign, nil)
			send(EventStarted, foreign, nil)
			rt.set(db)
			send(EventCreated, db, nil)
			send(EventStarted, db, nil)
			send(EventUpdated, db, health(db, HealthStarting))
			send(EventUpdated, db, health(db, HealthHealthy))
			send(EventUpdated, db, health(db, HealthHealthy))
			// A one-off container of the project: left out.
			rt.set(run)
			send(EventCreated, run, nil)
			send(EventStarted, run, nil)
			send(EventPaused, web, nil)
			send(EventResumed, web, nil)
			send(EventKilled, web, func(ev *RuntimeEvent) { ev.Signal = 9 })
			send(EventExited, web, func(ev *RuntimeEvent) { ev.ExitCode = 137 })
			send(EventOOM, db, nil)
			send(EventExited, db, func(ev *RuntimeEvent) { ev.ExitCode = 3 })
			rt.remove(db.ID)
			send(EventDeleted, db, nil)
			rt.remove(run.ID)
			send(EventDeleted, run, nil)
			rt.remove(foreign.ID)
			send(EventDeleted, foreign, nil)
			// A barrier: the events before it were all handled.
			send(EventPaused, foreign, nil)
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("FollowEvents: %v", err)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			// At start, and at the first event of foreign, db, run and (deleted) foreign again.
			if rt.lists != 5 {
				t.Errorf("listed the containers %d times, want 5", rt.lists)
			}
		})
	}
}

func TestFollowEventsEmitError(t *testing.T) {
	web := eventContainer("p", "web", false, nil)
	rt := &eventRuntime{containers: map[string]Container{web.ID: web}, events: make(chan RuntimeEvent, 1)}
	rt.events <- RuntimeEvent{Kind: EventStarted, Container: web.ID}
	stop := fmt.Errorf("stdout closed")
	err := FollowEvents(context.Background(), rt, "p", nil, func(ContainerEvent) error { return stop })
	if err != stop {
		t.Errorf("FollowEvents = %v, want the emit error", err)
	}
}
