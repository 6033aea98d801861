package containerd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	apitask "github.com/containerd/containerd/api/types/task"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"
	"github.com/moby/sys/signal"
	"golang.org/x/sys/unix"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/scheduler"
)

// LogDriverCommand is the hidden berth subcommand containerd's shim ran to
// write a container's output to its log file (see RunLogDriver). berth no
// longer gives it to new tasks (the project's process collects the output,
// see LogCollector), but it stays: a project process of an older berth,
// still running after the binary was replaced in place, restarts its
// containers with the binary's path as their log driver, and their shims
// then run this binary as one.
const LogDriverCommand = "__logdriver"

// killWait is how long a stop waits for a container to die after SIGKILL.
const killWait = 10 * time.Second

// Prepare makes a container's task without starting it: the shim, runc's
// create (namespaces, mounts, cgroup) and the output FIFOs handed to the
// project's log collector, which is most of what a start costs. up prepares the containers of a service while it
// waits for the service's dependencies, so that the start itself, once
// they are ready, is quick. A prepared container is in state created;
// Start starts it, Stop and Remove undo it.
func (c *Client) Prepare(ctx context.Context, sc scheduler.Container) error {
	unlock, err := c.lockTaskCreation(sc)
	if err != nil {
		return err
	}
	defer unlock()
	_, _, _, err = c.prepare(ctx, sc)
	return err
}

