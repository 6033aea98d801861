package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/berth/berth/runstate"
	"github.com/berth/berth/scheduler"
)

type downOptions struct {
	rmi           string
	volumes       bool
	removeOrphans bool
	timeout       int
}

func newDownCmd(g *globalOptions) *cobra.Command {
	opts := downOptions{}
	cmd := &cobra.Command{
		Use:   "down [OPTIONS] [SERVICE...]",
		Short: "Stop and remove the project's containers",
		Long: `Stop the project's containers (dependents first) and remove them, with their
network namespaces, then the project's networks. With -v also remove the
named volumes the compose file declares; with --rmi the services' images.

With SERVICE names, only the containers of those services go, as with
docker compose: services that depend on them keep running; the networks,
and with -v the volumes, stay while other containers of the project use
them.

Works with only -p NAME when the compose file is gone (or does not load):
the services are then those the containers' labels name, and down SERVICE
also removes the services that depend on it (as docker compose does
without its file).

On a cluster (--kubeconfig, --kube), down deletes everything up made for the
project, and the Namespace when berth made it and nothing else is in it;
the PersistentVolumeClaims (the data) only with -v. With SERVICE names it
deletes those services' workloads, Services, own ConfigMaps and Jobs (with
-v their claims too) and keeps the Namespace, the project's shared Secrets
and ConfigMaps, and every other service's objects, those of the services
that depend on the named ones too: docker compose down SERVICE, reading
the compose file, removes the named services' containers only.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDown(cmd, g, opts, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.rmi, "rmi", "", `Also remove images: "local" (those berth built for services without image:) or "all" (every image the services use); one a container still uses is kept`)
	f.BoolVarP(&opts.volumes, "volumes", "v", false, "Also remove the named volumes declared in the compose file")
	f.BoolVar(&opts.removeOrphans, "remove-orphans", envBool(os.Getenv(envRemoveOrphans)), "Also remove containers of services not in the compose file (default: $COMPOSE_REMOVE_ORPHANS)")
	f.IntVarP(&opts.timeout, "timeout", "t", -1, "Seconds to wait for each container to stop before killing it (default: its stop_grace_period)")
	return cmd
}

func runDown(cmd *cobra.Command, g *globalOptions, opts downOptions, services []string) error {
	if g.kube.Enabled() {
		return runKubeDown(cmd, g, opts, services)
	}
	rmi, err := scheduler.ParseImageRemoval(opts.rmi)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	p, err := g.projectOrName(ctx)
	if err != nil {
		return err
	}
	if !p.FromLabels && len(services) > 0 {
		// The loader names the project's services when one is unknown.
		if _, err := g.loadProject(ctx, services...); err != nil {
			return err
		}
	}
	// A dry run takes no lock: it changes nothing, and a lock file is a
	// change.
	var lock *runstate.ProjectLock
	if !g.dryRun {
		if lock, err = lockProject(cmd, g, p.Name); err != nil {
			return err
		}
		defer lock.Unlock()
	}
	rt, nw, progress, err := g.backends(ctx)
	if err != nil {
		return err
	}
	defer rt.Close()
	if p, err = labelProject(ctx, rt, p); err != nil {
		return err
	}
	if p.FromLabels && len(services) > 0 {
		// Without the file, a name that has no container may be a typo as
		// well as a service already removed: docker compose lets it be.
		if services = knownServices(cmd, p, scheduler.OpRemove, services); services == nil {
			return nil
		}
	}
	req := scheduler.DownRequest{
		DownOptions: scheduler.DownOptions{Volumes: opts.volumes, RemoveOrphans: opts.removeOrphans},
		Images:      rmi,
		Parallel:    g.parallel,
	}
	if len(services) > 0 {
		req.Services = services
	}
	req.Timeout = timeoutFlag(opts.timeout)
	if g.dryRun {
		plan, err := scheduler.DryRunDown(ctx, p, rt, networkReader(nw), req)
		if err != nil {
			return err
		}
		printDryRunPlan(cmd, g, p, plan)
		return nil
	}
	progress.Live()
	plan, err := scheduler.Down(ctx, p, rt, nw, progress, req)
	progress.Stop()
	if err != nil {
		return err
	}
	if len(services) > 0 {
		// The lock file goes with the last container.
		endProject(ctx, lock, rt, p.Name)
		return nil
	}
	// The project is gone: so goes its lock file.
	lock.Remove()
	if !plan.Changes() {
		fmt.Fprintf(cmd.ErrOrStderr(), "Nothing to remove: project %s has no containers.\n", p.Name)
	}
	return nil
}
