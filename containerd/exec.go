package containerd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/console"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"

	"github.com/berth/berth/scheduler"
)

// ExecRequest is a command to run in a running container.
type ExecRequest struct {
	Args []string
	// Env adds KEY=VALUE entries to the container's environment.
	Env     []string
	User    string
	WorkDir string
	// TTY gives the process a terminal (stdin must be one).
	TTY bool
	// Privileged gives the process every capability (docker exec
	// --privileged), whatever the container's own set.
	Privileged bool
	// Detach starts the process and returns at once, with exit code 0;
	// its output is discarded, as docker exec -d does.
	Detach bool
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// Exec runs a command in the container's task with the container's
// environment, user and working directory unless the request overrides
// them, and returns its exit code.
func (c *Client) Exec(ctx context.Context, sc scheduler.Container, req ExecRequest) (int, error) {
	task, info, spec, err := c.execTarget(ctx, sc)
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", sc.Name, err)
	}
	procSpec := *spec.Process
	procSpec.Args = req.Args
	procSpec.Terminal = req.TTY
	procSpec.Env = append(append([]string{}, procSpec.Env...), req.Env...)
	if req.WorkDir != "" {
		procSpec.Cwd = req.WorkDir
	}
	if req.User != "" {
		// The user is resolved in the container's files, as at create.
		s := &oci.Spec{Process: &procSpec, Root: spec.Root, Linux: spec.Linux}
		if err := oci.WithUser(req.User)(ctx, c.client, &info, s); err != nil {
			return -1, fmt.Errorf("exec in %s: user %q: %w", sc.Name, req.User, err)
		}
	}
	if req.Privileged {
		s := &oci.Spec{Process: &procSpec}
		if err := oci.WithAllCurrentCapabilities(ctx, c.client, &info, s); err != nil {
			return -1, fmt.Errorf("exec in %s: privileged: %w", sc.Name, err)
		}
	}
	id := "exec-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if req.Detach {
		procSpec.Terminal = false
		p, err := task.Exec(ctx, id, &procSpec, cio.NullIO)
		if err != nil {
			return -1, fmt.Errorf("exec in %s: %w", sc.Name, runcReason(err))
		}
		if err := p.Start(ctx); err != nil {
			p.Delete(context.WithoutCancel(ctx)) //nolint:errcheck // the start error is the one to report
			return -1, fmt.Errorf("exec in %s: %w", sc.Name, runcReason(err))
		}
		return 0, nil
	}

	aio, err := c.attachIO(ctx, sc.ID, req.TTY, req.Stdin, req.Stdout, req.Stderr)
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", sc.Name, err)
	}
	defer aio.release()
	p, err := task.Exec(ctx, id, &procSpec, aio.creator)
	aio.started(p)
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", sc.Name, runcReason(err))
	}
	cleanup := context.WithoutCancel(ctx)
	defer p.Delete(cleanup, containerd.WithProcessKill) //nolint:errcheck // best effort
	exit, err := p.Wait(cleanup)
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", sc.Name, err)
	}
	if err := p.Start(ctx); err != nil {
		return -1, fmt.Errorf("exec in %s: %w", sc.Name, runcReason(err))
	}
	if req.TTY {
		defer FollowTerminalSize(aio.con, resizeOf(ctx, p))()
	}
	code, err := waitProcess(ctx, p, exit, func() error {
		p.Kill(cleanup, syscall.SIGKILL) //nolint:errcheck // it is deleted next
		return nil
	})
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", sc.Name, err)
	}
	return code, nil
}

// execTarget is what a process run in the container's task starts from:
// the task, the container's record and its spec, whose process gives the
// environment, user and working directory. Two requests to containerd: the
// record (with the spec) and the task.
func (c *Client) execTarget(ctx context.Context, sc scheduler.Container) (containerd.Task, containers.Container, *oci.Spec, error) {
	ctr, err := c.client.LoadContainer(ctx, sc.ID)
	if err != nil {
		return nil, containers.Container{}, nil, err
	}
	info, err := ctr.Info(ctx, containerd.WithoutRefreshedMetadata)
	if err != nil {
		return nil, containers.Container{}, nil, err
	}
	var spec oci.Spec
	if info.Spec == nil {
		return nil, containers.Container{}, nil, errors.New("container spec: it has none")
	}
	if err := json.Unmarshal(info.Spec.GetValue(), &spec); err != nil {
		return nil, containers.Container{}, nil, fmt.Errorf("container spec: %w", err)
	}
	if spec.Process == nil {
		return nil, containers.Container{}, nil, errors.New("container spec: it has no process")
	}
	task, err := ctr.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return nil, containers.Container{}, nil, errors.New("it is not running")
	}
	if err != nil {
		return nil, containers.Container{}, nil, err
	}
	return task, info, &spec, nil
}

// attachedIO are the streams of a process attached to berth's own: this
// terminal (tty), or the given streams.
type attachedIO struct {
	creator cio.Creator
	// fifos are the FIFOs creator made, removed by release.
	fifos fifoSet
	// con is this terminal, in raw mode until release; nil without tty.
	con console.Console
	// proc is the process, once it exists; set before ready is closed.
	proc containerd.Process
	// ready is closed once the process exists, or failed to.
	ready chan struct{}
}

