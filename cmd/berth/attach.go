package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/containerd"
	"github.com/berth/berth/scheduler"
)

// exitLinesWait bounds how long attached up waits at its end for the
// "exited with code" lines of the containers that exited.
const exitLinesWait = 2 * time.Second

// attachUp is up without -d: it follows the output of the services'
// containers until they are all done (or one ends it, by the abort
// flags), or Ctrl-C; then it stops them. Its error carries the exit code
// --exit-code-from or an abort asks for.
func attachUp(cmd *cobra.Command, g *globalOptions, rt *containerd.Client, nw scheduler.Network, progress scheduler.Events,
	p *compose.Project, plan *scheduler.Plan, opts upOptions, start time.Time) error {
	ctx := cmd.Context()
	all, err := rt.Containers(ctx, p.Name)
	if err != nil {
		return err
	}
	var shown []string
	for _, s := range plan.Only {
		if contains(opts.noAttach, s) {
			continue
		}
		switch {
		case len(opts.attach) > 0:
			if contains(opts.attach, s) {
				shown = append(shown, s)
			}
		// Named services without --attach-dependencies: theirs only, as
		// docker compose attaches.
		case len(opts.named) > 0 && !opts.attachDeps:
			if contains(opts.named, s) {
				shown = append(shown, s)
			}
		default:
			shown = append(shown, s)
		}
	}
	var cs []scheduler.Container
	if len(shown) > 0 { // none shown is not all
		cs = scheduler.ServiceContainers(all, shown)
	}
	out := cmd.OutOrStdout()
	pr := g.newTermLogPrinter(out, cs, opts.noColor, !opts.noLogPrefix, opts.timestamps)
	pr.errW = cmd.ErrOrStderr() // what containers write to stderr, as compose
	// The hooks' output is shown too ("web-1 ->  | ..."), as compose does:
	// pre_stop's when up stops the containers at its end.
	rt.ShowHookOutput(func(c scheduler.Container) io.Writer {
		if !contains(shown, c.Labels.Service()) {
			return nil
		}
		return pr.hookWriter(c)
	})
	if len(cs) > 0 {
		names := make([]string, len(cs))
		for i, c := range cs {
			names[i] = scheduler.ShortName(c)
		}
		fmt.Fprintf(out, "Attaching to %s\n", strings.Join(names, ", "))
	}
	logCtx, stopLogs := context.WithCancel(context.WithoutCancel(ctx))
	logsDone := make(chan error, 1)
	go func() {
		if len(shown) == 0 {
			logsDone <- nil
			return
		}
		// Containers created while attached (recreated by another up, say)
		// are shown too, as compose does.
		lo := containerd.LogOptions{Tail: -1, Since: start}
		keep := func(c scheduler.Container) bool { return contains(shown, c.Labels.Service()) }
		logsDone <- followLogs(logCtx, rt, p.Name, shown, keep, lo, start, pr)
	}()
	finishLogs := func() {
		// The exits of those that ended are printed before attached up
		// returns: they come on the log follower's own event stream.
		if now, err := rt.Containers(context.WithoutCancel(ctx), p.Name); err == nil && len(shown) > 0 {
			var exited []string
			for _, c := range scheduler.ServiceContainers(now, shown) {
				if c.State == scheduler.StateExited {
					exited = append(exited, c.Name)
				}
			}
			pr.waitExits(exited, exitLinesWait)
		}
		stopLogs()
		<-logsDone
	}

	// As docker compose, up ends when the services named on its command
	// line are done, else all it started, and stops only those: their
	// dependencies run on.
	scope := plan.Only
	if len(opts.named) > 0 {
		scope = opts.named
	}
	waitOn := scope
	if opts.exitCodeFrom != "" && !contains(waitOn, opts.exitCodeFrom) {
		waitOn = append(slices.Clone(waitOn), opts.exitCodeFrom)
	}
	res, err := scheduler.WaitAttached(ctx, rt, p.Name, waitOn, scheduler.AttachOptions{
		AbortOnExit: opts.abortOnExit, AbortOnFailure: opts.abortOnFailure, ExitCodeFrom: opts.exitCodeFrom,
	})
	stderr := cmd.ErrOrStderr()
	switch {
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "Gracefully stopping... (press Ctrl+C again to force)")
	case err != nil:
		finishLogs()
		return err
	case res.Container != nil:
		fmt.Fprintln(stderr, "Aborting on container exit...")
	default:
		finishLogs()
		return nil // every container has exited by itself
	}

	if opts.stopWatch != nil {
		opts.stopWatch()
	}
	// Stop what runs; a second Ctrl-C kills instead.
	stopCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	again := make(chan os.Signal, 1)
	signal.Notify(again, os.Interrupt)
	defer signal.Stop(again)
	killed := make(chan struct{})
	go func() {
		select {
		case <-again:
			close(killed)
			cancel()
		case <-stopCtx.Done():
		}
	}()
	req := scheduler.LifecycleRequest{Services: scope, Timeout: timeoutFlag(opts.timeout), Parallel: g.parallel}
	err = scheduler.Lifecycle(stopCtx, p, rt, nw, progress, scheduler.OpStop, req)
	select {
	case <-killed:
		err = scheduler.Lifecycle(context.WithoutCancel(ctx), p, rt, nw, progress, scheduler.OpKill, req)
	default:
	}
	finishLogs()
	if err != nil {
		return err
	}
	if opts.exitCodeFrom != "" {
		// The service's own code, though another's exit ended up: 143
		// when the stop above ended it.
		if now, err := rt.Containers(context.WithoutCancel(ctx), p.Name); err == nil {
			for _, c := range scheduler.ServiceContainers(now, []string{opts.exitCodeFrom}) {
				if c.State == scheduler.StateExited {
					return exitError{code: c.ExitCode}
				}
			}
		}
	}
	if res.Container != nil && res.Container.ExitCode != 0 {
		return exitError{code: res.Container.ExitCode}
	}
	if ctx.Err() != nil {
		return exitError{code: 130}
	}
	return nil
}