// lockTaskCreation locks the making and starting of a container's task
// against other berth processes: a command's start and the project
// process's restart of the same container (as after a reboot, when up
// starts what the policy restarts too) would otherwise both make the
// task's FIFOs and task, one clobbering the other's. The one that waits
// then finds the task made, or running, and goes on from there.
func (c *Client) lockTaskCreation(sc scheduler.Container) (unlock func(), err error) {
	dir := c.taskIODir(sc.ID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("start container %s: %w", sc.Name, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("start container %s: %w", sc.Name, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("start container %s: lock: %w", sc.Name, err)
	}
	return func() { f.Close() }, nil
}

// prepare returns the container and its task, ready to start: the one
// made before (prepared) or a new one; running is true, with no task, when
// the container runs already. A task of an earlier run that exited is
// deleted first.
func (c *Client) prepare(ctx context.Context, sc scheduler.Container) (ctr containerd.Container, task containerd.Task, running bool, err error) {
	ctr, err = c.client.LoadContainer(ctx, sc.ID)
	if err != nil {
		return nil, nil, false, fmt.Errorf("start container %s: %w", sc.Name, err)
	}
	proc, err := c.taskProcess(ctx, sc.ID)
	switch {
	case errdefs.IsNotFound(err):
	case err != nil:
		return nil, nil, false, fmt.Errorf("start container %s: %w", sc.Name, err)
	case proc.Status == apitask.Status_RUNNING:
		return ctr, nil, true, nil
	default:
		// Prepared (to start) or left by an earlier run (to delete): either
		// way it is acted on.
		task, err := ctr.Task(ctx, nil)
		if errdefs.IsNotFound(err) {
			break // deleted meanwhile
		}
		if err != nil {
			return nil, nil, false, fmt.Errorf("start container %s: %w", sc.Name, err)
		}
		if proc.Status == apitask.Status_CREATED {
			return ctr, task, false, nil
		}
		// No wait for the exit's publication (see exitPublished): a
		// restart policy acts on containerd's event of the exit, which the
		// shim sends last, and up starts again containers that exited
		// long before.
		if _, err := deleteTask(ctx, task, containerd.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
			return nil, nil, false, fmt.Errorf("start container %s: delete previous task: %w", sc.Name, err)
		}
	}
	// Started again: its restart policy applies again, and the health of
	// its last run is not this run's (up waiting on it must not see it).
	// A container with neither label (a new one) is left as it is: each
	// update is a write to containerd's database, one at a time, on the
	// way of every start.
	if info, err := ctr.Info(ctx, containerd.WithoutRefreshedMetadata); err != nil || info.Labels[compose.LabelManualStop] != "" || info.Labels[compose.LabelHealth] != "" {
		if _, err := ctr.SetLabels(ctx, map[string]string{compose.LabelManualStop: "", compose.LabelHealth: ""}); err != nil {
			return nil, nil, false, fmt.Errorf("start container %s: %w", sc.Name, err)
		}
	}
	if err := c.rejoin(ctx, ctr, sc); err != nil {
		return nil, nil, false, err
	}
	if dir := sc.Labels[labelShm]; dir != "" {
		size, _ := strconv.ParseInt(sc.Labels[labelShmSize], 10, 64)
		if err := mountShm(dir, size); err != nil { // gone with a reboot
			return nil, nil, false, fmt.Errorf("start container %s: %w", sc.Name, err)
		}
	}
	logPath := c.logPath(sc.ID)
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, nil, false, fmt.Errorf("start container %s: %w", sc.Name, err)
	}
	fifos, err := c.serviceFIFOs(sc, logPath)
	if err != nil {
		return nil, nil, false, fmt.Errorf("start container %s: %w", sc.Name, err)
	}
	defer fifos.release()
	newTask := func() (err error) {
		task, err = ctr.NewTask(ctx, fifos.creator())
		if errdefs.IsAlreadyExists(err) && c.clearStaleTask(ctx, sc.ID) {
			task, err = ctr.NewTask(ctx, fifos.creator())
		}
		return err
	}
	if anchor := sc.Labels[labelShimAnchor]; anchor != "" {
		// The task is served by its project's shim, which the anchor
		// holds: made first when it is not there.
		if err := c.ensureShimAnchor(ctx, anchor, sc.Labels.Project()); err != nil {
			return nil, nil, false, fmt.Errorf("service %q: start container %s: %w", sc.Labels.Service(), sc.Name, err)
		}
		if err = newTask(); isAnchorLost(err) {
			c.anchorsUp.Delete(anchor) // its task deleted meanwhile
			if err = c.ensureShimAnchor(ctx, anchor, sc.Labels.Project()); err == nil {
				err = newTask()
			}
		}
	} else {
		err = newTask()
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("service %q: start container %s: %w", sc.Labels.Service(), sc.Name, runcReason(err))
	}
	if err := fifos.created(); err != nil {
		deleteTask(ctx, task, containerd.WithProcessKill) //nolint:errcheck // the error that matters is err
		return nil, nil, false, fmt.Errorf("start container %s: %w", sc.Name, err)
	}
	fifos.handOver(ctx, TaskIODir(c.runDir, c.namespace), sc.ID)
	return ctr, task, false, nil
}

// deleteTask deletes a task to the end even when ctx ends (Ctrl-C, an
// exit seen meanwhile): containerd keeps the record of a task's shim when
// its delete is cancelled after the shim let the task go, and since berth
// names containerd containers by their names, the next container of the
// same name is then refused a task ("already exists").
func deleteTask(ctx context.Context, task containerd.Task, opts ...containerd.ProcessDeleteOpts) (*containerd.ExitStatus, error) {
	return task.Delete(context.WithoutCancel(ctx), opts...)
}

// Start starts a created, prepared or exited container: its prepared task,
// or a new one whose output goes to the container's log file, appended to
// what earlier runs wrote.
func (c *Client) Start(ctx context.Context, sc scheduler.Container) error {
	return c.start(ctx, sc, true)
}

// Revive implements scheduler.SupervisedRuntime: Start for a restart
// policy, without the post_start hooks.
func (c *Client) Revive(ctx context.Context, sc scheduler.Container) error {
	return c.start(ctx, sc, false)
}

func (c *Client) start(ctx context.Context, sc scheduler.Container, hooks bool) error {
	unlock, err := c.lockTaskCreation(sc)
	if err != nil {
		return err
	}
	defer unlock()
	ctr, task, running, err := c.prepare(ctx, sc)
	if err != nil || running {
		return err
	}
	if err := task.Start(ctx); err != nil {
		task.Delete(context.WithoutCancel(ctx), containerd.WithProcessKill) //nolint:errcheck // the start error is the one to report
		return fmt.Errorf("service %q: start container %s: %w", sc.Labels.Service(), sc.Name, runcReason(err))
	}
	if _, err := ctr.SetLabels(ctx, map[string]string{
		labelStartedAt: time.Now().UTC().Format(time.RFC3339Nano), labelFinishedAt: "", labelExitCode: "",
	}); err != nil {
		return fmt.Errorf("start container %s: record start: %w", sc.Name, err)
	}
	if !hooks {
		return nil
	}
	if err := c.runPostStart(ctx, sc); err != nil {
		// As in docker compose, a failing post_start fails the start: the
		// container does not stay up half-initialised.
		cleanup := context.WithoutCancel(ctx)
		if _, derr := task.Delete(cleanup, containerd.WithProcessKill); derr != nil && !errdefs.IsNotFound(derr) {
			return fmt.Errorf("%w (and stopping the container failed: %v)", err, derr)
		}
		ctr.SetLabels(cleanup, map[string]string{labelFinishedAt: time.Now().UTC().Format(time.RFC3339Nano), labelExitCode: "137"}) //nolint:errcheck // the hook's error is the one to report
		return err
	}
	return nil
}

// runcReason cuts the chain of wrappers off a runc start error ("failed to
// create shim task: OCI runtime create failed: runc create failed: unable to
// start container process: exec: ...") down to the reason.
func runcReason(err error) error {
	const marker = "unable to start container process: "
	msg := err.Error()
	if i := strings.LastIndex(msg, marker); i >= 0 {
		return errors.New(strings.TrimSuffix(msg[i+len(marker):], ": unknown"))
	}
	return err
}

// Stop sends the container's stop signal, waits up to timeout, then kills
// it; it then deletes the task and records the exit code on the container.
func (c *Client) Stop(ctx context.Context, sc scheduler.Container, timeout time.Duration) error {
	ctr, task, signalled, err := c.halt(ctx, sc, timeout)
	if err != nil || task == nil {
		return err
	}
	var opts []containerd.ProcessDeleteOpts
	if sharesShim(sc) {
		opts = append(opts, c.exitPublished(sc.ID))
	}
	status, err := deleteTask(ctx, task, opts...)
	if err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("stop container %s: delete task: %w", sc.Name, err)
	}
	labels := map[string]string{labelFinishedAt: time.Now().UTC().Format(time.RFC3339Nano)}
	if status != nil {
		labels[labelExitCode] = strconv.Itoa(int(status.ExitCode()))
		if !status.ExitTime().IsZero() {
			labels[labelFinishedAt] = status.ExitTime().UTC().Format(time.RFC3339Nano)
		}
	}
	if _, err := ctr.SetLabels(ctx, labels); err != nil {
		return fmt.Errorf("stop container %s: record exit: %w", sc.Name, err)
	}
	if signalled {
		c.publishStop(ctx, sc.ID)
	}
	return nil
}

