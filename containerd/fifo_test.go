package containerd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth/berth/scheduler"
)

// fakeExecTask runs fake exec processes with real FIFOs: it makes the
// process's streams with the creator it is given, as containerd's client
// does, and closes them itself only where the client does.
type fakeExecTask struct {
	// execErr fails the exec request (the task is gone).
	execErr error
	proc    *fakeExecProc
}

func (t *fakeExecTask) Exec(_ context.Context, id string, _ *specs.Process, create cio.Creator) (containerd.Process, error) {
	i, err := create(id)
	if err != nil {
		return nil, err
	}
	if t.execErr != nil {
		// What containerd's client does when the request fails.
		i.Cancel()
		i.Wait()
		i.Close()
		return nil, t.execErr
	}
	t.proc.io = i
	t.proc.exit = make(chan containerd.ExitStatus, 1)
	return t.proc, nil
}

// fakeExecProc is an exec process; the fake plays the shim's part too: it
// writes the process's output into the FIFOs and closes them at its exit.
type fakeExecProc struct {
	containerd.Process
	// code is the exit code the process ends with by itself; -1: it runs
	// until killed.
	code   int
	output string
	// startErr fails the start, killErr the kill, deleteErr the delete
	// (the process or its task is gone: the client then leaves the
	// process's streams open).
	startErr, killErr, deleteErr error
	// onStart is called as the process starts (to cancel the probe).
	onStart func()

	io     cio.IO
	exit   chan containerd.ExitStatus
	killed bool
}

func (p *fakeExecProc) Pid() uint32 { return 42 }
func (p *fakeExecProc) IO() cio.IO  { return p.io }

func (p *fakeExecProc) Wait(context.Context) (<-chan containerd.ExitStatus, error) {
	return p.exit, nil
}

func (p *fakeExecProc) Start(context.Context) error {
	if p.startErr != nil {
		return p.startErr
	}
	if p.onStart != nil {
		p.onStart()
	}
	if p.code >= 0 {
		return p.finish(p.code)
	}
	return nil
}

// finish writes the output, closes the process's end of its streams and
// reports its exit.
func (p *fakeExecProc) finish(code int) error {
	cfg := p.io.Config()
	for _, path := range []string{cfg.Stdout, cfg.Stderr} {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		if path == cfg.Stdout {
			f.WriteString(p.output) //nolint:errcheck // checked by the output the probe reports
		}
		f.Close()
	}
	p.exit <- *containerd.NewExitStatus(uint32(code), time.Now(), nil)
	return nil
}

func (p *fakeExecProc) Kill(context.Context, syscall.Signal, ...containerd.KillOpts) error {
	if p.killErr != nil {
		// It was gone already (with its task): its exit is reported all
		// the same.
		p.finish(137) //nolint:errcheck // the kill's error is the one the fake reports
		return p.killErr
	}
	p.killed = true
	return p.finish(137)
}

func (p *fakeExecProc) Delete(context.Context, ...containerd.ProcessDeleteOpts) (*containerd.ExitStatus, error) {
	if p.deleteErr != nil {
		return nil, p.deleteErr
	}
	// What containerd's client does once the shim deleted the process.
	p.io.Cancel()
	p.io.Wait()
	p.io.Close()
	return containerd.NewExitStatus(0, time.Now(), nil), nil
}

