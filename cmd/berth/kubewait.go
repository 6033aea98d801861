package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// runKubeWait is wait on a cluster: wait until a container of the
// services' pods exits, print its exit code and exit with it. A name the
// compose file does not have, or a service with nothing on the cluster,
// is an error rather than a wait that never ends.
func runKubeWait(cmd *cobra.Command, g *globalOptions, opts waitOptions, services []string) error {
	ctx := cmd.Context()
	project, c, err := g.kubeServiceProject(ctx, services)
	if err != nil {
		return err
	}
	e, err := c.WaitExit(ctx, project, services)
	if err != nil {
		return err
	}
	fmt.Fprintln(cmd.OutOrStdout(), e.ExitCode)
	if opts.downProject {
		if err := runKubeDown(cmd, g, downOptions{}, nil); err != nil {
			return err
		}
	}
	if e.ExitCode != 0 {
		return exitError{code: e.ExitCode}
	}
	return nil
}
