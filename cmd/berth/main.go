// Command berth runs compose stacks on containerd, without a Docker engine.
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/berth/berth/containerd"
)

func main() {
	// Bound into containers with init: true as their pid 1.
	if filepath.Base(os.Args[0]) == filepath.Base(containerd.InitPath) {
		os.Exit(containerd.RunInit(os.Args[1:]))
	}
	os.Exit(run())
}

// run executes the command line and returns the process exit status:
// 0 on success, 130 when interrupted (see interruptContext), the status an exitError carries, 1 otherwise.
func run() int {
	ctx, stop := interruptContext()
	defer stop()

	cmd := newRootCmd()
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(os.Stderr, ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(os.Stderr, err)
	if ctx.Err() != nil {
		return 130
	}
	return 1
}

// exitError ends the process with a given status, printing err if not nil.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e exitError) Unwrap() error { return e.err }
