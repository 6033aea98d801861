package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berth/berth/scheduler"
)

func newContainerWaitCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "wait CONTAINER [CONTAINER...]",
		Short: "Block until one or more containers stop, then print their exit codes",
		Long: `Wait for each container to exit (one that has already exited counts) and
print its exit code, one line each, as docker wait does; berth's own exit
status is 0 unless a container cannot be waited for.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runContainerWait(cmd, g, args)
		},
	}
}

func runContainerWait(cmd *cobra.Command, g *globalOptions, refs []string) error {
	ctx := cmd.Context()
	rt, err := g.connect(ctx, scheduler.Discard)
	if err != nil {
		return err
	}
	defer rt.Close()
	failed := false
	for _, ref := range refs {
		err := func() error {
			c, err := findContainerIn(ctx, rt, ref)
			if err != nil {
				return err
			}
			if c.State == scheduler.StateExited {
				fmt.Fprintln(cmd.OutOrStdout(), c.ExitCode)
				return nil
			}
			exited, err := scheduler.WaitExit(ctx, rt, c.Labels.Project(), []string{c.Labels.Service()})
			if err != nil {
				return err
			}
			if exited == nil {
				return errors.New("no container exited")
			}
			fmt.Fprintln(cmd.OutOrStdout(), exited.ExitCode)
			return nil
		}()
		if err != nil {
			fmt.Fprintln(cmd.ErrOrStderr(), err)
			failed = true
		}
	}
	if failed {
		return exitError{code: 1}
	}
	return nil
}
