package containerd

import (
	"context"
	"errors"
	"os/exec"
	"reflect"
	"syscall"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/scheduler"
)

// haltRecorder is the client, container and task of a prepared halt:
// it records the events published, the labels set and the kills asked of
// the shim; kill kills the process as the shim would.
type haltRecorder struct {
	preStopErr error
	events     []string
	labels     []map[string]string
	kill       func()
}

func (r *haltRecorder) runPreStop(context.Context, scheduler.Container) error { return r.preStopErr }
func (r *haltRecorder) publishKill(_ context.Context, _ string, sig syscall.Signal) {
	r.events = append(r.events, "kill "+sig.String())
}
func (r *haltRecorder) publishStop(context.Context, string) { r.events = append(r.events, "stop") }
func (r *haltRecorder) SetLabels(_ context.Context, l map[string]string) (map[string]string, error) {
	r.labels = append(r.labels, l)
	return l, nil
}
func (r *haltRecorder) Kill(_ context.Context, sig syscall.Signal, _ ...containerd.KillOpts) error {
	r.events = append(r.events, "shim kill "+sig.String())
	r.kill()
	return nil
}

// TestPreparedHalt: a prepared halt signals the container's process
// itself and returns at its exit (SIGKILL through the shim after the
// grace period); Finish then waits for containerd's report of the exit
// and tells the stop, or gives back, no longer marked as stopped by
// hand, a container it did not stop.
func TestPreparedHalt(t *testing.T) {
	unmarked := []map[string]string{{compose.LabelManualStop: ""}}
	tests := []struct {
		name       string
		script     string // the container's process: sh -c script
		exitFirst  bool   // it has exited before the halt
		halt       bool   // Halt is called (else only Finish)
		timeout    time.Duration
		preStopErr error
		wantErr    string
		wantEvents []string
		wantLabels []map[string]string
		wantAlive  bool
	}{
		{name: "stops at its signal", script: "sleep 600", halt: true, timeout: time.Hour,
			wantEvents: []string{"kill terminated", "stop"}},
		{name: "killed after the grace period", script: "trap '' TERM; while :; do sleep 1; done", halt: true,
			wantEvents: []string{"kill terminated", "kill killed", "shim kill killed", "stop"}},
		{name: "exited already", script: "exit 0", exitFirst: true, halt: true, timeout: time.Hour},
		{name: "not halted", script: "sleep 600", wantLabels: unmarked, wantAlive: true},
		{name: "pre_stop failed", script: "sleep 600", halt: true, timeout: time.Hour, preStopErr: errors.New("web hook exited with status 3"),
			wantErr: "web hook exited with status 3", wantLabels: unmarked, wantAlive: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command("sh", "-c", tt.script)
			if err := cmd.Start(); err != nil {
				t.Skipf("no sh to run: %v", err)
			}
			proc, err := openPidfd(cmd.Process.Pid)
			if err != nil || proc == nil {
				cmd.Process.Kill() //nolint:errcheck // the test does not run
				t.Skipf("no pidfd: %v", err)
			}
			// containerd reports the exit once the process is reaped.
			exited := make(chan containerd.ExitStatus, 1)
			reaped := make(chan struct{})
			go func() {
				defer close(reaped)
				cmd.Wait() //nolint:errcheck // how it ended does not matter
				exited <- containerd.ExitStatus{}
			}()
			t.Cleanup(func() {
				cmd.Process.Kill() //nolint:errcheck // it may be gone
				<-reaped
			})
			if tt.exitFirst {
				<-reaped
			}
			rec := &haltRecorder{preStopErr: tt.preStopErr, kill: func() { cmd.Process.Kill() }} //nolint:errcheck // gone already is fine
			p := newPreparedHalt(rec, rec, rec, "web-1", proc, exited, func() {})
			if tt.halt {
				err := p.Halt(context.Background(), scheduler.Container{ID: "web-1", Name: "web-1"}, tt.timeout)
				if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr) {
					t.Fatalf("Halt = %v, want error %q", err, tt.wantErr)
				}
				if err == nil && !tt.exitFirst && !proc.hasExited() {
					t.Errorf("Halt returned before the process exited")
				}
			}
			p.Finish(context.Background())
			if !reflect.DeepEqual(rec.events, tt.wantEvents) {
				t.Errorf("events and kills = %q, want %q", rec.events, tt.wantEvents)
			}
			if !reflect.DeepEqual(rec.labels, tt.wantLabels) {
				t.Errorf("labels set = %v, want %v", rec.labels, tt.wantLabels)
			}
			if alive := cmd.Process.Signal(syscall.Signal(0)) == nil; alive != tt.wantAlive {
				t.Errorf("process alive after the halt = %v, want %v", alive, tt.wantAlive)
			}
		})
	}
}
