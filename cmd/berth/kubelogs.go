package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/berth/berth/containerd"
	"github.com/berth/berth/kube"
)

// runKubeLogs is logs on a cluster: the project's pods' output with the
// usual "api-1  | " prefixes; -f follows, and picks up pods created
// meanwhile (a recreated pod, a restarted container).
func runKubeLogs(cmd *cobra.Command, g *globalOptions, opts logsOptions, services []string) error {
	if opts.since != "" || opts.until != "" || opts.index != 0 || opts.system {
		return fmt.Errorf("logs --since, --until, --index and --system do not act on a cluster: drop them")
	}
	lo := kube.LogOptions{Services: services, Follow: opts.follow, Tail: -1}
	if opts.tail != "all" && opts.tail != "" {
		n, err := strconv.Atoi(opts.tail)
		if err != nil || n < 0 {
			return fmt.Errorf("logs --tail %q: give a number of lines or \"all\"", opts.tail)
		}
		lo.Tail = int64(n)
	}
	ctx := cmd.Context()
	project, c, err := g.kubeProject(ctx)
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

// kubeLogLine prints a pod's line through the local logs' printer.
func kubeLogLine(pr *logPrinter) func(kube.LogLine) {
	return func(l kube.LogLine) {
		pr.addSource(l.Source, l.Source)
		pr.print(containerd.LogEntry{Container: l.Source, Service: l.Service, Stream: "stdout", Time: l.Time, Line: l.Line})
	}
}
