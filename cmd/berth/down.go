package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berth/berth/scheduler"
)

type downOptions struct {
	volumes       bool
	removeOrphans bool
	timeout       int
}

func newDownCmd(g *globalOptions) *cobra.Command {
	opts := downOptions{}
	cmd := &cobra.Command{
		Use:   "down [OPTIONS]",
		Short: "Stop and remove the project's containers",
		Long: `Stop the project's containers (dependents first) and remove them, with their
network namespaces. With -v also remove the named volumes the compose file
declares. Works with only -p NAME when the compose file is gone.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDown(cmd, g, opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.volumes, "volumes", "v", false, "Also remove the named volumes declared in the compose file")
	f.BoolVar(&opts.removeOrphans, "remove-orphans", false, "Also remove containers of services not in the compose file")
	f.IntVarP(&opts.timeout, "timeout", "t", -1, "Seconds to wait for each container to stop before killing it (default: its stop_grace_period)")
	return cmd
}

func runDown(cmd *cobra.Command, g *globalOptions, opts downOptions) error {
	ctx := cmd.Context()
	p, err := g.projectOrName(ctx)
	if err != nil {
		return err
	}
	lock, err := lockProject(cmd, p.Name)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	rt, nw, progress, err := g.backends(ctx)
	if err != nil {
		return err
	}
	defer rt.Close()
	req := scheduler.DownRequest{
		DownOptions: scheduler.DownOptions{Volumes: opts.volumes, RemoveOrphans: opts.removeOrphans},
		Parallel:    g.parallel,
	}
	req.Timeout = timeoutFlag(opts.timeout)
	progress.Live()
	plan, err := scheduler.Down(ctx, p, rt, nw, progress, req)
	progress.Stop()
	if err != nil {
		return err
	}
	// The project is gone: so goes its lock file.
	lock.Remove()
	if !plan.Changes() {
		fmt.Fprintf(cmd.ErrOrStderr(), "Nothing to remove: project %s has no containers.\n", p.Name)
	}
	return nil
}
