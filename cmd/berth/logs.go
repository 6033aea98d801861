package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
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
prefixed with the container's service and replica number ("web-1  | "), as
docker compose does. With -f, keep following the output, across restarts of
the containers and of containers created meanwhile (a service scaled up or
recreated), with a line when one exits ("web-1 exited with code 0").

On a cluster (--kubeconfig, --kube), logs shows the project's pods: --since
and --until hold the kubelet's timestamps to the window (a --since duration
is measured by the node's clock); --index N with one SERVICE is the pod of
ordinal N-1 of a StatefulSet (a service with a named volume), and is
refused for a Deployment's pods, which have no stable number; --system is
refused (the cluster's DNS is its own).`,
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
	f.IntVar(&opts.index, "index", 0, "Only the container with this replica number (on a cluster: one SERVICE's StatefulSet pod of ordinal N-1)")
	f.BoolVar(&opts.system, "system", false, "Show the log of the project's DNS daemon instead")
	return cmd
}

func runLogs(cmd *cobra.Command, g *globalOptions, opts logsOptions, services []string) error {
	if g.kube.Enabled() {
		return runKubeLogs(cmd, g, opts, services)
	}
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
	if lo.Since, _, err = parseTime(opts.since, now); err != nil {
		return fmt.Errorf("logs --since: %w", err)
	}
	if lo.Until, _, err = parseTime(opts.until, now); err != nil {
		return fmt.Errorf("logs --until: %w", err)
	}

	ctx := cmd.Context()
	p, rt, all, err := g.projectContainers(ctx, services)
	if err != nil {
		return err
	}
	defer rt.Close()
	cs := scheduler.ServiceContainers(all, services)
	if opts.index > 0 {
		cs = slices.DeleteFunc(cs, func(c scheduler.Container) bool { return c.Labels.Number() != opts.index })
	}
	pr := g.newTermLogPrinter(cmd.OutOrStdout(), cs, opts.noColor, !opts.noPrefix, opts.timestamps)
	if !opts.follow {
		return rt.Logs(ctx, cs, lo, pr.print)
	}
	// Following also shows the containers created from now on (a service
	// scaled up or recreated), as compose's logs -f does.
	keep := func(c scheduler.Container) bool { return opts.index == 0 || c.Labels.Number() == opts.index }
	err = followLogs(ctx, rt, p.Name, services, keep, lo, time.Time{}, pr)
	if ctx.Err() != nil {
		return nil // Ctrl-C ends following; that is not a failure
	}
	return err
}

// parseTime reads logs' --since and --until: an absolute time, or a
// duration before now, which it also returns (ago, else 0); "" is zero.
// On a cluster a --since duration goes to the API as it is (see
// runKubeLogs).
func parseTime(s string, now time.Time) (t time.Time, ago time.Duration, err error) {
	if s == "" {
		return time.Time{}, 0, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), d, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, 0, nil
		}
	}
	if secs, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(secs, 0), 0, nil
	}
	return time.Time{}, 0, fmt.Errorf("%q is neither a time (2006-01-02T15:04:05Z) nor a duration (10m)", s)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// logPrinter writes log lines with docker compose's "name  | " prefixes
// (the container's ShortName, "web-1"), padded to the longest name and
// coloured per container on a terminal, and compose's status lines
// ("web-1 exited with code 0"). Containers can be added while it prints:
// the prefixes widen as compose's do.
type logPrinter struct {
	w io.Writer
	// errW, when set, gets the lines containers wrote to their standard
	// error (attached up, as docker compose); otherwise w gets them.
	errW          io.Writer
	color, prefix bool
	timestamps    bool
	mu            sync.Mutex               // guards the following
	names         map[string]string        // container name: shown name
	order         []string                 // container names, as added
	prefixes      map[string]string        // container name: prefix
	exits         map[string]chan struct{} // container name: closed once its exit is printed
}

var logColors = []string{"36", "33", "32", "35", "34", "96", "93", "92", "95", "94"}

// newTermLogPrinter is the printer of logs and attached up: coloured on a
// terminal, unless --no-color (noColor), NO_COLOR or --ansi says
// otherwise (see globalOptions.logColor).
func (o *globalOptions) newTermLogPrinter(w io.Writer, cs []scheduler.Container, noColor, prefix, timestamps bool) *logPrinter {
	return newLogPrinter(w, cs, o.logColor(w, noColor), prefix, timestamps)
}

func newLogPrinter(w io.Writer, cs []scheduler.Container, color, prefix, timestamps bool) *logPrinter {
	p := &logPrinter{w: w, color: color, prefix: prefix, timestamps: timestamps, names: map[string]string{}, prefixes: map[string]string{}}
	for _, c := range cs {
		p.add(c)
	}
	return p
}

// add makes the container's prefix (once) and widens the others' to it.
func (p *logPrinter) add(c scheduler.Container) {
	p.addSource(c.Name, scheduler.ShortName(c))
}