var _ scheduler.Halter = (*Client)(nil)

// Halt implements scheduler.Halter: Stop up to the exit of the
// container's process. Its task, with its shim, is left for Remove to
// delete, and no exit is recorded (the container is being removed).
func (c *Client) Halt(ctx context.Context, sc scheduler.Container, timeout time.Duration) error {
	_, _, signalled, err := c.halt(ctx, sc, timeout)
	if err == nil && signalled {
		c.publishStop(ctx, sc.ID)
	}
	return err
}

// halt runs the container's pre_stop hooks, marks it stopped by hand and
// stops its process (stop signal, timeout, SIGKILL); a process that has
// exited already is neither signalled nor waited for. It returns the
// container and its task (nil when it has none) and whether it signalled.
func (c *Client) halt(ctx context.Context, sc scheduler.Container, timeout time.Duration) (containerd.Container, containerd.Task, bool, error) {
	ctr, err := c.client.LoadContainer(ctx, sc.ID)
	if errdefs.IsNotFound(err) {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("stop container %s: %w", sc.Name, err)
	}
	task, err := ctr.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return ctr, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("stop container %s: %w", sc.Name, err)
	}
	st, err := task.Status(ctx)
	if err != nil {
		return nil, nil, false, fmt.Errorf("stop container %s: %w", sc.Name, err)
	}
	signalled := st.Status != containerd.Stopped
	if st.Status == containerd.Running {
		// As in docker compose, a failing pre_stop fails the stop.
		if err := c.runPreStop(ctx, sc); err != nil {
			return nil, nil, false, err
		}
	}
	if signalled {
		if sharesShim(sc) {
			c.watchExits(ctx) // to delete the task once its exit is published
		}
		// Marked first, so that the supervisor, seeing the exit, knows a
		// stop asked for it and no restart policy undoes it.
		if _, err := ctr.SetLabels(ctx, map[string]string{compose.LabelManualStop: "true"}); err != nil {
			return nil, nil, false, fmt.Errorf("stop container %s: %w", sc.Name, err)
		}
		if err := c.signalAndWait(ctx, task, sc, timeout); err != nil {
			return nil, nil, false, fmt.Errorf("stop container %s: %w", sc.Name, err)
		}
	}
	return ctr, task, signalled, nil
}

func (c *Client) signalAndWait(ctx context.Context, task containerd.Task, sc scheduler.Container, timeout time.Duration) error {
	exited, err := task.Wait(ctx)
	if err != nil {
		return err
	}
	sig := syscall.SIGTERM
	if name := sc.Labels.StopSignal(); name != "" {
		if sig, err = signal.ParseSignal(name); err != nil {
			return fmt.Errorf("stop signal %q: %w", name, err)
		}
	}
	c.publishKill(ctx, sc.ID, sig)
	if err := signalInit(ctx, task, sig); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("send %v: %w", sig, err)
	}
	return killAfter(ctx, c, sc.ID, task, timeout, func(ctx context.Context, d time.Duration) (bool, error) {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-exited:
			return true, nil
		case <-ctx.Done():
			return false, ctx.Err()
		case <-t.C:
			return false, nil
		}
	})
}

