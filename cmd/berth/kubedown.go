package main

import (
	"github.com/spf13/cobra"

	"github.com/berth/berth/kube"
)

// runKubeDown is down on a cluster: delete everything up made for the
// project (its claims too with -v), and wait until it is gone.
//
// With SERVICE names it deletes only the objects of those services (their
// claims too with -v), as down SERVICE... does with the compose file on
// one machine and in docker compose, and keeps the Namespace, the other
// services' objects and the project's shared ones.
func runKubeDown(cmd *cobra.Command, g *globalOptions, opts downOptions, services []string) error {
	ctx := cmd.Context()
	p, c, err := g.kubeLoadedProject(ctx, services)
	if err != nil {
		return err
	}
	selected := kubeDownSelection(p, services)
	pw, err := g.progressWriter()
	if err != nil {
		return err
	}
	pw.w = cmd.ErrOrStderr()
	return c.Down(ctx, p.Name, kube.DownOptions{Volumes: opts.volumes, Services: selected}, kubeProgress(pw))
}