// TestProbeRemovesFIFOs runs a probe down every path it can take and
// checks that none leaves a FIFO, or a goroutine copying from one, behind.
func TestProbeRemovesFIFOs(t *testing.T) {
	gone := fmt.Errorf("process not found: %w", errdefs.ErrNotFound)
	tests := []struct {
		name     string
		task     fakeExecTask
		cancel   bool // ctx ends while the probe runs
		timeout  time.Duration
		wantCode int
		wantOut  string
	}{
		{name: "passes", task: fakeExecTask{proc: &fakeExecProc{code: 0, output: "ok\n"}}, wantCode: 0, wantOut: "ok\n"},
		{name: "fails", task: fakeExecTask{proc: &fakeExecProc{code: 3, output: "down\n"}}, wantCode: 3, wantOut: "down\n"},
		{name: "times out", timeout: time.Nanosecond, task: fakeExecTask{proc: &fakeExecProc{code: -1}}, wantCode: -1, wantOut: "Health check exceeded timeout (1ns)"},
		{name: "exec refused (container gone)", task: fakeExecTask{execErr: fmt.Errorf("container not found: %w", errdefs.ErrNotFound)}, wantCode: -1, wantOut: "container not found: not found"},
		{name: "start fails", task: fakeExecTask{proc: &fakeExecProc{code: -1, startErr: errors.New("OCI runtime exec failed: unable to start container process: exec: \"nope\": executable file not found in $PATH: unknown"), deleteErr: gone}}, wantCode: -1, wantOut: `exec: "nope": executable file not found in $PATH`},
		{name: "container stopped mid-probe", task: fakeExecTask{proc: &fakeExecProc{code: 137, deleteErr: gone}}, wantCode: 137},
		{name: "times out, task gone meanwhile", timeout: time.Nanosecond, task: fakeExecTask{proc: &fakeExecProc{code: -1, killErr: gone, deleteErr: gone}}, wantCode: -1, wantOut: "Health check exceeded timeout (1ns)"},
		{name: "ctx cancelled", cancel: true, task: fakeExecTask{proc: &fakeExecProc{code: -1, deleteErr: gone}}, wantCode: -1, wantOut: "context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.timeout == 0 {
				tt.timeout = time.Hour
			}
			if tt.cancel {
				tt.task.proc.onStart = cancel
			}
			root := t.TempDir()
			dir := filepath.Join(root, "web-1")
			r := runProbe(ctx, &tt.task, &specs.Process{}, dir, tt.timeout, scheduler.ProbeResult{ExitCode: -1})
			if r.ExitCode != tt.wantCode || !strings.Contains(r.Output, tt.wantOut) || tt.wantOut == "" && r.Output != "" {
				t.Errorf("runProbe = exit %d, output %q; want exit %d, output %q", r.ExitCode, r.Output, tt.wantCode, tt.wantOut)
			}
			if left, _ := os.ReadDir(root); len(left) != 0 {
				t.Fatalf("runProbe left %s behind, want nothing", left[0].Name())
			}
			if tt.task.proc != nil && tt.task.proc.io != nil {
				tt.task.proc.io.Wait() // hangs if a copy from a FIFO goes on
			}
		})
	}
}

// TestFIFOSetRelease: what a creator made is removed by release, also when
// nothing else closed it, and releasing again is harmless; the
// container's directory stays while another process of it uses it.
func TestFIFOSetRelease(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "web-1")
	out := &limitedBuffer{max: 10}
	probe, exec := &fifoSet{dir: dir}, &fifoSet{dir: dir}
	for _, f := range []*fifoSet{probe, exec} {
		i, err := f.creator(cio.WithStreams(nil, out, out))("p")
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		if cfg := i.Config(); filepath.Dir(filepath.Dir(cfg.Stdout)) != dir || filepath.Base(cfg.Stdout) != "p-stdout" || cfg.Stdin != "" {
			t.Errorf("streams %+v, want stdout at %s/*/p-stdout and no stdin", cfg, dir)
		}
	}
	if made, _ := os.ReadDir(dir); len(made) != 2 {
		t.Fatalf("made %d FIFO directories, want 2", len(made))
	}
	probe.release()
	probe.release()
	if left, _ := os.ReadDir(dir); len(left) != 1 {
		t.Errorf("after one release: %d FIFO directories, want 1", len(left))
	}
	exec.release()
	if left, _ := os.ReadDir(root); len(left) != 0 {
		t.Errorf("after both releases: %s is left, want nothing", left[0].Name())
	}
	// A creator finds its container's directory gone (removed by another
	// release): it makes it again.
	again := &fifoSet{dir: dir}
	if _, err := again.creator(cio.WithStreams(nil, out, out))("q"); err != nil {
		t.Fatalf("create after removal: %v", err)
	}
	again.release()
}

// TestRemoveStaleProbeFIFOs: the FIFOs of probes a killed project process
// left go; an exec's, and a directory being made, stay.
func TestRemoveStaleProbeFIFOs(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "web-1")
	layout := map[string][]string{
		"1": {"health-a-stdout", "health-a-stderr"},
		"2": {"health-b-stdout"},
		"3": {"exec-c-stdout", "exec-c-stderr", "exec-c-stdin"},
		"4": {},
	}
	for sub, files := range layout {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if err := syscall.Mkfifo(filepath.Join(dir, sub, f), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	removeStaleProbeFIFOs(dir, 0)
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if got := strings.Join(left, ","); got != "3,4" {
		t.Errorf("after removeStaleProbeFIFOs: %s, want 3,4 (the exec's and the empty one)", got)
	}
	removeStaleProbeFIFOs(filepath.Join(dir, "missing"), 0) // nothing there: nothing done
}
