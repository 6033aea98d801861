package main

import (
	"github.com/spf13/cobra"

	"github.com/berth/berth/kube"
)

// runKubeDown is down on a cluster: delete everything up made for the
// project (its claims too with -v), and wait until it is gone.
//
// With SERVICE names it deletes only those services' objects (their
// claims too with -v) and keeps the Namespace, the other services' objects
// and the project's shared ones, as docker compose's down SERVICE run with
// its compose file removes the named services' containers only: it loads
// the project restricted to them and their dependencies, so their
// dependents are not in its model and stay, and the networks (and with -v
// the volumes) that remaining containers use are kept "still in use".
func runKubeDown(cmd *cobra.Command, g *globalOptions, opts downOptions, services []string) error {
	ctx := cmd.Context()
	project, c, err := g.kubeServiceProject(ctx, services)
	if err != nil {
		return err
	}
	pw, err := g.progressWriter()
	if err != nil {
		return err
	}
	pw.w = cmd.ErrOrStderr()
	return c.Down(ctx, project, kube.DownOptions{Volumes: opts.volumes, Services: namesOrNil(services)}, kubeProgress(pw))
}
