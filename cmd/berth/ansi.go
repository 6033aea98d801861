package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// ANSI modes of --ansi (and COMPOSE_ANSI), docker compose's.
const (
	ansiNever  = "never"
	ansiAlways = "always"
	ansiAuto   = "auto"
)

// resolveOutput settles the output flags before a subcommand runs, as
// docker compose does: COMPOSE_ANSI applies unless --ansi was given, and
// --progress must agree with it.
// berth's own helpers (the DNS daemon, the log driver), hidden commands
// run with the environment of whoever started them, print no progress and
// must not fail on it: they are left out.
func (o *globalOptions) resolveOutput(cmd *cobra.Command) error {
	if cmd.Hidden {
		return nil
	}
	from := "--ansi"
	if v, ok := os.LookupEnv("COMPOSE_ANSI"); ok && !cmd.Root().Flags().Changed("ansi") {
		o.ansi, from = v, "COMPOSE_ANSI"
	}
	switch o.ansi {
	case ansiNever, ansiAlways, ansiAuto:
	default:
		return fmt.Errorf("%s %q: use never, always or auto", from, o.ansi)
	}
	switch {
	case o.progress == "tty" && o.ansi == ansiNever:
		return errors.New("can't use --progress tty while ANSI support is disabled: drop --ansi never (or COMPOSE_ANSI)")
	case o.progress == "plain" && o.ansi == ansiAlways:
		return errors.New("can't use --progress plain while ANSI support is forced: drop --ansi always (or COMPOSE_ANSI)")
	}
	return nil
}

// liveProgress says whether progress is drawn in place (the tty view):
// always with --progress tty; with auto, when standard error is a
// terminal and --ansi is not never.
func (o *globalOptions) liveProgress(stderrIsTerminal bool) bool {
	switch o.progress {
	case "tty":
		return true
	case "auto", "":
		return stderrIsTerminal && o.ansi != ansiNever
	}
	return false
}

// logColor says whether log prefixes written to w are coloured: not
// with --no-color (noColor), NO_COLOR or --ansi never; always with
// --ansi always; else when w is a terminal.
func (o *globalOptions) logColor(w io.Writer, noColor bool) bool {
	switch {
	case noColor || os.Getenv("NO_COLOR") != "" || o.ansi == ansiNever:
		return false
	case o.ansi == ansiAlways:
		return true
	}
	return isTerminal(w)
}

// termIsTerminal reports whether f is a terminal.
func termIsTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }
