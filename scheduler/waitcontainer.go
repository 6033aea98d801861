package scheduler

import (
	"context"
	"fmt"
)

// WaitContainer waits, woken by the runtime's events, until the container
// named name of project has exited (one that already has counts), and
// returns it as it then is: berth attach ends with its exit code. A
// container that is removed meanwhile is an error.
func WaitContainer(ctx context.Context, rt Runtime, project, name string) (Container, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, errs := rt.Events(ctx)
	for {
		all, err := rt.Containers(ctx, project)
		if err != nil {
			return Container{}, err
		}
		found := false
		for _, c := range all {
			if c.Name != name {
				continue
			}
			found = true
			if c.State == StateExited {
				return c, nil
			}
		}
		if !found {
			return Container{}, fmt.Errorf("container %s was removed", name)
		}
		select {
		case <-ctx.Done():
			return Container{}, ctx.Err()
		case err := <-errs:
			return Container{}, fmt.Errorf("runtime events: %w", err)
		case <-events:
		}
	}
}