// addSource adds a source of lines (a container, a container's hooks) by
// its key, shown as name, and widens the other prefixes to it.
func (p *logPrinter) addSource(key, name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.names[key]; ok {
		return
	}
	p.names[key] = name
	p.order = append(p.order, key)
	if !p.prefix {
		p.prefixes[key] = ""
		return
	}
	width := 0
	for _, n := range p.order {
		width = max(width, len(p.names[n]))
	}
	for i, n := range p.order {
		text := p.names[n] + strings.Repeat(" ", width-len(p.names[n])) + "  | "
		if p.color {
			text = "\x1b[" + logColors[i%len(logColors)] + "m" + text + "\x1b[0m"
		}
		p.prefixes[n] = text
	}
}

func (p *logPrinter) print(e containerd.LogEntry) {
	line := e.Line
	if !strings.HasSuffix(line, "\n") {
		line += "\n"
	}
	if p.timestamps {
		line = e.Time.Format(time.RFC3339Nano) + " " + line
	}
	w := p.w
	if e.Stream == "stderr" && p.errW != nil {
		w = p.errW
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprint(w, p.prefixes[e.Container]+line)
}

// hookWriter is where the output of the container's hooks goes: lines
// prefixed "web-1 ->  | " as docker compose shows them, on standard output.
// Close prints a last line without a newline.
func (p *logPrinter) hookWriter(c scheduler.Container) io.WriteCloser {
	key, name := c.Name+" ->", scheduler.ShortName(c)+" ->"
	return &lineWriter{line: func(s string) {
		p.addSource(key, name) // on its first line: a silent hook widens no prefix
		p.print(containerd.LogEntry{Container: key, Line: s, Stream: "stdout"})
	}}
}

// lineWriter calls line with each complete line written to it (without its
// newline); writes may come from several goroutines.
type lineWriter struct {
	mu   sync.Mutex
	buf  []byte
	line func(string)
}

func (l *lineWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, b...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		l.line(strings.TrimSuffix(string(l.buf[:i]), "\r"))
		l.buf = l.buf[i+1:]
	}
}

func (l *lineWriter) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.line(string(l.buf))
		l.buf = nil
	}
	return nil
}

// exited prints compose's line for a container that exited: "web-1 exited
// with code 0", "(restarting)" added when its restart policy starts it
// again.
func (p *logPrinter) exited(c scheduler.Container, code int, restarting bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	name, ok := p.names[c.Name]
	if !ok {
		name = scheduler.ShortName(c)
	}
	if ch := p.exitChan(c.Name); !restarting {
		select {
		case <-ch:
		default:
			close(ch)
		}
	}
	line := fmt.Sprintf("%s exited with code %d", name, code)
	if restarting {
		line += " (restarting)"
	}
	if p.color {
		i := max(slices.Index(p.order, c.Name), 0)
		line = "\x1b[" + logColors[i%len(logColors)] + "m" + line + "\x1b[0m"
	}
	fmt.Fprintln(p.w, line)
}

// exitChan is closed once the container's exit is printed; p.mu is held.
func (p *logPrinter) exitChan(name string) chan struct{} {
	if p.exits == nil {
		p.exits = map[string]chan struct{}{}
	}
	ch, ok := p.exits[name]
	if !ok {
		ch = make(chan struct{})
		p.exits[name] = ch
	}
	return ch
}

// waitExits waits until the exits of the containers have been printed, or
// until timeout: the events that tell of them come on their own stream.
func (p *logPrinter) waitExits(names []string, timeout time.Duration) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for _, n := range names {
		p.mu.Lock()
		ch := p.exitChan(n)
		p.mu.Unlock()
		select {
		case <-ch:
		case <-t.C:
			return
		}
	}
}

// followLogs shows the output of the project's containers of the services
// (none: all) that keep accepts, those there now and those created later,
// with a line for each exit, until ctx ends: logs -f and attached up.
// Exits before exitedSince (zero: all before now) are not shown.
func followLogs(ctx context.Context, rt *containerd.Client, project string, services []string, keep func(scheduler.Container) bool,
	lo containerd.LogOptions, exitedSince time.Time, pr *logPrinter) error {
	lf := rt.FollowLogs(ctx, lo, pr.print)
	err := scheduler.FollowContainers(ctx, rt, project, services, scheduler.FollowHandler{
		Added: func(c scheduler.Container) {
			if keep == nil || keep(c) {
				pr.add(c)
				lf.Add(c)
			}
		},
		Exited: func(c scheduler.Container, code int, restarting bool) {
			if keep == nil || keep(c) {
				lf.Flush(c.ID) // its last words first
				pr.exited(c, code, restarting)
			}
		},
		Removed:     func(c scheduler.Container) { lf.Remove(c.ID) },
		ExitedSince: exitedSince,
	})
	if werr := lf.Wait(); err == nil {
		err = werr
	}
	return err
}

// runSystemLogs prints the log of the project's DNS daemon.
func runSystemLogs(cmd *cobra.Command, g *globalOptions) error {
	p, err := g.projectOrName(cmd.Context())
	if err != nil {
		return err
	}
	path := netbridge.DNSLogPath(g.namespaceRunDir(), p.Name)
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
