package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/berth/berth/containerd"
	"github.com/berth/berth/netbridge"
	"github.com/berth/berth/scheduler"
)

type logsOptions struct {
	follow     bool
	tail       string
	timestamps bool
	noColor    bool
	noPrefix   bool
	since      string
	until      string
	index      int
	system     bool
}

func newLogsCmd(g *globalOptions) *cobra.Command {
	opts := logsOptions{}
	cmd := &cobra.Command{
		Use:   "logs [OPTIONS] [SERVICE...]",
		Short: "Show the output of the project's containers",
		Long: `Show what the project's containers wrote to stdout and stderr, each line
prefixed with the container's name. With -f, keep following the output, also
across restarts of the containers.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLogs(cmd, g, opts, args)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.follow, "follow", "f", false, "Follow the output")
	f.StringVarP(&opts.tail, "tail", "n", "all", "Number of lines to show from the end of each container's log")
	f.BoolVarP(&opts.timestamps, "timestamps", "t", false, "Show timestamps")
	f.BoolVar(&opts.noColor, "no-color", false, "Produce monochrome output")
	f.BoolVar(&opts.noPrefix, "no-log-prefix", false, "Do not print the container name before each line")
	f.StringVar(&opts.since, "since", "", "Show lines since a time (2006-01-02T15:04:05Z) or a duration ago (42m)")
	f.StringVar(&opts.until, "until", "", "Show lines before a time (2006-01-02T15:04:05Z) or a duration ago (42m)")
	f.IntVar(&opts.index, "index", 0, "Only the container with this replica number")
	f.BoolVar(&opts.system, "system", false, "Show the log of the project's DNS daemon instead")
	return cmd
}

func runLogs(cmd *cobra.Command, g *globalOptions, opts logsOptions, services []string) error {
	if opts.system {
		return runSystemLogs(cmd, g)
	}
	lo := containerd.LogOptions{Follow: opts.follow, Tail: -1}
	if opts.tail != "all" && opts.tail != "" {
		n, err := strconv.Atoi(opts.tail)
		if err != nil || n < 0 {
			return fmt.Errorf("logs --tail %q: give a number of lines or \"all\"", opts.tail)
		}
		lo.Tail = n
	}
	var err error
	now := time.Now()
	if lo.Since, err = parseTime(opts.since, now); err != nil {
		return fmt.Errorf("logs --since: %w", err)
	}
	if lo.Until, err = parseTime(opts.until, now); err != nil {
		return fmt.Errorf("logs --until: %w", err)
	}

	ctx := cmd.Context()
	_, rt, all, err := g.projectContainers(ctx, services)
	if err != nil {
		return err
	}
	defer rt.Close()
	cs := scheduler.ServiceContainers(all, services)
	if opts.index > 0 {
		cs = slices.DeleteFunc(cs, func(c scheduler.Container) bool { return c.Labels.Number() != opts.index })
	}
	pr := g.newTermLogPrinter(cmd.OutOrStdout(), cs, opts.noColor, !opts.noPrefix, opts.timestamps)
	err = rt.Logs(ctx, cs, lo, pr.print)
	if opts.follow && ctx.Err() != nil {
		return nil // Ctrl-C ends following; that is not a failure
	}
	return err
}

// parseTime reads an absolute time or a duration before now; "" is zero.
func parseTime(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	if secs, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(secs, 0), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither a time (2006-01-02T15:04:05Z) nor a duration (10m)", s)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// logPrinter writes log lines with docker compose's "name  | " prefixes,
// padded to the longest name and coloured per container on a terminal.
type logPrinter struct {
	w          io.Writer
	prefixes   map[string]string
	timestamps bool
}

var logColors = []string{"36", "33", "32", "35", "34", "96", "93", "92", "95", "94"}

// newTermLogPrinter is the printer of logs and attached up: coloured on a
// terminal, unless --no-color (noColor), NO_COLOR or --ansi says
// otherwise (see globalOptions.logColor).
func (o *globalOptions) newTermLogPrinter(w io.Writer, cs []scheduler.Container, noColor, prefix, timestamps bool) *logPrinter {
	return newLogPrinter(w, cs, o.logColor(w, noColor), prefix, timestamps)
}

func newLogPrinter(w io.Writer, cs []scheduler.Container, color, prefix, timestamps bool) *logPrinter {
	width := 0
	for _, c := range cs {
		width = max(width, len(c.Name))
	}
	p := &logPrinter{w: w, prefixes: map[string]string{}, timestamps: timestamps}
	for i, c := range cs {
		if !prefix {
			p.prefixes[c.Name] = ""
			continue
		}
		text := c.Name + strings.Repeat(" ", width-len(c.Name)) + "  | "
		if color {
			text = "\x1b[" + logColors[i%len(logColors)] + "m" + text + "\x1b[0m"
		}
		p.prefixes[c.Name] = text
	}
	return p
}

func (p *logPrinter) print(e containerd.LogEntry) {
	line := e.Line
	if !strings.HasSuffix(line, "\n") {
		line += "\n"
	}
	if p.timestamps {
		line = e.Time.Format(time.RFC3339Nano) + " " + line
	}
	fmt.Fprint(p.w, p.prefixes[e.Container]+line)
}

// runSystemLogs prints the log of the project's DNS daemon.
func runSystemLogs(cmd *cobra.Command, g *globalOptions) error {
	p, err := g.projectOrName(cmd.Context())
	if err != nil {
		return err
	}
	path := netbridge.DNSLogPath(runDir(), p.Name)
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return fmt.Errorf("project %s has no DNS daemon log (%s): it runs while the project has networks", p.Name, path)
	}
	if err != nil {
		return err
	}
	_, err = cmd.OutOrStdout().Write(b)
	return err
}
