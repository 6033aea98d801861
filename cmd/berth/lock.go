package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berth/berth/runstate"
	"github.com/berth/berth/scheduler"
)

// lockProject takes the project's lock for a command that changes the
// project (see runstate.Lock): a second such command waits for the first,
// saying so once on standard error. The lock is the namespace's (see
// namespaceRunDir). Interrupted while it waits, the
// command ends with status 130. The caller unlocks it.
func lockProject(cmd *cobra.Command, g *globalOptions, project string) (*runstate.ProjectLock, error) {
	lock, err := runstate.Lock(cmd.Context(), g.namespaceRunDir(), project, func() {
		fmt.Fprintf(cmd.ErrOrStderr(), "waiting for another berth command on project %s to finish\n", project)
	})
	if err != nil && cmd.Context().Err() != nil {
		return nil, fmt.Errorf("interrupted while waiting for another berth command on project %s", project)
	}
	return lock, err
}

// containerLister is what endProject needs of the runtime.
type containerLister interface {
	Containers(ctx context.Context, project string) ([]scheduler.Container, error)
}

// endProject ends the command's hold of the project's lock
// (runstate.ProjectLock.End): its lock file goes when rt lists no
// container of the project.
func endProject(ctx context.Context, lock *runstate.ProjectLock, rt containerLister, project string) {
	lock.End(func() (int, error) {
		cs, err := rt.Containers(context.WithoutCancel(ctx), project)
		return len(cs), err
	})
}
