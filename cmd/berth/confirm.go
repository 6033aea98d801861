package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/berth/berth/scheduler"
)

// confirmer is how up asks before it does what cannot be undone
// (recreating a volume whose configuration changed): with -y/--yes every
// answer is yes; on a terminal the question is asked on standard error and
// answered on standard input (no by default), as docker compose asks;
// otherwise there is no one to ask (nil) and up fails saying to use -y.
func (o *globalOptions) confirmer(progress *progressWriter) scheduler.Confirm {
	if o.assumeYes {
		return func(string) (bool, error) { return true, nil }
	}
	if !term.IsTerminal(int(os.Stdin.Fd())) {
		return nil
	}
	return func(question string) (bool, error) {
		progress.Stop() // the live view would draw over the question
		defer progress.Live()
		return askYesNo(os.Stderr, os.Stdin, question)
	}
}

// askYesNo writes question with a [y/N] hint to w and reads one line of
// answer from r: y or yes (any case) is yes, anything else no.
func askYesNo(w io.Writer, r io.Reader, question string) (bool, error) {
	fmt.Fprintf(w, "%s [y/N] ", question)
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && line == "" {
		fmt.Fprintln(w)
		if err == io.EOF {
			return false, nil
		}
		return false, fmt.Errorf("read the answer: %w", err)
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}
