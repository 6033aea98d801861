package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/scheduler"
)

// lifecycleOptions are the flags of stop, start, restart and kill.
type lifecycleOptions struct {
	timeout       int
	signal        string
	stop          bool
	force         bool
	volumes       bool
	noDeps        bool
	removeOrphans bool
}

func newStopCmd(g *globalOptions) *cobra.Command {
	opts := lifecycleOptions{}
	cmd := &cobra.Command{
		Use:   "stop [OPTIONS] [SERVICE...]",
		Short: "Stop the services' containers without removing them",
		Long: `Stop the running containers (dependents first). A stopped container stays
stopped whatever its restart policy, until start, restart or up.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLifecycle(cmd, g, scheduler.OpStop, opts, args)
		},
	}
	cmd.Flags().IntVarP(&opts.timeout, "timeout", "t", -1, "Seconds to wait for each container to stop before killing it (default: its stop_grace_period)")
	return cmd
}

func newStartCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "start [SERVICE...]",
		Short: "Start the services' existing containers",
		Long: `Start stopped containers (dependencies first, waiting for their depends_on
conditions). Services without containers are left alone: up creates them.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLifecycle(cmd, g, scheduler.OpStart, lifecycleOptions{timeout: -1}, args)
		},
	}
	return cmd
}

func newRestartCmd(g *globalOptions) *cobra.Command {
	opts := lifecycleOptions{}
	cmd := &cobra.Command{
		Use:   "restart [OPTIONS] [SERVICE...]",
		Short: "Stop and start the services' containers",
		Long: `Restart the containers (a stopped one is started), service by service,
dependencies first. The configuration is not re-read into them: after
changing the compose file, run up. Services that depend on a restarted one
with depends_on restart: true are restarted with it (as up restarts them
when it recreates their dependency), unless --no-deps, and wait for its
depends_on condition; other dependencies are not waited for, as in docker
compose.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLifecycle(cmd, g, scheduler.OpRestart, opts, args)
		},
	}
	cmd.Flags().IntVarP(&opts.timeout, "timeout", "t", -1, "Seconds to wait for each container to stop before killing it (default: its stop_grace_period)")
	cmd.Flags().BoolVar(&opts.noDeps, "no-deps", false, "Do not restart the services that depend on the named ones (depends_on restart: true)")
	return cmd
}

func newKillCmd(g *globalOptions) *cobra.Command {
	opts := lifecycleOptions{}
	cmd := &cobra.Command{
		Use:   "kill [OPTIONS] [SERVICE...]",
		Short: "Send a signal to the services' containers",
		Long: `Send a signal (SIGKILL by default) to the running containers. Like stop, a
kill is not undone by the restart policy. --remove-orphans also removes
the containers of services no longer in the compose file.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLifecycle(cmd, g, scheduler.OpKill, opts, args)
		},
	}
	cmd.Flags().StringVarP(&opts.signal, "signal", "s", "SIGKILL", "Signal to send (name or number)")
	cmd.Flags().BoolVar(&opts.removeOrphans, "remove-orphans", envBool(os.Getenv(envRemoveOrphans)), "Also remove containers of services not in the compose file (default: $COMPOSE_REMOVE_ORPHANS)")
	return cmd
}

func newRmCmd(g *globalOptions) *cobra.Command {
	opts := lifecycleOptions{timeout: -1}
	cmd := &cobra.Command{
		Use:   "rm [OPTIONS] [SERVICE...]",
		Short: "Remove the services' stopped containers",
		Long: `Remove the stopped containers of the services (all with -s, which stops
running ones first), with their network namespaces and logs. berth never
asks for confirmation; -f is accepted for docker compatibility.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLifecycle(cmd, g, scheduler.OpRemove, opts, args)
		},
	}
	cmd.Flags().BoolVarP(&opts.stop, "stop", "s", false, "Stop running containers first, then remove them")
	cmd.Flags().BoolVarP(&opts.force, "force", "f", false, "Do not ask for confirmation (berth never asks)")
	cmd.Flags().BoolVarP(&opts.volumes, "volumes", "v", false, "Also remove the anonymous volumes of the removed containers (named volumes stay: down -v removes them)")
	return cmd
}

func newPauseCmd(g *globalOptions, pause bool) *cobra.Command {
	use, short, kind := "pause", "Freeze the processes of the services' containers", scheduler.OpPause
	if !pause {
		use, short, kind = "unpause", "Thaw the processes of paused containers", scheduler.OpUnpause
	}
	return &cobra.Command{
		Use:   use + " [SERVICE...]",
		Short: short,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLifecycle(cmd, g, kind, lifecycleOptions{timeout: -1}, args)
		},
	}
}

func runLifecycle(cmd *cobra.Command, g *globalOptions, kind scheduler.OpKind, opts lifecycleOptions, services []string) error {
	ctx := cmd.Context()
	p, err := g.projectOrName(ctx)
	if err != nil {
		return err
	}
	pausing := kind == scheduler.OpPause || kind == scheduler.OpUnpause
	if pausing && !p.FromLabels {
		// docker compose pauses what it finds: an unknown service is a
		// warning, not a failure.
		if services = knownServices(cmd, p, kind, services); services == nil {
			return nil
		}
	}
	if !p.FromLabels && len(services) > 0 {
		lo := g.composeOptions()
		lo.Services = services
		// Restricted to the named services, the project would lack their
		// dependents, which restart: true restarts with them.
		lo.KeepUnselected = kind == scheduler.OpRestart
		if p, err = compose.Load(ctx, lo); err != nil {
			return err
		}
	}
	rt, nw, progress, err := g.backends(ctx)
	if err != nil {
		return err
	}
	defer rt.Close()
	if p, err = labelProject(ctx, rt, p); err != nil {
		return err
	}
	if pausing && p.FromLabels {
		if services = knownServices(cmd, p, kind, services); services == nil {
			return nil
		}
	}
	req := scheduler.LifecycleRequest{Timeout: timeoutFlag(opts.timeout), Signal: opts.signal, Force: opts.stop,
		NoDeps: opts.noDeps, RemoveOrphans: opts.removeOrphans, Volumes: opts.volumes, Parallel: g.parallel}
	if len(services) > 0 {
		req.Services = services
	}
	if g.dryRun {
		// No lock: it changes nothing, and a lock file is a change.
		plan, err := scheduler.DryRunLifecycle(ctx, p, rt, networkReader(nw), kind, req)
		if err != nil {
			return err
		}
		printDryRunPlan(cmd, g, p, plan)
		return nil
	}
	lock, err := lockProject(cmd, g, p.Name)
	if err != nil {
		return err
	}
	defer endProject(ctx, lock, rt, p.Name)
	progress.Live()
	defer progress.Stop()
	return scheduler.Lifecycle(ctx, p, rt, nw, progress, kind, req)
}

// knownServices are the services of the list that p has, with a warning
// for each other one; nil when the list named services and none is
// known, and then there is nothing to do. The empty list (all services)
// stays empty.
func knownServices(cmd *cobra.Command, p *compose.Project, kind scheduler.OpKind, services []string) []string {
	if len(services) == 0 {
		return []string{}
	}
	var known []string
	for _, s := range services {
		if p.Service(s) != nil {
			known = append(known, s)
			continue
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "WARN: no such service: %s: project %s has nothing to %s there\n", s, p.Name, kind)
	}
	return known
}
