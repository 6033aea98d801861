package main

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/containerd"
	"github.com/berth/berth/scheduler"
)

// runThroughLog starts c as a detached container is started (its output
// to its log, so that container logs keeps it, as docker's does) and
// passes the log on to stdout and stderr, stream by stream, until the
// process exits; it returns its exit code. When ctx ends (Ctrl-C) the
// container is stopped, and what it wrote until its exit is still passed
// on. It serves attached runs with no terminal and no standard input.
func runThroughLog(ctx context.Context, rt *containerd.Client, c scheduler.Container, stdout, stderr io.Writer) (int, error) {
	since := time.Now()
	if err := rt.Start(ctx, c); err != nil {
		return -1, err
	}
	bg := context.WithoutCancel(ctx)
	var last time.Time
	write := func(e containerd.LogEntry) {
		if e.Time.After(last) {
			last = e.Time
		}
		w := stdout
		if e.Stream == "stderr" {
			w = stderr
		}
		io.WriteString(w, e.Line) //nolint:errcheck // a closed terminal does not stop the container
	}
	fctx, stopFollowing := context.WithCancel(bg)
	followed := make(chan error, 1)
	go func() {
		followed <- rt.Logs(fctx, []scheduler.Container{c}, containerd.LogOptions{Follow: true, Tail: -1, Since: since}, write)
	}()
	wctx, exitedNow := context.WithCancel(bg)
	defer exitedNow()
	// Ctrl-C stops the container. The stop runs to its end even once the
	// exit is seen (its task's delete cut short would leave containerd a
	// record that refuses the name's next run), and is waited for.
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		select {
		case <-ctx.Done():
			grace := compose.DefaultStopGracePeriod
			if d, err := time.ParseDuration(c.Labels[compose.LabelStopGrace]); err == nil {
				grace = d
			}
			rt.Stop(bg, c, grace) //nolint:errcheck // the wait below tells how it ended
		case <-wctx.Done():
		}
	}()
	exited, err := scheduler.WaitExit(wctx, rt, c.Labels.Project(), []string{c.Labels.Service()})
	exitedNow()
	<-stopped
	stopFollowing()
	<-followed
	if err != nil {
		return -1, err
	}
	if exited == nil {
		return -1, errors.New("the container's exit was not seen")
	}
	// What it wrote after the follower's last look.
	from := since
	if !last.Before(from) {
		from = last.Add(time.Nanosecond)
	}
	if err := rt.Logs(bg, []scheduler.Container{c}, containerd.LogOptions{Tail: -1, Since: from}, write); err != nil {
		return -1, err
	}
	return exited.ExitCode, nil
}
