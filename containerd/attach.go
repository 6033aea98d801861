package containerd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	apitask "github.com/containerd/containerd/api/types/task"

	"github.com/berth/berth/scheduler"
)

// ErrNoStdin is returned (wrapped) by Stdin for a container whose
// standard input cannot be written to.
var ErrNoStdin = errors.New("no standard input to attach to")

// Stdin opens the standard input of a running service container for
// writing, as docker attach passes its input on. Only a container with
// stdin_open and no tty has one berth can reach: the pipe its init holds
// open (see RunInit's --keep-stdin), reopened through /proc. A container
// with a tty reads its terminal, which only the shim holds; one without
// stdin_open has none (as in Docker, where attach then passes no input).
func (c *Client) Stdin(ctx context.Context, sc scheduler.Container) (io.WriteCloser, error) {
	ctr, err := c.client.LoadContainer(ctx, sc.ID)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", sc.Name, err)
	}
	spec, err := ctr.Spec(ctx)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", sc.Name, err)
	}
	switch {
	case spec.Process != nil && spec.Process.Terminal:
		return c.terminalInput(ctx, sc)
	case spec.Process == nil || !keepsStdin(spec.Process.Args):
		return nil, fmt.Errorf("container %s was not made with stdin_open: true: %w", sc.Name, ErrNoStdin)
	}
	proc, err := c.taskProcess(ctx, sc.ID)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", sc.Name, err)
	}
	if proc.Status != apitask.Status_RUNNING && proc.Status != apitask.Status_PAUSED || proc.Pid == 0 {
		return nil, fmt.Errorf("container %s is not running", sc.Name)
	}
	// Right after the start, berth's init may not have made the pipe yet:
	// its standard input is then still /dev/null, which is waited out.
	path := fmt.Sprintf("/proc/%d/fd/0", proc.Pid)
	for wait := time.Millisecond; ; wait *= 2 {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return nil, fmt.Errorf("container %s: open its standard input: %w", sc.Name, err)
		}
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeNamedPipe != 0 {
			return f, nil
		}
		f.Close()
		if wait > stdinWait {
			return nil, fmt.Errorf("container %s: its standard input is not the pipe of stdin_open", sc.Name)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// stdinWait bounds how long Stdin waits for a container's init to make
// its standard input's pipe: microseconds after its start, as a rule.
const stdinWait = 2 * time.Second

// keepsStdin reports whether a container's command line starts with
// berth's init holding standard input open (initPrefix).
func keepsStdin(args []string) bool {
	args = withoutLauncher(args)
	return len(args) > 1 && args[0] == InitPath && args[1] == "--keep-stdin"
}

// terminalInput opens the FIFO the shim passes on to a tty container's
// terminal: the task's stdin, in its FIFO directory (see taskio.go), or
// where an older berth made it.
func (c *Client) terminalInput(ctx context.Context, sc scheduler.Container) (io.WriteCloser, error) {
	proc, err := c.taskProcess(ctx, sc.ID)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", sc.Name, err)
	}
	if proc.Status != apitask.Status_RUNNING && proc.Status != apitask.Status_PAUSED {
		return nil, fmt.Errorf("container %s is not running", sc.Name)
	}
	path := proc.Stdin
	if st, err := os.Stat(path); path == "" || err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		return nil, fmt.Errorf("container %s has a tty whose input berth cannot pass on (an older berth started it: restart it): %w", sc.Name, ErrNoStdin)
	}
	// Non-blocking: with no reader (the task gone meanwhile) it fails
	// instead of waiting for one.
	f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("container %s: open its terminal's input: %w", sc.Name, err)
	}
	return f, nil
}

// ResizeTerminal gives a tty container's terminal a size.
func (c *Client) ResizeTerminal(ctx context.Context, sc scheduler.Container, width, height uint32) error {
	ctr, err := c.client.LoadContainer(ctx, sc.ID)
	if err != nil {
		return fmt.Errorf("container %s: %w", sc.Name, err)
	}
	task, err := ctr.Task(ctx, nil)
	if err != nil {
		return fmt.Errorf("container %s: %w", sc.Name, err)
	}
	return task.Resize(ctx, width, height)
}
