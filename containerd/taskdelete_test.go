package containerd

import (
	"context"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"

	containerd "github.com/containerd/containerd/v2/client"
	"golang.org/x/sys/unix"
)

// deletedProcess is a task's init process as killIfRunning sees it: pid in
// status st. It records the calls that reach the shim (wait, kill); any
// other method of containerd.Process is nil and panics.
type deletedProcess struct {
	containerd.Process
	pid   int
	st    containerd.ProcessStatus
	calls []string
	exit  chan containerd.ExitStatus
}

func (f *deletedProcess) Pid() uint32 { return uint32(f.pid) }
func (f *deletedProcess) Status(context.Context) (containerd.Status, error) {
	return containerd.Status{Status: f.st}, nil
}
func (f *deletedProcess) Wait(context.Context) (<-chan containerd.ExitStatus, error) {
	f.calls = append(f.calls, "wait")
	return f.exit, nil
}
func (f *deletedProcess) Kill(_ context.Context, sig syscall.Signal, _ ...containerd.KillOpts) error {
	f.calls = append(f.calls, "kill "+sig.String())
	f.exit <- containerd.ExitStatus{}
	return nil
}

// TestKillIfRunning: the delete of a task that has stopped, or whose
// process is gone, asks the shim for no kill (a `runc kill` each); a
// task whose process runs, or of unknown pid, is killed as containerd's
// WithProcessKill does.
func TestKillIfRunning(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/kernel/pid_max")
	if err != nil {
		t.Skipf("no pid_max: %v", err)
	}
	never, _ := strconv.Atoi(strings.TrimSpace(string(b))) // never a pid
	// zombie is a child that has exited and is not reaped yet.
	zombie := exec.Command("true")
	if err := zombie.Start(); err != nil {
		t.Skipf("no true to run: %v", err)
	}
	t.Cleanup(func() { zombie.Wait() }) //nolint:errcheck // reaped at the end
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PID, zombie.Process.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil); err != nil {
		t.Fatalf("wait for the exit of true: %v", err)
	}
	gone := func(pid int) *deletedProcess { return &deletedProcess{pid: pid, st: containerd.Running} }
	killed := []string{"wait", "kill " + syscall.SIGKILL.String()}
	tests := []struct {
		name string
		proc *deletedProcess
		want []string
	}{
		{"stopped", &deletedProcess{pid: os.Getpid(), st: containerd.Stopped}, nil},
		{"exit not reported yet, zombie", gone(zombie.Process.Pid), []string{"wait"}},
		{"exit not reported yet, reaped", gone(never), []string{"wait"}},
		{"running", &deletedProcess{pid: os.Getpid(), st: containerd.Running}, killed},
		{"created", &deletedProcess{pid: os.Getpid(), st: containerd.Created}, killed},
		{"paused, gone", &deletedProcess{pid: never, st: containerd.Paused}, killed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The shim reports the exit at once when it has happened, or
			// once it is killed (Kill).
			tt.proc.exit = make(chan containerd.ExitStatus, 1)
			if reflect.DeepEqual(tt.want, []string{"wait"}) {
				tt.proc.exit <- containerd.ExitStatus{}
			}
			if err := killIfRunning(context.Background(), tt.proc); err != nil {
				t.Fatalf("killIfRunning = %v", err)
			}
			if !reflect.DeepEqual(tt.proc.calls, tt.want) {
				t.Errorf("calls to the shim = %q, want %q", tt.proc.calls, tt.want)
			}
		})
	}
}

// TestKillPause: the delete of a shim anchor's running task kills its
// process through a pidfd, asking the shim only to wait for the exit; a
// task that is not running, or whose pid names no process, is killed
// through the shim as containerd's WithProcessKill does.
func TestKillPause(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/kernel/pid_max")
	if err != nil {
		t.Skipf("no pid_max: %v", err)
	}
	never, _ := strconv.Atoi(strings.TrimSpace(string(b))) // never a pid
	killed := []string{"wait", "kill " + syscall.SIGKILL.String()}
	tests := []struct {
		name    string
		st      containerd.ProcessStatus
		running bool // a real process stands for the task's
		want    []string
	}{
		{name: "running", st: containerd.Running, running: true, want: []string{"wait"}},
		{name: "stopped", st: containerd.Stopped, running: true, want: killed},
		{name: "no such process", st: containerd.Running, want: killed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proc := &deletedProcess{pid: never, st: tt.st, exit: make(chan containerd.ExitStatus, 1)}
			var pause *exec.Cmd
			if tt.running {
				pause = exec.Command("sleep", "600")
				if err := pause.Start(); err != nil {
					t.Skipf("no sleep to run: %v", err)
				}
				proc.pid = pause.Process.Pid
				done := make(chan struct{})
				go func() {
					defer close(done)
					pause.Wait() //nolint:errcheck // killed: its status says so
					select {
					case proc.exit <- containerd.ExitStatus{}:
					default:
					}
				}()
				t.Cleanup(func() {
					pause.Process.Kill() //nolint:errcheck // gone already, most of the time
					<-done
				})
			}
			if err := killPause(context.Background(), proc); err != nil {
				t.Fatalf("killPause: %v", err)
			}
			if !reflect.DeepEqual(proc.calls, tt.want) {
				t.Errorf("calls to the shim %q, want %q", proc.calls, tt.want)
			}
			if tt.running && tt.st == containerd.Running {
				if err := unix.Kill(proc.pid, 0); err == nil {
					// Reaped by the goroutine once killed: the wait on
					// exit above returned only then.
					t.Errorf("process %d still runs after killPause", proc.pid)
				}
			}
		})
	}
}
