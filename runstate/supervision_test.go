package runstate

import (
	"bufio"
	"bytes"
	"context"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/scheduler"
)

func TestSupervisionState(t *testing.T) {
	dir := t.TempDir()
	if _, ok := ReadSupervision(dir, "web", 42); ok {
		t.Fatal("ReadSupervision with no file: ok, want none")
	}
	since := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := WriteSupervision(dir, "web", SupervisionState{State: Supervising, Pid: 42}); err == nil {
		t.Fatal("WriteSupervision made the project's directory again")
	}
	if err := os.MkdirAll(filepath.Join(dir, "projects", "web"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteSupervision(dir, "web", SupervisionState{State: Disconnected, Since: since, Pid: 42}); err != nil {
		t.Fatalf("WriteSupervision: %v", err)
	}
	tests := []struct {
		pid  int
		ok   bool
		want bool
	}{
		{pid: 42, ok: true, want: false},
		{pid: 43, ok: false, want: false}, // another process's: says nothing
	}
	for _, tt := range tests {
		st, ok := ReadSupervision(dir, "web", tt.pid)
		if ok != tt.ok || (ok && (st.State != Disconnected || !st.Since.Equal(since))) {
			t.Errorf("ReadSupervision(pid %d) = %+v, %v; want disconnected since %v, %v", tt.pid, st, ok, since, tt.ok)
		}
		if got := IsSupervising(dir, "web", tt.pid); got != tt.want {
			t.Errorf("IsSupervising(pid %d) = %v, want %v", tt.pid, got, tt.want)
		}
	}
	if err := WriteSupervision(dir, "web", SupervisionState{State: Supervising, Since: since, Pid: 42}); err != nil {
		t.Fatalf("WriteSupervision: %v", err)
	}
	if !IsSupervising(dir, "web", 42) {
		t.Error("IsSupervising after writing supervising = false")
	}
}

// startChild starts sh with script, which must print a line once it is
// ready, and reaps it when it exits.
func startChild(t *testing.T, script string) int {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Skipf("no sh: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill() }) //nolint:errcheck // it may be gone
	if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
		t.Fatalf("child did not say it was ready: %v", err)
	}
	go cmd.Wait() //nolint:errcheck // reaped only, so that it does not stay a zombie
	return cmd.Process.Pid
}

func TestStopProcess(t *testing.T) {
	tests := []struct {
		name   string
		script string
	}{
		{"ends on SIGTERM", "echo ready; exec sleep 60"},
		// An ignored signal stays ignored across exec: only SIGKILL ends it.
		{"ignores SIGTERM", "trap '' TERM; echo ready; exec sleep 60"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pid := startChild(t, tt.script)
			if err := StopProcess(context.Background(), pid, 10*time.Millisecond, time.Millisecond); err != nil {
				t.Fatalf("StopProcess: %v", err)
			}
			if alive(pid) {
				t.Errorf("process %d alive after StopProcess", pid)
			}
		})
	}
}

func TestStopIfNotSupervising(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "projects", "web"), 0o755); err != nil {
		t.Fatal(err)
	}
	if why, err := StopIfNotSupervising(context.Background(), dir, "web", 0); why != "" || err != nil {
		t.Fatalf("StopIfNotSupervising(no process) = %q, %v; want nothing done", why, err)
	}
	pid := startChild(t, "echo ready; exec sleep 60")
	if err := WriteSupervision(dir, "web", SupervisionState{State: Supervising, Pid: pid}); err != nil {
		t.Fatal(err)
	}
	if why, err := StopIfNotSupervising(context.Background(), dir, "web", pid); why != "" || err != nil || !alive(pid) {
		t.Fatalf("StopIfNotSupervising(supervising) = %q, %v (alive %v); want it left running", why, err, alive(pid))
	}
	if err := WriteSupervision(dir, "web", SupervisionState{State: Disconnected, Pid: pid}); err != nil {
		t.Fatal(err)
	}
	why, err := StopIfNotSupervising(context.Background(), dir, "web", pid)
	if err != nil || why == "" || alive(pid) {
		t.Fatalf("StopIfNotSupervising(disconnected) = %q, %v (alive %v); want it stopped, with a reason", why, err, alive(pid))
	}
}

// TestRecorder: the supervisor's states map to the supervision file's
// (connected: supervising, else disconnected; stopped), with the process's
// pid and the clock's time; a file that cannot be written is logged.
func TestRecorder(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "projects", "web"), 0o755); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var logged bytes.Buffer
	r := Recorder{RunDir: dir, Project: "web", Pid: 42, Now: func() time.Time { return at }, Log: log.New(&logged, "", 0)}
	tests := []struct {
		name   string
		record func()
		want   Supervision
	}{
		{"connected", func() { r.Supervisor(scheduler.SupervisorConnected) }, Supervising},
		{"disconnected", func() { r.Supervisor(scheduler.SupervisorDisconnected) }, Disconnected},
		{"connected again", func() { r.Supervisor(scheduler.SupervisorConnected) }, Supervising},
		{"stopped", r.Stopped, Stopped},
	}
	for _, tt := range tests {
		at = at.Add(time.Minute)
		tt.record()
		st, ok := ReadSupervision(dir, "web", 42)
		if !ok || st.State != tt.want || !st.Since.Equal(at) {
			t.Errorf("%s: file says %+v (ok %v), want %s since %v", tt.name, st, ok, tt.want, at)
		}
	}
	if logged.Len() != 0 {
		t.Errorf("logged %q, want nothing", logged.String())
	}
	// Down removed the project's directory: logged, not made again.
	gone := Recorder{RunDir: dir, Project: "gone", Pid: 42, Log: log.New(&logged, "", 0)}
	gone.Supervisor(scheduler.SupervisorConnected)
	if !strings.Contains(logged.String(), "write supervision state") {
		t.Errorf("logged %q, want the failed write", logged.String())
	}
}
