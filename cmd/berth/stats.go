package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth/berth/hostproc"
	"github.com/berth/berth/scheduler"
	"github.com/berth/berth/stats"
)

type statsOptions struct {
	noStream bool
	format   string
	all      bool
	noTrunc  bool
}

func newStatsCmd(g *globalOptions) *cobra.Command {
	opts := statsOptions{}
	cmd := &cobra.Command{
		Use:   "stats [OPTIONS] [SERVICE...]",
		Short: "Show the services' containers' resource use",
		Long: `Show, for each running (or paused) container of the project or of the
named services, what docker stats shows: CPU % (of one CPU: two busy CPUs
make 200%), MEM USAGE / LIMIT (less the inactive page cache; the limit is
the host's memory when the container has none), MEM %, NET I/O (its network
namespace's interfaces, loopback left out; 0B for network_mode: host),
BLOCK I/O and PIDS.

CPU % is measured over one second, so the first table comes after a
second. Without --no-stream the table is redrawn every second until Ctrl-C
(when the output is no terminal, a new table is printed each second), and
containers that start or stop meanwhile come and go. --format json prints
one JSON object per container per update, with docker's field names.

-a also shows the stopped containers, with zeros, as docker stats -a does.

Memory, CPU, block I/O and pids come from the container's cgroup (v1 or
v2) through containerd, network traffic from the host's /proc.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runStats(cmd, g, opts, args)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.noStream, "no-stream", false, "Print one table (after a second) instead of redrawing it")
	f.StringVar(&opts.format, "format", "table", "Output format: table or json (one object per line)")
	f.BoolVarP(&opts.all, "all", "a", false, "Also show stopped containers (with zeros)")
	f.BoolVar(&opts.noTrunc, "no-trunc", false, "Do not truncate output (berth never does: names are shown whole)")
	return cmd
}

func runStats(cmd *cobra.Command, g *globalOptions, opts statsOptions, services []string) error {
	if opts.format != "table" && opts.format != "json" {
		return fmt.Errorf("stats --format %q: use table or json", opts.format)
	}
	ctx := cmd.Context()
	hostMem, err := hostproc.Host.MemTotal()
	if err != nil {
		return fmt.Errorf("read the host's memory size: %w", err)
	}
	p, rt, err := g.projectClient(ctx, services)
	if err != nil {
		return err
	}
	defer rt.Close()
	out := cmd.OutOrStdout()
	layout := statsAppend
	switch {
	case opts.noStream:
		layout = statsOnce
	case isTerminal(out):
		layout = statsRedraw
	}
	w := stats.Watcher{Clock: scheduler.RealClock{}, Source: stats.ProjectSource(rt, p.Name, services, opts.all),
		Interval: time.Second, HostMem: hostMem, Once: opts.noStream}
	err = w.Run(ctx, func(rows []stats.Row) error { return printStats(out, rows, opts.format, layout) })
	if !opts.noStream && ctx.Err() != nil {
		return nil // Ctrl-C ends the stream; that is not a failure
	}
	return err
}

// statsLayout is how successive updates are laid out.
type statsLayout int

const (
	statsOnce   statsLayout = iota // a single update (--no-stream)
	statsAppend                    // one after the other, apart (no terminal)
	statsRedraw                    // each in place of the last (a terminal)
)

// printStats writes one update: a table, or a JSON object per container.
func printStats(out io.Writer, rows []stats.Row, format string, layout statsLayout) error {
	if format == "json" {
		enc := json.NewEncoder(out)
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	if layout == statsRedraw {
		fmt.Fprint(out, "\033[2J\033[H") // clear the screen, cursor home
	}
	tw := tabwriter.NewWriter(out, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tCPU %\tMEM USAGE / LIMIT\tMEM %\tNET I/O\tBLOCK I/O\tPIDS")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.CPUPerc, r.MemUsage, r.MemPerc, r.NetIO, r.BlockIO, r.PIDs)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if layout == statsAppend {
		_, err := fmt.Fprintln(out)
		return err
	}
	return nil
}
