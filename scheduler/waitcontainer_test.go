package scheduler

import (
	"context"
	"strings"
	"testing"
)

func TestWaitContainer(t *testing.T) {
	p := project("a")
	f := newFakeRuntime()
	f.add(p, "a", 1, StateRunning, "h")
	f.add(p, "a", 2, StateRunning, "h")
	type result struct {
		c   Container
		err error
	}
	done := make(chan result, 1)
	started := make(chan struct{})
	go func() {
		close(started)
		c, err := WaitContainer(context.Background(), f, "demo", "demo-a-2")
		done <- result{c, err}
	}()
	<-started
	f.set("demo-a-1", func(c *Container) { c.State, c.ExitCode = StateExited, 1 }) // another replica
	f.set("demo-a-2", func(c *Container) { c.State, c.ExitCode = StateExited, 7 })
	r := <-done
	if r.err != nil || r.c.Name != "demo-a-2" || r.c.ExitCode != 7 {
		t.Errorf("WaitContainer(demo-a-2) = %s exit %d, %v; want demo-a-2 exit 7", r.c.Name, r.c.ExitCode, r.err)
	}
	if _, err := WaitContainer(context.Background(), f, "demo", "demo-a-9"); err == nil || !strings.Contains(err.Error(), "demo-a-9 was removed") {
		t.Errorf("WaitContainer of a missing container = %v", err)
	}
}
