package containerd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"
	"github.com/moby/sys/signal"
	"golang.org/x/sys/unix"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/scheduler"
)

var _ scheduler.HaltPreparer = (*Client)(nil)

// PrepareHalt implements scheduler.HaltPreparer. For a running task it
// takes a pidfd on the task's init process, starts waiting for
// containerd's report of its exit, and marks the container as stopped by
// hand (so that the supervisor, seeing the exit, does not restart it).
// Halt is then the pre_stop hooks, the stop signal sent by berth itself
// and the wait for the exit, which the kernel tells through the pidfd
// before the shim and containerd do: down stops a chain of dependencies
// one link after the other, and a link then costs no round trip to
// containerd. A task that is not running (paused, created, exited), or a
// kernel without pidfds, gets no preparation: Halt does it all.
func (c *Client) PrepareHalt(ctx context.Context, sc scheduler.Container) (_ scheduler.PreparedHalt, retErr error) {
	ctr, err := c.client.LoadContainer(ctx, sc.ID)
	if errdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("stop container %s: %w", sc.Name, err)
	}
	task, err := ctr.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("stop container %s: %w", sc.Name, err)
	}
	proc, err := openPidfd(int(task.Pid()))
	if err != nil || proc == nil {
		return nil, err
	}
	defer func() {
		if retErr != nil {
			proc.close()
		}
	}()
	// The pidfd was taken before the task is seen running: it names the
	// task's process, not one that took its pid since.
	st, err := task.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("stop container %s: %w", sc.Name, err)
	}
	if st.Status != containerd.Running {
		proc.close()
		return nil, nil
	}
	if sharesShim(sc) {
		c.watchExits(ctx) // for Remove, which deletes the task once its exit is published
	}
	waitCtx, cancel := context.WithCancel(ctx)
	exited, err := task.Wait(waitCtx)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("stop container %s: %w", sc.Name, err)
	}
	if _, err := ctr.SetLabels(ctx, map[string]string{compose.LabelManualStop: "true"}); err != nil {
		cancel()
		return nil, fmt.Errorf("stop container %s: %w", sc.Name, err)
	}
	return newPreparedHalt(c, ctr, task, sc.ID, proc, exited, cancel), nil
}

// newPreparedHalt is the prepared halt of container id, whose task's init
// is proc and whose exit containerd reports on exited.
func newPreparedHalt(c haltClient, labels labelSetter, task killer, id string, proc *pidfdProcess, exited <-chan containerd.ExitStatus, cancel context.CancelFunc) *preparedHalt {
	p := &preparedHalt{client: c, labels: labels, task: task, id: id, proc: proc, exited: make(chan struct{}), cancel: cancel}
	go func() {
		<-exited
		close(p.exited)
	}()
	return p
}

// haltClient is what a prepared halt needs of the Client.
type haltClient interface {
	runPreStop(ctx context.Context, sc scheduler.Container) error
	publishKill(ctx context.Context, id string, sig syscall.Signal)
	publishStop(ctx context.Context, id string)
}

// labelSetter is a containerd container's labels.
type labelSetter interface {
	SetLabels(ctx context.Context, labels map[string]string) (map[string]string, error)
}

// killer sends a signal through the shim.
type killer interface {
	Kill(ctx context.Context, sig syscall.Signal, opts ...containerd.KillOpts) error
}

// preparedHalt is the halt of a running container, prepared (PrepareHalt).
type preparedHalt struct {
	client haltClient
	labels labelSetter
	task   killer
	id     string
	// proc is the task's init process.
	proc *pidfdProcess
	// exited is closed once containerd reported the task's exit (or its
	// wait for it ended); cancel ends that wait.
	exited chan struct{}
	cancel context.CancelFunc
	// signalled is set once Halt sent a signal, halted once it succeeded.
	signalled, halted bool
}

// Halt implements scheduler.PreparedHalt: the container's pre_stop hooks,
// its stop signal, timeout, then SIGKILL, as Client.Halt does. It returns
// as soon as the process has exited, as the pidfd or containerd tells
// first; a process that has exited already is neither signalled nor
// waited for.
func (p *preparedHalt) Halt(ctx context.Context, sc scheduler.Container, timeout time.Duration) error {
	if p.proc.hasExited() {
		p.halted = true
		return nil
	}
	// As in docker compose, a failing pre_stop fails the stop.
	if err := p.client.runPreStop(ctx, sc); err != nil {
		return err
	}
	sig, err := stopSignal(sc)
	if err != nil {
		return fmt.Errorf("stop container %s: %w", sc.Name, err)
	}
	p.client.publishKill(ctx, sc.ID, sig)
	p.signalled = true
	if err := p.proc.signal(sig); err != nil {
		return fmt.Errorf("stop container %s: send %v: %w", sc.Name, sig, err)
	}
	if err := p.waitExit(ctx, timeout); err != nil {
		return fmt.Errorf("stop container %s: %w", sc.Name, err)
	}
	p.halted = true
	return nil
}

