package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/containerd"
	"github.com/berth/berth/scheduler"
	"github.com/berth/berth/watch"
)

type watchOptions struct {
	noUp  bool
	quiet bool
	prune bool
}

func newWatchCmd(g *globalOptions) *cobra.Command {
	opts := watchOptions{}
	cmd := &cobra.Command{
		Use:   "watch [OPTIONS] [SERVICE...]",
		Short: "Follow the services' develop.watch paths and sync, restart or rebuild on changes",
		Long: `Follow the host files named by the services' develop.watch rules and act on
every change, as docker compose watch does:

  sync           copy the changed files into the running containers at the
                 rule's target (removed files are removed), no restart
  sync+restart   sync, then restart the service's containers
  sync+exec      sync, then run the rule's exec command in each container
  restart        restart the service's containers
  rebuild        rebuild the service's image (with the layer cache) and
                 recreate that service's containers only

Changes are acted on once the files have been left alone for 50 ms (at
most 1 s after the first), one action per rule; each prints one line
("web | synced 3 files in 12 ms"). Files the rule's ignore: patterns, the
build context's .dockerignore or editors' temporary files name are not
followed; with include:, only those matching it are. Synced files belong
to the container's user. A rule with
initial_sync: true syncs everything under its path when watching starts.
An action that fails is reported and watching goes on.

As docker compose, watch first brings the services up (builds missing
images, creates and starts the containers, as up -d) unless --no-up.
Ctrl-C stops watching and leaves the containers running. With no
SERVICE, every service with develop.watch rules is watched; up --watch
does the same while attached to the containers' output.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runWatch(cmd, g, opts, args)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.noUp, "no-up", false, "Do not build and start the services before watching")
	f.BoolVar(&opts.quiet, "quiet", false, "Hide the output of the rebuilds")
	f.BoolVar(&opts.prune, "prune", true, "Accepted for docker compose: the image a rebuild replaces loses its name and containerd's garbage collection removes its unused layers, always")
	return cmd
}

func runWatch(cmd *cobra.Command, g *globalOptions, opts watchOptions, services []string) error {
	ctx := cmd.Context()
	p, err := g.loadProject(ctx, services...)
	if err != nil {
		return err
	}
	// Refused before anything is started.
	if _, err := watch.New(p, services, nil); err != nil {
		return err
	}
	if !opts.noUp {
		up := upOptions{detach: true, timeout: -1, pull: "policy", quietBuild: opts.quiet}
		if err := runUp(cmd, g, up, services); err != nil {
			return err
		}
	}
	rt, nw, _, err := g.backends(ctx)
	if err != nil {
		return err
	}
	defer rt.Close()
	return watchProject(ctx, cmd, g, rt, nw, p, services, opts.quiet)
}

// watchProject watches until ctx is done (Ctrl-C), which is not an error.
func watchProject(ctx context.Context, cmd *cobra.Command, g *globalOptions, rt *containerd.Client, nw scheduler.Network,
	p *compose.Project, services []string, quiet bool) error {
	out := cmd.ErrOrStderr()
	acts := &watchActions{cmd: cmd, g: g, rt: rt, nw: nw, p: p, buildOut: out}
	if quiet {
		acts.buildOut = io.Discard
	}
	w, err := watch.New(p, services, acts, watch.WithReport(func(r watch.Report) {
		name := r.Service
		if name == "" {
			name = "watch"
		}
		fmt.Fprintf(out, "%s | %s\n", name, r)
	}))
	if err != nil {
		return err
	}
	n, err := watch.Notify(w.Roots(), w.SkipDir)
	if err != nil {
		return err
	}
	defer n.Close()
	fmt.Fprintf(out, "Watching %s (Ctrl-C to stop)\n", strings.Join(w.Services(), ", "))
	w.InitialSync(ctx)
	// Ctrl-C ends watching: main turns it into ctx's cancellation.
	return w.Run(ctx, n)
}

// watchActions are watch's actions on the project's containers.
type watchActions struct {
	cmd      *cobra.Command
	g        *globalOptions
	rt       *containerd.Client
	nw       scheduler.Network
	p        *compose.Project
	buildOut io.Writer
}

var _ watch.Actions = (*watchActions)(nil)

// running are the service's running containers; none is an error.
func (a *watchActions) running(ctx context.Context, service string) ([]scheduler.Container, error) {
	all, err := a.rt.Containers(ctx, a.p.Name)
	if err != nil {
		return nil, err
	}
	cs := scheduler.RunningContainers(all, []string{service})
	if len(cs) == 0 {
		return nil, fmt.Errorf("service %q has no running container: start it with berth up", service)
	}
	return cs, nil
}

// The actions run to their end once begun: Ctrl-C (and up --watch's end)
// stops the watching, then waits for the action under way, which would
// otherwise be left half done. Only a rebuild's build is stopped.

func (a *watchActions) Sync(ctx context.Context, service string, files []watch.File) error {
	ctx = context.WithoutCancel(ctx)
	cs, err := a.running(ctx, service)
	if err != nil {
		return err
	}
	for _, c := range cs {
		uid, gid, err := a.rt.ProcessUser(ctx, c)
		if err != nil {
			return err
		}
		owner := watch.Owner{UID: uid, GID: gid}
		if err := a.rt.WithRoot(ctx, c, func(root string) error { return watch.SyncInto(root, owner, files) }); err != nil {
			return fmt.Errorf("container %s: %w", c.Name, err)
		}
	}
	return nil
}

func (a *watchActions) Restart(ctx context.Context, service string) error {
	ctx = context.WithoutCancel(ctx)
	lock, err := lockProject(a.cmd, a.g, a.p.Name)
	if err != nil {
		return err
	}
	defer endProject(ctx, lock, a.rt, a.p.Name)
	req := scheduler.LifecycleRequest{Services: []string{service}, NoDeps: true, Parallel: a.g.parallel}
	return scheduler.Lifecycle(ctx, a.p, a.rt, a.nw, scheduler.Discard, scheduler.OpRestart, req)
}

func (a *watchActions) Exec(ctx context.Context, service string, h compose.Hook) error {
	ctx = context.WithoutCancel(ctx)
	cs, err := a.running(ctx, service)
	if err != nil {
		return err
	}
	for _, c := range cs {
		code, err := a.rt.Exec(ctx, c, containerd.ExecRequest{Args: h.Command, Env: h.Environment, User: h.User,
			WorkDir: h.WorkingDir, Privileged: h.Privileged, Stdout: a.buildOut, Stderr: a.buildOut})
		if err != nil {
			return err
		}
		if code != 0 {
			return fmt.Errorf("%s in %s exited with code %d", strings.Join(h.Command, " "), c.Name, code)
		}
	}
	return nil
}

// Rebuild is up --build --no-deps --force-recreate SERVICE. Ctrl-C stops
// the build, but not the recreate once it began: it would leave the
// service without a container.
func (a *watchActions) Rebuild(ctx context.Context, service string) error {
	lock, err := lockProject(a.cmd, a.g, a.p.Name)
	if err != nil {
		return err
	}
	defer endProject(ctx, lock, a.rt, a.p.Name)
	if err := scheduler.Build(ctx, a.p, a.rt, a.rt, []string{service}, scheduler.BuildOptions{Out: a.buildOut}); err != nil {
		return err
	}
	uo := scheduler.UpOptions{
		ReconcileOptions: scheduler.ReconcileOptions{Services: []string{service}, NoDeps: true, ForceRecreate: true},
		Parallel:         a.g.parallel,
	}
	_, err = scheduler.Up(context.WithoutCancel(ctx), a.p, a.rt, a.nw, scheduler.Discard, uo)
	return err
}

// watchAttached starts watching for up --watch while up is attached; stop
// ends it and waits for the action under way (Ctrl-C ends it too, and up
// stops the stack as attached up does, after stop). It may be called again.
func watchAttached(cmd *cobra.Command, g *globalOptions, rt *containerd.Client, nw scheduler.Network,
	p *compose.Project, services []string, quiet bool) (stop func(), err error) {
	if _, err := watch.New(p, services, nil); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(cmd.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := watchProject(ctx, cmd, g, rt, nw, p, services, quiet); err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "watch | %v\n", err)
		}
	}()
	return func() { cancel(); <-done }, nil
}

// checkWatchable refuses up --watch of a project without develop.watch
// rules before anything is started.
func checkWatchable(p *compose.Project, on bool) error {
	if !on {
		return nil
	}
	_, err := watch.New(p, nil, nil)
	return err
}
