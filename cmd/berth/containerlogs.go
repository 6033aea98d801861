package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth/berth/containerd"
	"github.com/berth/berth/scheduler"
)

type containerLogsOptions struct {
	follow, timestamps bool
	tail, since, until string
}

func newContainerLogsCmd(g *globalOptions) *cobra.Command {
	opts := containerLogsOptions{}
	cmd := &cobra.Command{
		Use:   "logs [OPTIONS] CONTAINER",
		Short: "Show the output of a container",
		Long: `Show what a container (by name or ID; a compose project's too) wrote to
stdout and stderr, without a prefix, as docker logs does. With -f, keep
following it until the container stops, as docker logs -f does. What a "berth container run -i" or
"-t" wrote went to its terminal only, not to the log.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runContainerLogs(cmd, g, opts, args[0])
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.follow, "follow", "f", false, "Follow the output")
	f.StringVarP(&opts.tail, "tail", "n", "all", `Number of lines to show from the end of the log ("all")`)
	f.BoolVarP(&opts.timestamps, "timestamps", "t", false, "Show timestamps")
	f.StringVar(&opts.since, "since", "", "Show lines since a time (2006-01-02T15:04:05Z) or a duration ago (42m)")
	f.StringVar(&opts.until, "until", "", "Show lines before a time (2006-01-02T15:04:05Z) or a duration ago (42m)")
	return cmd
}

func runContainerLogs(cmd *cobra.Command, g *globalOptions, opts containerLogsOptions, ref string) error {
	c, err := g.findContainer(cmd.Context(), ref)
	if err != nil {
		return err
	}
	lo := logsOptions{tail: opts.tail, timestamps: opts.timestamps, since: opts.since, until: opts.until,
		noColor: true, noPrefix: true, index: c.Labels.Number()}
	running := c.State == scheduler.StateRunning || c.State == scheduler.StatePaused
	if !opts.follow || !running || opts.until != "" {
		return runLogs(cmd, containerGlobals(g, c), lo, []string{c.Labels.Service()})
	}
	// docker logs -f: what the log holds, then what comes, until the
	// container stops (a script's `logs -f` of a job ends with the job).
	now := time.Now()
	lo.until = now.Format(time.RFC3339Nano)
	if err := runLogs(cmd, containerGlobals(g, c), lo, []string{c.Labels.Service()}); err != nil {
		return err
	}
	_, err = followUntilExit(cmd, g, c, now, opts.timestamps)
	return err
}

// followUntilExit prints what c writes from since on until it exits, and
// returns its exit code (-1 when unknown).
func followUntilExit(cmd *cobra.Command, g *globalOptions, c scheduler.Container, since time.Time, timestamps bool) (int, error) {
	ctx := cmd.Context()
	rt, err := g.connect(ctx, scheduler.Discard)
	if err != nil {
		return -1, err
	}
	defer rt.Close()
	pr := g.newTermLogPrinter(cmd.OutOrStdout(), []scheduler.Container{c}, true, false, timestamps)
	var last time.Time
	print := func(e containerd.LogEntry) {
		if e.Time.After(last) {
			last = e.Time
		}
		pr.print(e)
	}
	fctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- rt.Logs(fctx, []scheduler.Container{c}, containerd.LogOptions{Follow: true, Tail: -1, Since: since}, print)
	}()
	exited, err := scheduler.WaitExit(ctx, rt, c.Labels.Project(), []string{c.Labels.Service()})
	stop()
	<-done
	if err != nil {
		return -1, err
	}
	// What it wrote after the follower's last look.
	from := since
	if !last.Before(from) {
		from = last.Add(time.Nanosecond)
	}
	if err := rt.Logs(ctx, []scheduler.Container{c}, containerd.LogOptions{Tail: -1, Since: from}, pr.print); err != nil {
		return -1, err
	}
	if exited == nil {
		return -1, nil
	}
	return exited.ExitCode, nil
}