// waitExit waits for the process's exit for timeout, then kills it (and
// whatever else runs in the container) through the shim and waits
// killWait more.
func (p *preparedHalt) waitExit(ctx context.Context, timeout time.Duration) error {
	return killAfter(ctx, p.client, p.id, p.task, timeout, p.ended)
}

// ended waits up to d for the process's end, as its pidfd or containerd
// reports it first; false when d passed.
func (p *preparedHalt) ended(ctx context.Context, d time.Duration) (bool, error) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.proc.gone:
		return true, nil
	case <-p.exited:
		return true, nil
	case <-ctx.Done():
		return false, ctx.Err()
	case <-t.C:
		return false, nil
	}
}

// Finish implements scheduler.PreparedHalt. After a Halt that stopped the
// process, it waits for containerd's report of the exit and then tells
// the stop's end (the event comes after the exit's, as in Docker). A
// container Halt did not signal, and did not find exited, is no longer
// marked as stopped by hand: it runs on, and its restart policy applies
// again.
func (p *preparedHalt) Finish(ctx context.Context) {
	defer p.cancel()
	defer p.proc.close()
	switch {
	case p.halted && p.signalled:
		select {
		case <-p.exited:
		case <-ctx.Done():
			return
		}
		p.client.publishStop(ctx, p.id)
	case !p.halted && !p.signalled:
		p.labels.SetLabels(context.WithoutCancel(ctx), map[string]string{compose.LabelManualStop: ""}) //nolint:errcheck // best effort: the supervisor was told to take it back (Unquiesce)
	}
}

// stopSignal is the signal that stops the container: its stop_signal, or
// SIGTERM.
func stopSignal(sc scheduler.Container) (syscall.Signal, error) {
	name := sc.Labels.StopSignal()
	if name == "" {
		return syscall.SIGTERM, nil
	}
	sig, err := signal.ParseSignal(name)
	if err != nil {
		return 0, fmt.Errorf("stop signal %q: %w", name, err)
	}
	return sig, nil
}

// pidfdProcess is a process berth holds a pidfd on: it signals it, and
// sees it exit, without asking the shim.
type pidfdProcess struct {
	file *os.File
	// gone is closed once the process has exited (the pidfd reads).
	gone chan struct{}
}

// openPidfd takes a pidfd on process pid, and starts watching for its
// exit through Go's poller. It returns nil, and no error, when the
// process is gone already or the kernel has no pidfds (before Linux 5.3).
func openPidfd(pid int) (*pidfdProcess, error) {
	if pid <= 0 {
		return nil, nil
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil, nil
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, nil
	}
	p := &pidfdProcess{file: os.NewFile(uintptr(fd), "pidfd"), gone: make(chan struct{})}
	rc, err := p.file.SyscallConn()
	if err != nil {
		p.file.Close()
		return nil, fmt.Errorf("pidfd of process %d: %w", pid, err)
	}
	go func() {
		// Read waits until the descriptor reads, or is closed. Without
		// the poller (it could not take the descriptor) it returns at
		// once: the exit is then seen through containerd only.
		exited := false
		rc.Read(func(fd uintptr) bool { //nolint:errcheck // closed, or not pollable: exited says
			exited = pidfdExited(int(fd))
			return exited
		})
		if exited {
			close(p.gone)
		}
	}()
	return p, nil
}

// hasExited reports whether the process has exited, without waiting.
func (p *pidfdProcess) hasExited() bool {
	select {
	case <-p.gone:
		return true
	default:
	}
	rc, err := p.file.SyscallConn()
	if err != nil {
		return false
	}
	exited := false
	rc.Control(func(fd uintptr) { exited = pidfdExited(int(fd)) }) //nolint:errcheck // closed: not known
	return exited
}

// signal sends sig to the process; one that has exited meanwhile is no
// error (nothing is signalled).
func (p *pidfdProcess) signal(sig syscall.Signal) error {
	rc, err := p.file.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.PidfdSendSignal(int(fd), sig, nil, 0) }); err != nil {
		return err
	}
	if serr != nil && !errors.Is(serr, unix.ESRCH) {
		return serr
	}
	return nil
}

// close lets go of the pidfd (and of the watch for the exit).
func (p *pidfdProcess) close() {
	p.file.Close()
}
