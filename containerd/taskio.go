package containerd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/containerd/containerd/v2/pkg/cio"
	"golang.org/x/sys/unix"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/scheduler"
)

// A service container's task writes its output into FIFOs that berth
// makes in a directory of the container's own under TaskIODir, and the
// project's long-lived process (LogCollector) reads them into the log
// file: no process per container. The shim opens the write end of each
// FIFO, and then a read end of its own, when the task is made, and keeps
// both until the task's output ends; the output therefore waits in the
// pipe while no collector reads it (the project process restarting),
// up to the pipe's buffer (pipeBuffer). Once that is full the container
// blocks on its next write until a collector reads again.
//
// The files of a container's directory:
//
//	task.json  what the collector needs (taskMeta)
//	stdout     the output (a tty container's terminal output)
//	stderr     the error output (none with a tty)
//	stdin      a tty container's terminal input (attach writes to it)
//	ack        the collector's answer to handOver
//	created    made once the task is: the shim has opened the FIFOs (a
//	           collector that read them before could take the lack of a
//	           writer for the end of the output)

// TaskIODir is where the FIFOs of the service containers' tasks of a
// namespace live, under berth's run dir.
func TaskIODir(runDir, namespace string) string {
	return namespacedDir(runDir, namespace, "taskio")
}

// taskIODir is the directory of a container's task FIFOs.
func (c *Client) taskIODir(containerID string) string {
	return filepath.Join(TaskIODir(c.runDir, c.namespace), "containers", containerID)
}

// requestPath is the FIFO on which a project's collector takes the
// containers whose FIFOs to read (handOver): the ID of one, and a
// newline, per write.
func requestPath(root, project string) string {
	return filepath.Join(root, "projects", project+".fifo")
}

// pipeBuffer is the capacity the collector gives a task's output FIFOs
// (the kernel's default is 64 KiB): what a container may write while no
// collector reads before it blocks. Memory is taken only as output
// waits. Best effort: a kernel refusing it leaves the default.
const pipeBuffer = 1 << 20

// handOverWait bounds how long a start waits for the project's collector
// to take a new task's FIFOs: a live collector answers in microseconds.
const handOverWait = 5 * time.Second

// taskMeta is what the collector reads in a container's task.json: to
// which project the container belongs and where its log goes.
type taskMeta struct {
	Project  string          `json:"project"`
	Log      string          `json:"log"`
	Logging  compose.Logging `json:"logging"`
	Terminal bool            `json:"terminal,omitempty"`
}

// taskFIFOs are the streams of one task being made: their paths, and the
// read ends the making process holds until the collector has them (the
// shim's opening of a write end waits for a reader).
type taskFIFOs struct {
	dir  string
	meta taskMeta
	held []*os.File
}

func (f *taskFIFOs) path(name string) string { return filepath.Join(f.dir, name) }

// makeTaskFIFOs makes the container's FIFOs afresh (new ones: a collector
// still draining the last task's keeps those until their end) and opens
// their read ends.
func makeTaskFIFOs(dir string, meta taskMeta) (_ *taskFIFOs, retErr error) {
	f := &taskFIFOs{dir: dir, meta: meta}
	defer func() {
		if retErr != nil {
			f.release()
		}
	}()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	b, err := json.Marshal(meta)
	if err != nil {
		return nil, err
	}
	tmp := f.path("task.json.tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, f.path("task.json")); err != nil {
		return nil, err
	}
	names := []string{"stdout", "stderr", "ack"}
	if meta.Terminal {
		names = []string{"stdout", "stdin", "ack"}
	}
	for _, name := range []string{"created", "stdout", "stderr", "stdin", "ack"} {
		if err := os.Remove(f.path(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	for _, name := range names {
		if err := unix.Mkfifo(f.path(name), 0o600); err != nil {
			return nil, fmt.Errorf("make %s: %w", f.path(name), err)
		}
	}
	for _, name := range names[:len(names)-1] {
		if name == "stdin" {
			continue
		}
		r, err := os.OpenFile(f.path(name), os.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			return nil, err
		}
		f.held = append(f.held, r)
	}
	return f, nil
}

// release closes the read ends held.
func (f *taskFIFOs) release() {
	for _, r := range f.held {
		r.Close()
	}
	f.held = nil
}

// creator is the IO of the task: the FIFOs' paths only, berth copies
// nothing itself.
func (f *taskFIFOs) creator() cio.Creator {
	cfg := cio.Config{Stdout: f.path("stdout"), Terminal: f.meta.Terminal}
	if f.meta.Terminal {
		cfg.Stdin = f.path("stdin")
	} else {
		cfg.Stderr = f.path("stderr")
	}
	return func(string) (cio.IO, error) { return terminalIO{cfg}, nil }
}

// created records that the task is made, its FIFOs opened by the shim.
func (f *taskFIFOs) created() error {
	return os.WriteFile(f.path("created"), nil, 0o600)
}

// handOver asks the project's collector to read the task's FIFOs and
// waits (handOverWait at most) for its answer, so that the task starts
// only once its output is read: the shim drops what is left in a FIFO
// when the output ends, and a container that exits at once would lose
// all of it. Without a collector (the project process is not running)
// it returns at once; the collector reads the task when it starts, and
// what a container that ended meanwhile wrote is lost.
func (f *taskFIFOs) handOver(ctx context.Context, root, containerID string) {
	ack, err := os.OpenFile(f.path("ack"), os.O_RDWR, 0)
	if err != nil {
		return
	}
	defer ack.Close()
	req, err := os.OpenFile(requestPath(root, f.meta.Project), os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return // ENXIO, ENOENT: no collector
	}
	_, err = req.Write([]byte(containerID + "\n"))
	req.Close()
	if err != nil {
		return
	}
	deadline := time.Now().Add(handOverWait)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	ack.SetReadDeadline(deadline) //nolint:errcheck // a FIFO opened by os.OpenFile is pollable
	ack.Read(make([]byte, 1))     //nolint:errcheck // answered or not, the task starts
}

// serviceFIFOs makes the FIFOs of a service container's next task.
func (c *Client) serviceFIFOs(sc scheduler.Container, logPath string) (*taskFIFOs, error) {
	logging := compose.Logging{Driver: compose.LogJSONFile, MaxFile: 1}
	if raw := sc.Labels[labelLogging]; raw != "" {
		json.Unmarshal([]byte(raw), &logging) //nolint:errcheck // a label berth wrote; unreadable is the default
	}
	meta := taskMeta{Project: sc.Labels.Project(), Log: logPath, Logging: logging, Terminal: sc.Labels.Terminal()}
	f, err := makeTaskFIFOs(c.taskIODir(sc.ID), meta)
	if err != nil {
		return nil, fmt.Errorf("make the output FIFOs: %w", err)
	}
	return f, nil
}

// namespacedDir is dir/name for the default namespace, else
// dir/namespaces/<namespace>/name (see Client.namespaceDir).
func namespacedDir(dir, namespace, name string) string {
	if namespace == defaultNamespace || namespace == "" {
		return filepath.Join(dir, name)
	}
	return filepath.Join(dir, "namespaces", namespace, name)
}
