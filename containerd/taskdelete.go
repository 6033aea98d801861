package containerd

import (
	"context"
	"errors"
	"syscall"

	containerd "github.com/containerd/containerd/v2/client"
	"golang.org/x/sys/unix"
)

// killIfRunning is containerd.WithProcessKill for the delete of a task
// that has exited most of the time, as down halts containers before it
// removes them. containerd's option kills whatever the task's state, and
// the runc shim kills the init of a task that has exited with a `runc kill
// --all`: a runc process, tens of ms of CPU, for nothing, on every removal.
// A task seen stopped is deleted as it is; one whose process is gone but
// whose exit the shim has not reported yet is waited for; any other
// (running, created, paused, or of unknown state) is killed as containerd
// does.
func killIfRunning(ctx context.Context, p containerd.Process) error {
	st, err := p.Status(ctx)
	if err == nil {
		switch {
		case st.Status == containerd.Stopped:
			return nil
		case st.Status == containerd.Running && processGone(int(p.Pid())):
			exited, err := p.Wait(ctx)
			if err != nil {
				return err
			}
			select {
			case <-exited:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return containerd.WithProcessKill(ctx, p)
}

// killPause is containerd.WithProcessKill for the delete of a shim
// anchor's task (its pause process, alone in its container), which goes
// with the last container of a down, on its critical path: the kill goes
// from berth to the process through a pidfd, not through the shim as a
// `runc kill --all` (a runc process, tens of ms). The pidfd is taken
// before the task is seen running, so it names the task's process and
// not one that took its pid since. A task that is not running, or a
// kernel without pidfds, is left to WithProcessKill.
func killPause(ctx context.Context, p containerd.Process) error {
	proc, err := openPidfd(int(p.Pid()))
	if err != nil || proc == nil {
		return containerd.WithProcessKill(ctx, p)
	}
	defer proc.close()
	st, err := p.Status(ctx)
	if err != nil || st.Status != containerd.Running {
		return containerd.WithProcessKill(ctx, p)
	}
	exited, err := p.Wait(ctx)
	if err != nil {
		return err
	}
	if err := proc.signal(syscall.SIGKILL); err != nil {
		return containerd.WithProcessKill(ctx, p)
	}
	select {
	case <-exited:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// processGone reports whether process pid has exited: it is gone, or a
// zombie not yet reaped. A pid taken meanwhile by another, live, process
// reads as not gone, which only costs the kill containerd would have sent.
func processGone(pid int) bool {
	if pid <= 0 {
		return false
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return true
	}
	if err != nil {
		return false // no pidfds (before Linux 5.3): not known
	}
	defer unix.Close(fd)
	return pidfdExited(fd)
}

// pidfdExited reports whether the process of a pidfd has exited (the
// descriptor reads as readable then), without waiting.
func pidfdExited(fd int) bool {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return err == nil && n > 0 && fds[0].Revents&unix.POLLIN != 0
	}
}