// killAfter waits up to timeout for the container's process to end, as
// ended reports it, then kills it and whatever else runs in the container
// (SIGKILL through the shim) and waits killWait more.
func killAfter(ctx context.Context, c haltClient, id string, task killer, timeout time.Duration, ended func(ctx context.Context, d time.Duration) (bool, error)) error {
	if done, err := ended(ctx, timeout); done || err != nil {
		return err
	}
	c.publishKill(ctx, id, syscall.SIGKILL)
	if err := task.Kill(ctx, syscall.SIGKILL, containerd.WithKillAll); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("kill: %w", err)
	}
	if done, err := ended(ctx, killWait); done || err != nil {
		return err
	}
	return fmt.Errorf("still running %s after SIGKILL", killWait)
}

// signaller is what signalInit needs of a task.
type signaller interface {
	Pid() uint32
	Status(ctx context.Context) (containerd.Status, error)
	Kill(ctx context.Context, sig syscall.Signal, opts ...containerd.KillOpts) error
}

// signalInit sends sig to the task's init process from berth itself,
// through a pidfd, rather than through the shim, which runs a runc kill
// for it: a process of runc's, tens of ms of CPU per container, that a
// down of a stack pays for each of its containers at once. The pidfd is
// taken before the task is seen running, so it names the task's process
// and not one that took its pid since. Without pidfds (kernels before
// 5.3) the shim signals it. A process that has exited meanwhile is no
// error: nothing is signalled.
func signalInit(ctx context.Context, task signaller, sig syscall.Signal) error {
	pid := int(task.Pid())
	if pid <= 0 {
		return task.Kill(ctx, sig)
	}
	fd, err := unix.PidfdOpen(pid, 0)
	switch {
	case errors.Is(err, unix.ESRCH):
		return nil // reaped already
	case err != nil:
		return task.Kill(ctx, sig)
	}
	defer unix.Close(fd)
	st, err := task.Status(ctx)
	if err != nil {
		return err
	}
	if st.Status != containerd.Running && st.Status != containerd.Paused {
		return nil
	}
	if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil && !errors.Is(err, unix.ESRCH) {
		return err
	}
	return nil
}

// Kill sends a signal to the container's process. It marks the container
// as stopped by hand first, so that its restart policy does not undo it.
func (c *Client) Kill(ctx context.Context, sc scheduler.Container, sig string) error {
	ctr, err := c.client.LoadContainer(ctx, sc.ID)
	if err != nil {
		return fmt.Errorf("kill container %s: %w", sc.Name, err)
	}
	s, err := signal.ParseSignal(sig)
	if err != nil {
		return fmt.Errorf("kill container %s: signal %q: %w", sc.Name, sig, err)
	}
	task, err := ctr.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("kill container %s: %w", sc.Name, err)
	}
	if _, err := ctr.SetLabels(ctx, map[string]string{compose.LabelManualStop: "true"}); err != nil {
		return fmt.Errorf("kill container %s: %w", sc.Name, err)
	}
	c.publishKill(ctx, sc.ID, s)
	if err := task.Kill(ctx, s); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("kill container %s: %w", sc.Name, err)
	}
	return nil
}

// Pause freezes or thaws the container's processes (cgroup freezer).
func (c *Client) Pause(ctx context.Context, sc scheduler.Container, paused bool) error {
	ctr, err := c.client.LoadContainer(ctx, sc.ID)
	if err != nil {
		return fmt.Errorf("pause container %s: %w", sc.Name, err)
	}
	task, err := ctr.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return fmt.Errorf("pause container %s: it is not running", sc.Name)
	}
	if err != nil {
		return fmt.Errorf("pause container %s: %w", sc.Name, err)
	}
	if paused {
		err = task.Pause(ctx)
	} else {
		err = task.Resume(ctx)
	}
	if err != nil {
		return fmt.Errorf("pause container %s: %w", sc.Name, err)
	}
	return nil
}

// terminalIO is the IO of a service container's task (see taskio.go):
// the shim opens its FIFOs itself, berth copies nothing.
type terminalIO struct{ config cio.Config }

func (t terminalIO) Config() cio.Config { return t.config }
func (terminalIO) Cancel()              {}
func (terminalIO) Wait()                {}
func (terminalIO) Close() error         { return nil }

// stdinPath is the FIFO a tty container's terminal read its input from
// when an older berth made its task (its log driver held it open); the
// input of a task made now is in taskIODir. Kept for removal.
func (c *Client) stdinPath(name string) string {
	return filepath.Join(c.dataDir, "logs", c.namespace, name+".stdin")
}
