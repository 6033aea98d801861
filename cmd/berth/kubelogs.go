package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth/berth/containerd"
	"github.com/berth/berth/kube"
)

// runKubeLogs is logs on a cluster: the project's pods' output with the
// usual "api-1  | " prefixes; -f follows, and picks up pods created
// meanwhile (a recreated pod, a restarted container).
//
// --since and --until are read as on one machine (parseTime); a --since
// duration goes to the API as sinceSeconds, a time as sinceTime, and the
// lines' timestamps, which berth always asks for (and shows only with
// -t), are held to both bounds here. --index N shows replica N of the one
// service named: a StatefulSet's pod of ordinal N-1; a Deployment's pods
// have no stable number, and kube.Client.Logs says so rather than pick
// one. --system (berth's DNS daemon) has no counterpart on a cluster.
func runKubeLogs(cmd *cobra.Command, g *globalOptions, opts logsOptions, services []string) error {
	if opts.system {
		return fmt.Errorf("logs --system does not act on a cluster: a cluster's DNS is its own (kubectl -n kube-system logs); drop --system")
	}
	if opts.index > 0 && len(services) != 1 {
		return fmt.Errorf("logs --index %d on a cluster: name the one service whose replica it is", opts.index)
	}
	lo := kube.LogOptions{Services: namesOrNil(services), Follow: opts.follow, Tail: -1, Index: opts.index}
	if opts.tail != "all" && opts.tail != "" {
		n, err := strconv.Atoi(opts.tail)
		if err != nil || n < 0 {
			return fmt.Errorf("logs --tail %q: give a number of lines or \"all\"", opts.tail)
		}
		lo.Tail = int64(n)
	}
	if err := kubeLogWindow(&lo, opts, time.Now()); err != nil {
		return err
	}
	ctx := cmd.Context()
	project, c, err := g.kubeServiceProject(ctx, services)
	if err != nil {
		return err
	}
	pr := g.newTermLogPrinter(cmd.OutOrStdout(), nil, opts.noColor, !opts.noPrefix, opts.timestamps)
	lo.Sources = func(names []string) {
		for _, n := range names {
			pr.addSource(n, n)
		}
	}
	err = c.Logs(ctx, project, lo, kubeLogLine(pr))
	if ctx.Err() != nil {
		return nil // Ctrl-C ends following; that is not a failure
	}
	return err
}

// kubeLogWindow sets lo's Since, SinceSeconds and Until from --since and
// --until, read at now. A --since duration is sent as whole seconds,
// rounded up so that no line of the span is left out.
func kubeLogWindow(lo *kube.LogOptions, opts logsOptions, now time.Time) error {
	since, ago, err := parseTime(opts.since, now)
	if err != nil {
		return fmt.Errorf("logs --since: %w", err)
	}
	if ago > 0 {
		lo.SinceSeconds = int64((ago + time.Second - 1) / time.Second)
	} else {
		lo.Since = since
	}
	if lo.Until, _, err = parseTime(opts.until, now); err != nil {
		return fmt.Errorf("logs --until: %w", err)
	}
	return nil
}

// kubeLogLine prints a pod's line through the local logs' printer.
func kubeLogLine(pr *logPrinter) func(kube.LogLine) {
	return func(l kube.LogLine) {
		pr.addSource(l.Source, l.Source)
		pr.print(containerd.LogEntry{Container: l.Source, Service: l.Service, Stream: "stdout", Time: l.Time, Line: l.Line})
	}
}
