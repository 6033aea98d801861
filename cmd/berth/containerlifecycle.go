package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth/berth/scheduler"
)

// containerLifecycleOptions are the flags of container stop, start,
// restart, kill and rm.
type containerLifecycleOptions struct {
	timeout int
	signal  string
	force   bool
	volumes bool
	attach  bool
}

// containerLifecycleUse are the usage, summary and description of each
// lifecycle command of berth container.
var containerLifecycleUse = map[scheduler.OpKind][3]string{
	scheduler.OpStop:    {"stop [OPTIONS] CONTAINER [CONTAINER...]", "Stop one or more running containers", "Send each container its stop signal (SIGTERM unless --stop-signal), then SIGKILL after the grace period. A stopped container stays stopped whatever its restart policy, until start or restart."},
	scheduler.OpStart:   {"start [OPTIONS] CONTAINER [CONTAINER...]", "Start one or more stopped containers", "Start stopped containers. With -a, follow the container's output and exit with its exit code, as docker start -a does."},
	scheduler.OpRestart: {"restart [OPTIONS] CONTAINER [CONTAINER...]", "Restart one or more containers", "Stop each container (as stop), then start it again."},
	scheduler.OpKill:    {"kill [OPTIONS] CONTAINER [CONTAINER...]", "Kill one or more running containers", "Send a signal (SIGKILL by default) to each container's process. Like stop, a kill is not undone by the restart policy."},
	scheduler.OpRemove:  {"rm [OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers", "Remove stopped containers with their network namespaces, logs and published ports; -f stops running ones first."},
}

func newContainerLifecycleCmd(g *globalOptions, kind scheduler.OpKind) *cobra.Command {
	opts := containerLifecycleOptions{timeout: -1}
	use := containerLifecycleUse[kind]
	cmd := &cobra.Command{
		Use:   use[0],
		Short: use[1],
		Long:  use[2] + "\n\nThey take plain containers (berth container run), by name or ID; a compose project's are berth stop, start, rm … SERVICE of its project. Each container done is printed as it was named, as docker does.",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runContainerLifecycle(cmd, g, kind, opts, args)
		},
	}
	f := cmd.Flags()
	switch kind {
	case scheduler.OpStop, scheduler.OpRestart:
		f.IntVarP(&opts.timeout, "time", "t", -1, "Seconds to wait for the container to stop before killing it (default: its --stop-timeout, else 10)")
	case scheduler.OpKill:
		f.StringVarP(&opts.signal, "signal", "s", "SIGKILL", "Signal to send (name or number)")
	case scheduler.OpRemove:
		f.BoolVarP(&opts.force, "force", "f", false, "Force the removal of a running container (stops it first)")
		f.BoolVarP(&opts.volumes, "volumes", "v", false, "Remove the anonymous volumes of the container")
	case scheduler.OpStart:
		f.BoolVarP(&opts.attach, "attach", "a", false, "Attach to the container's output and exit with its exit code")
	}
	if kind == scheduler.OpRemove {
		cmd.Aliases = []string{"remove"}
	}
	return cmd
}

// runContainerLifecycle acts on each container named, in order, as
// docker does: a failure is printed and the others are still done; the
// exit status is then 1.
func runContainerLifecycle(cmd *cobra.Command, g *globalOptions, kind scheduler.OpKind, opts containerLifecycleOptions, refs []string) error {
	if kind == scheduler.OpStart && opts.attach && len(refs) > 1 {
		return exitError{code: 1, err: errors.New("you cannot start and attach multiple containers at once")}
	}
	failed := false
	for _, ref := range refs {
		if err := containerLifecycle(cmd, g, kind, opts, ref); err != nil {
			var ee exitError
			if errors.As(err, &ee) && ee.err == nil {
				return err // start -a: the container's exit status
			}
			fmt.Fprintln(cmd.ErrOrStderr(), err)
			failed = true
			continue
		}
		if !(kind == scheduler.OpStart && opts.attach) {
			fmt.Fprintln(cmd.OutOrStdout(), ref)
		}
	}
	if failed {
		return exitError{code: 1}
	}
	return nil
}

func containerLifecycle(cmd *cobra.Command, g *globalOptions, kind scheduler.OpKind, opts containerLifecycleOptions, ref string) error {
	ctx := cmd.Context()
	c, err := g.findContainer(ctx, ref)
	if err != nil {
		return err
	}
	if !isPlain(c) {
		return fmt.Errorf("container %s belongs to compose project %s: use berth -p %s %s %s", c.Name, c.Labels.Project(), c.Labels.Project(), kind, c.Labels.Service())
	}
	if kind == scheduler.OpRemove && !opts.force && (c.State == scheduler.StateRunning || c.State == scheduler.StatePaused) {
		return fmt.Errorf("cannot remove container %q: container is %s: stop the container before removing or force remove", containerName(c), c.State)
	}
	started := time.Now()
	lo := lifecycleOptions{timeout: opts.timeout, signal: opts.signal, stop: opts.force, volumes: opts.volumes}
	if err := runLifecycle(cmd, containerGlobals(g, c), kind, lo, []string{c.Labels.Service()}); err != nil {
		return err
	}
	if kind == scheduler.OpStart && opts.attach {
		code, err := followUntilExit(cmd, g, c, started, false)
		if err == nil && code > 0 {
			err = exitError{code: code}
		}
		return err
	}
	return nil
}
