package main

import (
	"github.com/spf13/cobra"

	"github.com/berth/berth/kube"
)

// runKubeDown is down on a cluster: delete everything up made for the
// project (its claims too with -v), and wait until it is gone.
func runKubeDown(cmd *cobra.Command, g *globalOptions, opts downOptions, services []string) error {
	if err := refuseKubeArgs("down", services); err != nil {
		return err
	}
	ctx := cmd.Context()
	project, c, err := g.kubeProject(ctx)
	if err != nil {
		return err
	}
	pw, err := g.progressWriter()
	if err != nil {
		return err
	}
	pw.w = cmd.ErrOrStderr()
	return c.Down(ctx, project, kube.DownOptions{Volumes: opts.volumes}, kubeProgress(pw))
}
