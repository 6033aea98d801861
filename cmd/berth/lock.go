package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berth/berth/runstate"
)

// lockProject takes the project's lock for a command that changes the
// project (see runstate.Lock): a second such command waits for the first,
// saying so once on standard error. Interrupted while it waits, the
// command ends with status 130. The caller unlocks it.
func lockProject(cmd *cobra.Command, project string) (*runstate.ProjectLock, error) {
	lock, err := runstate.Lock(cmd.Context(), runDir(), project, func() {
		fmt.Fprintf(cmd.ErrOrStderr(), "waiting for another berth command on project %s to finish\n", project)
	})
	if err != nil && cmd.Context().Err() != nil {
		return nil, fmt.Errorf("interrupted while waiting for another berth command on project %s", project)
	}
	return lock, err
}
