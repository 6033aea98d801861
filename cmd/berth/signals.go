package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// interruptContext is cancelled when the user interrupts berth (SIGINT,
// SIGTERM), closes its terminal (SIGHUP) or closes the reading end of its
// standard output or error (a pipe into head or a closed terminal
// emulator: EPIPE). A cancelled command cleans up as after Ctrl-C: a
// build removes its build containers instead of dying with them still
// there, as the default actions of SIGHUP and SIGPIPE would make it.
func interruptContext() (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	ctx, cancel := context.WithCancel(ctx)
	// With SIGPIPE caught, a write to a broken pipe fails with EPIPE
	// instead of killing berth; only a broken standard output or error
	// cancels (containers' pipes and sockets break too, harmlessly).
	pipe := make(chan os.Signal, 1)
	signal.Notify(pipe, syscall.SIGPIPE)
	go func() {
		for {
			select {
			case <-pipe:
				if brokenOutput(int(os.Stdout.Fd()), int(os.Stderr.Fd())) {
					cancel()
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return ctx, func() {
		signal.Stop(pipe)
		cancel()
		stop()
	}
}

// brokenOutput reports whether one of fds is a pipe or socket whose
// reading end is gone: poll reports an error or a hang-up on it.
func brokenOutput(fds ...int) bool {
	pfds := make([]unix.PollFd, len(fds))
	for i, fd := range fds {
		pfds[i] = unix.PollFd{Fd: int32(fd), Events: unix.POLLOUT}
	}
	n, err := unix.Poll(pfds, 0)
	if err != nil || n == 0 {
		return false
	}
	for _, p := range pfds {
		if p.Revents&(unix.POLLERR|unix.POLLHUP) != 0 {
			return true
		}
	}
	return false
}
