package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/netbridge"
	"github.com/berth/berth/runstate"
	"github.com/berth/berth/scheduler"
)

type createOptions struct {
	build         bool
	noBuild       bool
	forceRecreate bool
	noRecreate    bool
	removeOrphans bool
	pull          string
	quietPull     bool
	// scale are --scale SERVICE=N overrides of the file's replicas.
	scale []string
}

func newCreateCmd(g *globalOptions) *cobra.Command {
	opts := createOptions{}
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] [SERVICE...]",
		Short: "Create the project's containers without starting them",
		Long: `Create the services' networks, volumes and containers, pulling or building
their images as needed, as up does, but start nothing: the containers are
left in state created for "berth start" (or "berth up") to start.
Containers that are up to date are left alone; a service whose
configuration changed has its containers recreated (stopped first).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCreate(cmd, g, opts, args)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.build, "build", false, "Build images before creating containers (by default only missing images are built)")
	f.BoolVar(&opts.noBuild, "no-build", false, "Do not build images, even missing ones")
	f.StringVar(&opts.pull, "pull", "policy", `Pull images before creating: "always", "missing", "never", "build", or "policy" (each service's pull_policy)`)
	f.BoolVar(&opts.quietPull, "quiet-pull", false, "Pull without printing the progress of each layer")
	f.StringArrayVar(&opts.scale, "scale", nil, "Scale SERVICE to NUM replicas (SERVICE=NUM, repeatable); overrides scale and deploy.replicas of the compose file")
	f.BoolVar(&opts.forceRecreate, "force-recreate", false, "Recreate containers even if their configuration has not changed")
	f.BoolVar(&opts.noRecreate, "no-recreate", false, "Keep existing containers even if their configuration changed")
	f.BoolVar(&opts.removeOrphans, "remove-orphans", false, "Remove containers of services that are no longer in the compose file")
	return cmd
}

func runCreate(cmd *cobra.Command, g *globalOptions, opts createOptions, services []string) error {
	if opts.build && opts.noBuild {
		return errors.New("--build and --no-build are incompatible")
	}
	if opts.forceRecreate && opts.noRecreate {
		return errors.New("--force-recreate and --no-recreate are incompatible")
	}
	pull, err := compose.ParsePullPolicy(opts.pull)
	if err != nil {
		return err
	}
	replicas, err := compose.ParseScale("--scale", opts.scale)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	p, err := g.loadProject(ctx, services...)
	if err != nil {
		return err
	}
	if err := p.SetScale(replicas); err != nil {
		return err
	}
	p.OverridePullPolicy(pull)
	if err := p.CheckHost(); err != nil {
		return err
	}
	if g.dryRun {
		ro := scheduler.ReconcileOptions{ForceRecreate: opts.forceRecreate, NoRecreate: opts.noRecreate, RemoveOrphans: opts.removeOrphans}
		if len(services) > 0 {
			ro.Services = services
		}
		return dryRunUp(cmd, g, p, scheduler.UpOptions{ReconcileOptions: ro, NoStart: true, Build: opts.build || pull == compose.PullBuild, NoBuild: opts.noBuild})
	}
	rt, nw, progress, err := g.backends(ctx)
	if err != nil {
		return err
	}
	defer rt.Close()
	progress.quietPull = opts.quietPull
	lock, err := lockProject(cmd, g, p.Name)
	if err != nil {
		return err
	}
	defer endProject(ctx, lock, rt, p.Name)
	why, err := runstate.StopIfNotSupervising(ctx, g.namespaceRunDir(), p.Name, netbridge.DNSDaemonPID(g.namespaceRunDir(), p.Name))
	if err != nil {
		return err
	}
	if why != "" {
		fmt.Fprintf(cmd.ErrOrStderr(), "Restarting the background process of project %s: %s\n", p.Name, why)
	}
	progress.Live()
	defer progress.Stop()
	uo := scheduler.UpOptions{
		ReconcileOptions: scheduler.ReconcileOptions{
			ForceRecreate: opts.forceRecreate,
			NoRecreate:    opts.noRecreate,
			RemoveOrphans: opts.removeOrphans,
		},
		Parallel:     g.parallel,
		NoStart:      true,
		Builder:      rt,
		Build:        opts.build || pull == compose.PullBuild, // build images, as --build does
		NoBuild:      opts.noBuild,
		BuildOptions: scheduler.BuildOptions{Out: progress.Above(cmd.OutOrStdout())},
	}
	if len(services) > 0 {
		uo.Services = services
	}
	if _, err := scheduler.Up(ctx, p, rt, nw, progress, uo); err != nil {
		progress.Stop()
		return err
	}
	return nil
}
