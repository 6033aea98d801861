package scheduler

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/berth/berth/compose"
)

// markedEvents records the marks it is given, one a line.
type markedEvents struct {
	mu    sync.Mutex
	marks []string
}

func (m *markedEvents) Emit(Event) {}

func (m *markedEvents) Mark(k Mark) {
	m.mu.Lock()
	defer m.mu.Unlock()
	line := fmt.Sprintf("%s %s", k.Kind, k.Service)
	if k.Dependency != "" {
		line += " on " + k.Dependency
	}
	if k.Container != "" {
		line += " " + k.Container
	}
	if k.Health != nil {
		line += " " + string(k.Health.Status)
	}
	if k.Condition != "" {
		line += " " + string(k.Condition)
	}
	if k.Err != "" {
		line += " err=" + k.Err
	}
	m.marks = append(m.marks, line)
}

func (m *markedEvents) text() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return strings.Join(m.marks, "\n")
}

// TestDependencyWaitMarks: a dependency wait is marked at its begin and
// end, with the health its dependency was seen with and, failed, why.
func TestDependencyWaitMarks(t *testing.T) {
	for _, tt := range []struct {
		name string
		db   HealthStatus
		want []string
	}{
		{"met", HealthHealthy, []string{
			"wait-begin api on db service_healthy",
			"health db demo-db-1 healthy",
			"wait-end api on db service_healthy",
			"wait-end api on migrate service_completed_successfully",
		}},
		{"failed", HealthUnhealthy, []string{
			"wait-begin api on db service_healthy",
			"health db demo-db-1 unhealthy",
			"wait-end api on db service_healthy err=container demo-db-1 is unhealthy",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, n := newFakeRuntime(), &fakeNetwork{}
			ev := &markedEvents{}
			done := make(chan error, 1)
			go func() {
				_, err := Up(context.Background(), depProject(), f, n, ev, UpOptions{})
				done <- err
			}()
			waitCall(t, f, "prepare demo-api-1")
			f.set("demo-db-1", func(c *Container) { c.Labels[compose.LabelHealth] = healthJSON(tt.db, "pg down") })
			f.set("demo-cache-1", func(c *Container) { c.Labels[compose.LabelHealth] = healthJSON(HealthHealthy, "") })
			f.set("demo-migrate-1", func(c *Container) { c.State, c.ExitCode = StateExited, 0 })
			<-done
			got := ev.text()
			for _, want := range tt.want {
				if !strings.Contains(got, want) {
					t.Errorf("marks lack %q:\n%s", want, got)
				}
			}
		})
	}
}

// TestWaitReadyMarks: up --wait marks each service's judgement once.
func TestWaitReadyMarks(t *testing.T) {
	p := project("db", "web")
	f := newFakeRuntime()
	for _, s := range []string{"db", "web"} {
		f.add(p, s, 1, StateRunning, "h-"+s)
	}
	f.containers["demo-db-1"].Labels[compose.LabelHealthcheck] = `{"Test":["CMD","true"]}`
	f.containers["demo-db-1"].Labels[compose.LabelHealth] = healthJSON(HealthUnhealthy, "nope")
	ev := &markedEvents{}
	err := WaitReady(context.Background(), p, f, ev, []string{"web", "db"}, 0)
	if err == nil {
		t.Fatal("WaitReady with db unhealthy succeeded")
	}
	want := "ready web service_started\nhealth db demo-db-1 unhealthy\nready db service_healthy err=container demo-db-1 is unhealthy"
	if got := ev.text(); got != want {
		t.Errorf("marks:\n%s\nwant:\n%s", got, want)
	}
}
