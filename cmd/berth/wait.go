package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berth/berth/scheduler"
)

func newWaitCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "wait SERVICE...",
		Short: "Wait until a container of the services exits, and print its exit code",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			p, err := g.loadProject(ctx, args...)
			if err != nil {
				return err
			}
			if err := selectServices(p, args); err != nil {
				return err
			}
			rt, err := g.connect(ctx, scheduler.Discard)
			if err != nil {
				return err
			}
			defer rt.Close()
			res, err := scheduler.WaitAttached(ctx, rt, p.Name, args, scheduler.AttachOptions{AbortOnExit: true})
			if err != nil {
				return err
			}
			if res.Container != nil {
				fmt.Fprintln(cmd.OutOrStdout(), res.Container.ExitCode)
			}
			return nil
		},
	}
}
