package main

import (
	"errors"
	"fmt"
	"slices"

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
	f.BoolVar(&opts.forceRecreate, "force-recreate", false, "Recreate containers even if their configuration has not changed")
	f.BoolVar(&opts.noRecreate, "no-recreate", false, "Keep existing containers even if their configuration changed")
	f.BoolVar(&opts.removeOrphans, "remove-orphans", false, "Remove containers of services that are no longer in the compose file")
	return cmd
}

// pullPolicies are the values of create's --pull besides "policy".
var pullPolicies = []compose.PullPolicy{compose.PullAlways, compose.PullMissing, compose.PullNever, compose.PullBuild}

// applyPullFlag sets every service's pull_policy to what --pull says, as
// docker compose does; "policy" keeps each service's own.
func applyPullFlag(p *compose.Project, pull string) error {
	if pull == "" || pull == "policy" {
		return nil
	}
	policy := compose.PullPolicy(pull)
	if !slices.Contains(pullPolicies, policy) {
		return fmt.Errorf("invalid --pull option %q: give always, missing, never, build or policy", pull)
	}
	for _, s := range p.Services {
		s.PullPolicy = policy
	}
	return nil
}

func runCreate(cmd *cobra.Command, g *globalOptions, opts createOptions, services []string) error {
	if opts.build && opts.noBuild {
		return errors.New("--build and --no-build are incompatible")
	}
	if opts.forceRecreate && opts.noRecreate {
		return errors.New("--force-recreate and --no-recreate are incompatible")
	}
	ctx := cmd.Context()
	p, err := g.loadProject(ctx, services...)
	if err != nil {
		return err
	}
	if err := applyPullFlag(p, opts.pull); err != nil {
		return err
	}
	if err := p.CheckHost(); err != nil {
		return err
	}
	rt, nw, progress, err := g.backends(ctx)
	if err != nil {
		return err
	}
	defer rt.Close()
	lock, err := lockProject(cmd, p.Name)
	if err != nil {
		return err
	}
	defer endProject(ctx, lock, rt, p.Name)
	why, err := runstate.StopIfNotSupervising(ctx, runDir(), p.Name, netbridge.DNSDaemonPID(runDir(), p.Name))
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
		Build:        opts.build || opts.pull == string(compose.PullBuild),
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
