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
		Short: "Wait until a container of the services exits; print its exit code and exit with it",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runWait(cmd, g, opts, args)
		},
	}
	cmd.Flags().BoolVar(&opts.downProject, "down-project", false, "Then take the whole project down (as berth down --remove-orphans)")
	return cmd
}

func runWait(cmd *cobra.Command, g *globalOptions, opts waitOptions, services []string) error {
	if g.kube.Enabled() {
		return runKubeWait(cmd, g, opts, services)
	}
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
	code := 0
	if c != nil {
		code = c.ExitCode
		fmt.Fprintln(cmd.OutOrStdout(), code)
	}
	if opts.downProject {
		if err := runDown(cmd, g, downOptions{removeOrphans: true, timeout: -1}, nil); err != nil {
			return err
		}
	}
	// berth's exit status is the container's, as docker compose wait's.
	if code != 0 {
		return exitError{code: code}
	}
	return nil
}
