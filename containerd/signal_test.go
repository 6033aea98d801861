package containerd

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	containerd "github.com/containerd/containerd/v2/client"
)

// fakeInit is a task whose init process is pid, in status st; Kill
// records that the shim was asked to signal it.
type fakeInit struct {
	pid    int
	st     containerd.ProcessStatus
	killed []syscall.Signal
}

func (f *fakeInit) Pid() uint32 { return uint32(f.pid) }
func (f *fakeInit) Status(context.Context) (containerd.Status, error) {
	return containerd.Status{Status: f.st}, nil
}
func (f *fakeInit) Kill(_ context.Context, sig syscall.Signal, _ ...containerd.KillOpts) error {
	f.killed = append(f.killed, sig)
	return nil
}

// TestSignalInit: a running task's process is signalled by berth itself,
// not through the shim; one that has exited is not signalled at all (a
// stop then waits for nothing).
func TestSignalInit(t *testing.T) {
	ctx := context.Background()
	sleep := func(t *testing.T) *exec.Cmd {
		t.Helper()
		cmd := exec.Command("sleep", "600")
		if err := cmd.Start(); err != nil {
			t.Skipf("no sleep to signal: %v", err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() }) //nolint:errcheck // it may be gone
		return cmd
	}

	t.Run("running", func(t *testing.T) {
		cmd := sleep(t)
		task := &fakeInit{pid: cmd.Process.Pid, st: containerd.Running}
		if err := signalInit(ctx, task, syscall.SIGTERM); err != nil {
			t.Fatalf("signalInit = %v", err)
		}
		err := cmd.Wait()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGTERM {
			t.Errorf("process ended with %v, want killed by SIGTERM", err)
		}
		if len(task.killed) != 0 {
			t.Errorf("the shim was asked to signal too: %v", task.killed)
		}
	})
	t.Run("exited", func(t *testing.T) {
		cmd := sleep(t)
		task := &fakeInit{pid: cmd.Process.Pid, st: containerd.Stopped}
		if err := signalInit(ctx, task, syscall.SIGTERM); err != nil {
			t.Fatalf("signalInit = %v", err)
		}
		if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
			t.Errorf("a process whose task has stopped was signalled (%v)", err)
		}
		if len(task.killed) != 0 {
			t.Errorf("the shim was asked to signal: %v", task.killed)
		}
	})
	t.Run("reaped", func(t *testing.T) {
		b, err := os.ReadFile("/proc/sys/kernel/pid_max")
		if err != nil {
			t.Skipf("no pid_max: %v", err)
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b))) // never a pid
		task := &fakeInit{pid: pid, st: containerd.Running}
		if err := signalInit(ctx, task, syscall.SIGTERM); err != nil || len(task.killed) != 0 {
			t.Errorf("signalInit of a process gone = %v (shim asked: %v), want nil and nothing asked", err, task.killed)
		}
	})
	t.Run("no pid", func(t *testing.T) {
		task := &fakeInit{st: containerd.Running}
		if err := signalInit(ctx, task, syscall.SIGTERM); err != nil || len(task.killed) != 1 {
			t.Errorf("signalInit without a pid = %v (shim asked: %v), want the shim to signal", err, task.killed)
		}
	})
}
