package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berth/berth/scheduler"
)

type waitOptions struct {
	downProject bool
}

func newWaitCmd(g *globalOptions) *cobra.Command {
	opts := waitOptions{}
	cmd := &cobra.Command{
		Use:   "wait SERVICE...",
		Short: "Wait until a container of the services exits, and print its exit code",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runWait(cmd, g, opts, args)
		},
	}
	cmd.Flags().BoolVar(&opts.downProject, "down-project", false, "Then take the whole project down (as berth down --remove-orphans)")
	return cmd
}

func runWait(cmd *cobra.Command, g *globalOptions, opts waitOptions, services []string) error {
	ctx := cmd.Context()
	p, rt, err := g.serviceProject(ctx, services)
	if err != nil {
		return err
	}
	defer rt.Close()
	c, err := scheduler.WaitExit(ctx, rt, p.Name, services)
	if err != nil {
		return err
	}
	if c != nil {
		fmt.Fprintln(cmd.OutOrStdout(), c.ExitCode)
	}
	if opts.downProject {
		return runDown(cmd, g, downOptions{removeOrphans: true, timeout: -1}, nil)
	}
	return nil
}