// attachIO makes the streams of a process to start. The end of stdin is
// passed on to the process (it sees it only when told), once it exists:
// the caller calls started with it, or with nil when it could not be made,
// and release when it is done.
func (c *Client) attachIO(ctx context.Context, containerID string, tty bool, stdin io.Reader, stdout, stderr io.Writer) (*attachedIO, error) {
	a := &attachedIO{ready: make(chan struct{}), fifos: fifoSet{dir: c.fifoDir(containerID)}}
	var opts []cio.Opt
	if tty {
		a.con = console.Current()
		if err := a.con.SetRaw(); err != nil {
			return nil, fmt.Errorf("terminal: %w", err)
		}
		opts = []cio.Opt{cio.WithStreams(a.con, a.con, nil), cio.WithTerminal}
	} else {
		if stdin != nil {
			stdin = &stdinCloser{r: stdin, started: a.ready, close: func() {
				if a.proc != nil {
					a.proc.CloseIO(context.WithoutCancel(ctx), containerd.WithStdinCloser) //nolint:errcheck // it may have exited
				}
			}}
		}
		opts = []cio.Opt{cio.WithStreams(stdin, stdout, stderr)}
	}
	a.creator = a.fifos.creator(opts...)
	return a, nil
}

// started records the process made with the streams (nil: none was).
func (a *attachedIO) started(p containerd.Process) {
	if p != nil {
		a.proc = p
	}
	close(a.ready)
}

// release removes the streams' FIFOs, once the process is deleted (or
// could not be), and gives this terminal back its mode.
func (a *attachedIO) release() {
	a.fifos.release()
	if a.con != nil {
		a.con.Reset() //nolint:errcheck // best effort
	}
}

// waitProcess waits for the process to exit, or for ctx to end, when it
// calls stop, which must make the process exit; it returns the exit code
// once the process's output is copied.
func waitProcess(ctx context.Context, p containerd.Process, exit <-chan containerd.ExitStatus, stop func() error) (int, error) {
	var st containerd.ExitStatus
	select {
	case st = <-exit:
	case <-ctx.Done():
		if err := stop(); err != nil {
			return -1, err
		}
		st = <-exit
	}
	p.IO().Wait()
	code, _, err := st.Result()
	if err != nil {
		return -1, err
	}
	return int(code), nil
}

// stdinCloser passes input through and, at its end, closes the process's
// stdin (once the process exists).
type stdinCloser struct {
	r       io.Reader
	started <-chan struct{}
	close   func()
	once    sync.Once
}

func (s *stdinCloser) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err == io.EOF {
		s.once.Do(func() {
			<-s.started
			s.close()
		})
	}
	return n, err
}

// RunAttached starts a created container (a one-off of berth run) with its
// process on the given streams instead of the log file, or on this
// terminal, and waits for it; it returns the exit code. When ctx ends it
// stops the container as Stop does, with killWait as grace period.
func (c *Client) RunAttached(ctx context.Context, sc scheduler.Container, tty bool, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	ctr, err := c.client.LoadContainer(ctx, sc.ID)
	if err != nil {
		return -1, fmt.Errorf("run %s: %w", sc.Name, err)
	}
	aio, err := c.attachIO(ctx, sc.ID, tty, stdin, stdout, stderr)
	if err != nil {
		return -1, fmt.Errorf("run %s: %w", sc.Name, err)
	}
	defer aio.release()
	task, err := ctr.NewTask(ctx, aio.creator)
	aio.started(task)
	if err != nil {
		return -1, fmt.Errorf("service %q: start container %s: %w", sc.Labels.Service(), sc.Name, runcReason(err))
	}
	cleanup := context.WithoutCancel(ctx)
	defer task.Delete(cleanup, containerd.WithProcessKill) //nolint:errcheck // the container goes with --rm, or stays exited
	exit, err := task.Wait(cleanup)
	if err != nil {
		return -1, fmt.Errorf("run %s: %w", sc.Name, err)
	}
	if err := task.Start(ctx); err != nil {
		return -1, fmt.Errorf("service %q: start container %s: %w", sc.Labels.Service(), sc.Name, runcReason(err))
	}
	if tty {
		defer FollowTerminalSize(aio.con, resizeOf(ctx, task))()
	}
	code, err := waitProcess(ctx, task, exit, func() error {
		return c.signalAndWait(cleanup, task, sc, killWait)
	})
	if err != nil {
		return -1, fmt.Errorf("run %s: %w", sc.Name, err)
	}
	// Recorded for ps -a; the exit code is what matters here.
	ctr.SetLabels(cleanup, map[string]string{labelExitCode: strconv.Itoa(code), labelFinishedAt: time.Now().UTC().Format(time.RFC3339Nano)}) //nolint:errcheck
	return code, nil
}

// FollowTerminalSize gives a container's tty the terminal's size now and
// on every SIGWINCH (through resize), until the returned stop is called.
func FollowTerminalSize(con console.Console, resize func(w, h uint32)) (stop func()) {
	give := func() {
		if size, err := con.Size(); err == nil {
			resize(uint32(size.Width), uint32(size.Height))
		}
	}
	give()
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	go func() {
		for range winch {
			give()
		}
	}()
	return func() {
		signal.Stop(winch)
		close(winch)
	}
}

// resizeOf is a process's resize for FollowTerminalSize.
func resizeOf(ctx context.Context, proc interface {
	Resize(ctx context.Context, w, h uint32) error
}) func(w, h uint32) {
	return func(w, h uint32) {
		proc.Resize(ctx, w, h) //nolint:errcheck // cosmetic
	}
}
