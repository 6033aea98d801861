package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/console"
	"github.com/spf13/cobra"

	"github.com/berth/berth/containerd"
	"github.com/berth/berth/scheduler"
)

type attachOptions struct {
	index      int
	noStdin    bool
	sigProxy   bool
	detachKeys string
}

// defaultDetachKeys is Docker's detach sequence.
const defaultDetachKeys = "ctrl-p,ctrl-q"

func newAttachCmd(g *globalOptions) *cobra.Command {
	opts := attachOptions{}
	cmd := &cobra.Command{
		Use:   "attach [OPTIONS] SERVICE",
		Short: "Attach to a service's running container: its output, and its input",
		Long: `Show the output of a service's running container (the replica --index
names) from now on, and pass standard input on to it, until the container
exits; berth then exits with the container's exit code.

Input reaches a container made with stdin_open: true, or with tty: true:
then what is typed goes to the container's terminal (berth's own terminal
is put in raw mode meanwhile and gives it its size), as docker attach does.
One with neither has no input, as in Docker. The detach keys (default
ctrl-p,ctrl-q) in the input end attach and leave the container running.
With --sig-proxy (the default) the signals berth gets (Ctrl-C's SIGINT,
SIGTERM ...) are passed on to the container's process; without it
Ctrl-C detaches. It works from -p NAME alone, with no compose file.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAttach(cmd, g, opts, args[0])
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.index, "index", 1, "Which replica of the service (from 1)")
	f.BoolVar(&opts.noStdin, "no-stdin", false, "Do not attach standard input")
	f.BoolVar(&opts.sigProxy, "sig-proxy", true, "Pass the signals berth receives on to the container's process")
	f.StringVar(&opts.detachKeys, "detach-keys", defaultDetachKeys, `Key sequence that detaches: comma-separated keys, a letter or ctrl-<value> ("ctrl-a,x")`)
	return cmd
}

// errDetached ends attach when the detach keys are read.
var errDetached = errors.New("detached")

func runAttach(cmd *cobra.Command, g *globalOptions, opts attachOptions, service string) error {
	keys, err := parseDetachKeys(opts.detachKeys)
	if err != nil {
		return err
	}
	if opts.index < 0 {
		return fmt.Errorf("attach --index %d: give a replica number from 1", opts.index)
	}
	// The signals are the container's with --sig-proxy: what berth's own
	// Ctrl-C handling cancels must not end attach then.
	outer := cmd.Context()
	ctx := outer
	if opts.sigProxy {
		ctx = context.WithoutCancel(outer)
	}
	p, err := g.projectOrName(ctx)
	if err != nil {
		return err
	}
	rt, err := g.connect(ctx, scheduler.Discard)
	if err != nil {
		return err
	}
	defer rt.Close()
	c, err := scheduler.ServiceContainer(ctx, rt, p, service, opts.index)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Output from now on: taken before input goes in, so that the answers
	// to it are shown.
	start := time.Now()

	ended := make(chan error, 3)
	if !opts.noStdin {
		switch in, err := rt.Stdin(ctx, c); {
		case errors.Is(err, containerd.ErrNoStdin):
			// As Docker: no input to pass on. A tty is worth a word.
			if strings.Contains(err.Error(), "tty") {
				fmt.Fprintf(cmd.ErrOrStderr(), "%v: showing its output only\n", err)
			}
		case err != nil:
			return err
		default:
			defer in.Close()
			if c.Labels.Terminal() {
				restore, err := rawTerminal(ctx, rt, c, cmd.InOrStdin())
				if err != nil {
					return err
				}
				defer restore()
			}
			go func() {
				_, err := io.Copy(in, &detachReader{r: cmd.InOrStdin(), keys: keys})
				if errors.Is(err, errDetached) {
					ended <- errDetached
				}
				// The end of input leaves the container running and attached.
			}()
		}
	}
	if opts.sigProxy {
		sigs := make(chan os.Signal, 8)
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2)
		defer signal.Stop(sigs)
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case s := <-sigs:
					rt.Kill(ctx, c, strconv.Itoa(int(s.(syscall.Signal)))) //nolint:errcheck // it may have exited
				}
			}
		}()
	} else {
		go func() {
			select {
			case <-outer.Done():
				ended <- errDetached // Ctrl-C detaches
			case <-ctx.Done():
			}
		}()
	}

	out := &attachOutput{stdout: cmd.OutOrStdout(), stderr: cmd.ErrOrStderr()}
	logCtx, stopLogs := context.WithCancel(ctx)
	defer stopLogs()
	logsDone := make(chan error, 1)
	go func() {
		logsDone <- rt.Logs(logCtx, []scheduler.Container{c}, containerd.LogOptions{Follow: true, Tail: -1, Since: start}, out.print)
	}()
	go func() {
		exited, err := scheduler.WaitContainer(ctx, rt, p.Name, c.Name)
		if err == nil && exited.ExitCode != 0 {
			err = exitError{code: exited.ExitCode}
		}
		ended <- err
	}()
	err = <-ended
	stopLogs()
	<-logsDone
	if errors.Is(err, errDetached) {
		return nil
	}
	// What the container wrote last, the follower may not have read yet.
	since := out.last
	if since.IsZero() {
		since = start
	}
	out.skip = out.atLast
	rt.Logs(context.WithoutCancel(ctx), []scheduler.Container{c}, containerd.LogOptions{Tail: -1, Since: since}, out.catchUp) //nolint:errcheck // what could be shown was
	return err
}

// rawTerminal puts berth's terminal, when its input is one, in raw mode
// for a container's tty (keys go as they are typed: the container's
// terminal echoes and edits), and gives that tty the terminal's size now
// and whenever it changes. restore undoes both.
func rawTerminal(ctx context.Context, rt *containerd.Client, c scheduler.Container, in io.Reader) (restore func(), err error) {
	f, ok := in.(*os.File)
	if !ok {
		return func() {}, nil
	}
	con, err := console.ConsoleFromFile(f)
	if err != nil {
		return func() {}, nil // not a terminal: input passes as it comes
	}
	if err := con.SetRaw(); err != nil {
		return nil, fmt.Errorf("terminal: %w", err)
	}
	stop := containerd.FollowTerminalSize(con, func(w, h uint32) {
		rt.ResizeTerminal(ctx, c, w, h) //nolint:errcheck // cosmetic
	})
	return func() {
		stop()
		con.Reset() //nolint:errcheck // the terminal may be gone
	}, nil
}

// attachOutput writes a container's log lines to standard output and
// error, and remembers where it is, to catch up after following ends.
type attachOutput struct {
	stdout, stderr io.Writer
	// last is the time of the last line written; atLast counts the lines
	// written with that time; skip is how many of them catchUp passes.
	last   time.Time
	atLast int
	skip   int
}

func (a *attachOutput) print(e containerd.LogEntry) {
	w := a.stdout
	if e.Stream == "stderr" {
		w = a.stderr
	}
	io.WriteString(w, e.Line) //nolint:errcheck // a closed terminal ends nothing here
	if e.Time.Equal(a.last) {
		a.atLast++
		return
	}
	a.last, a.atLast = e.Time, 1
}

// catchUp prints the lines after the last one print wrote.
func (a *attachOutput) catchUp(e containerd.LogEntry) {
	if e.Time.Before(a.last) {
		return
	}
	if e.Time.Equal(a.last) && a.skip > 0 {
		a.skip--
		return
	}
	a.print(e)
}

// parseDetachKeys reads a --detach-keys value as Docker does: keys
// separated by commas, each a single character or ctrl-<value> where value
// is a letter or one of @ [ \ ] ^ _.
func parseDetachKeys(s string) ([]byte, error) {
	var out []byte
	for _, k := range strings.Split(s, ",") {
		k = strings.TrimSpace(k)
		switch {
		case len(k) == 1:
			out = append(out, k[0])
		case strings.HasPrefix(strings.ToLower(k), "ctrl-") && len(k) == 6:
			c := k[5]
			switch {
			case c >= 'a' && c <= 'z':
				out = append(out, c-'a'+1)
			case c >= 'A' && c <= 'Z':
				out = append(out, c-'A'+1)
			case c == '@':
				out = append(out, 0)
			case strings.IndexByte(`[\]^_`, c) >= 0:
				out = append(out, 27+byte(strings.IndexByte(`[\]^_`, c)))
			default:
				return nil, fmt.Errorf("--detach-keys %q: unknown key %q: give a letter or ctrl-<letter>, e.g. ctrl-p,ctrl-q", s, k)
			}
		default:
			return nil, fmt.Errorf("--detach-keys %q: unknown key %q: give a letter or ctrl-<letter>, e.g. ctrl-p,ctrl-q", s, k)
		}
	}
	return out, nil
}

// detachReader passes input through until it reads the detach keys, which
// it holds back; it then returns errDetached. Keys that only begin the
// sequence are passed on once the sequence breaks off.
type detachReader struct {
	r    io.Reader
	keys []byte
	// matched is how many of keys the input ended with so far.
	matched int
}

func (d *detachReader) Read(p []byte) (int, error) {
	// Room for the held-back keys that may go out with what is read.
	buf := make([]byte, max(1, len(p)-len(d.keys)))
	n, err := d.r.Read(buf)
	out := p[:0]
	for _, b := range buf[:n] {
		if b == d.keys[d.matched] {
			d.matched++
			if d.matched == len(d.keys) {
				return len(out), errDetached
			}
			continue
		}
		if d.matched > 0 { // not the sequence after all: what was held back goes on
			out = append(out, d.keys[:d.matched]...)
			d.matched = 0
			if b == d.keys[0] {
				d.matched = 1
				continue
			}
		}
		out = append(out, b)
	}
	return len(out), err
}
