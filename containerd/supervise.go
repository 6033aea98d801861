package containerd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	eventstypes "github.com/containerd/containerd/api/events"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/events"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"github.com/containerd/typeurl/v2"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/scheduler"
)

var _ scheduler.SupervisedRuntime = (*Client)(nil)

// probeOutputLimit is how much of a probe's output is kept, as in Docker.
const probeOutputLimit = 4096

// Probe runs a healthcheck test in the container's task, with the
// container's environment, user and working directory, and kills it when
// timeout passes: through the agent the container's process launched
// (see ProbeRunPath), else through one started by exec when it has the
// agent bound (see ProbeAgentPath), else (or when no agent can be
// started, or it went away) as an exec process of its own.
func (c *Client) Probe(ctx context.Context, sc scheduler.Container, test []string, timeout time.Duration) scheduler.ProbeResult {
	r := scheduler.ProbeResult{Start: time.Now(), ExitCode: -1}
	fail := func(msg string) scheduler.ProbeResult {
		r.End, r.Output = time.Now(), msg
		return r
	}
	var args []string
	switch {
	case len(test) >= 2 && test[0] == "CMD":
		args = test[1:]
	case len(test) == 2 && test[0] == "CMD-SHELL":
		args = []string{"/bin/sh", "-c", test[1]}
	default:
		return fail(fmt.Sprintf("healthcheck test %q: use CMD args... or CMD-SHELL command", test))
	}
	// The container's agent, when it runs, needs nothing of containerd.
	ag := c.liveAgent(sc.ID)
	if ag != nil {
		if res, ok := c.askAgent(ctx, sc.ID, ag, args, timeout, r); ok {
			return res
		}
	}
	task, _, spec, err := c.execTarget(ctx, sc)
	if err != nil {
		return fail(err.Error())
	}
	// The agent the container's own process launched, when it has one:
	// after one that went away too (the container was restarted, and
	// its new process launched another).
	if (ag == nil || ag.taskPid == 0) && hasLaunchedAgent(spec) {
		if la, err := c.launchedAgent(ctx, sc.ID, task.Pid()); err == nil {
			if res, ok := c.askAgent(ctx, sc.ID, la, args, timeout, r); ok {
				return res
			}
		}
	}
	// An agent that went away is started again at the next probe, not
	// now: this probe may be what kills it.
	if ag == nil && hasProbeAgent(spec) {
		if ag, err := c.agentFor(ctx, sc, task, *spec.Process); err == nil {
			if res, ok := c.askAgent(ctx, sc.ID, ag, args, timeout, r); ok {
				return res
			}
		}
	}
	proc := *spec.Process
	proc.Args = args
	proc.Terminal = false
	if _, seen := c.probed.LoadOrStore(sc.ID, true); !seen {
		removeStaleProbeFIFOs(c.fifoDir(sc.ID), staleProbeHold)
	}
	return runProbe(ctx, task, &proc, c.fifoDir(sc.ID), timeout, r)
}

// execer runs processes in a task (a containerd.Task).
type execer interface {
	Exec(ctx context.Context, id string, spec *specs.Process, ioCreate cio.Creator) (containerd.Process, error)
}

// runProbe runs proc in task as a probe begun at r.Start, its output
// copied through FIFOs in the container's fifoDir, which are gone again
// when it returns, whatever happened.
func runProbe(ctx context.Context, task execer, proc *specs.Process, fifoDir string, timeout time.Duration, r scheduler.ProbeResult) scheduler.ProbeResult {
	fail := func(msg string) scheduler.ProbeResult {
		r.End, r.Output = time.Now(), msg
		return r
	}
	out := &limitedBuffer{max: probeOutputLimit}
	fifos := fifoSet{dir: fifoDir}
	defer fifos.release()
	id := probeIDPrefix + strconv.FormatInt(time.Now().UnixNano(), 36)
	p, err := task.Exec(ctx, id, proc, fifos.creator(cio.WithStreams(nil, out, out)))
	if err != nil {
		return fail(runcReason(err).Error())
	}
	cleanup := context.WithoutCancel(ctx)
	defer p.Delete(cleanup, containerd.WithProcessKill) //nolint:errcheck // best effort; release removes the FIFOs anyway
	exit, err := p.Wait(cleanup)
	if err != nil {
		return fail(err.Error())
	}
	if err := p.Start(ctx); err != nil {
		return fail(runcReason(err).Error())
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case st := <-exit:
		code, _, err := st.Result()
		if err != nil {
			return fail(err.Error())
		}
		r.ExitCode, r.End = int(code), time.Now()
		// Its output may still be on the way; a child it left running
		// could hold it open, so do not wait long.
		copied := make(chan struct{})
		go func() { p.IO().Wait(); close(copied) }()
		wait := time.NewTimer(time.Second)
		defer wait.Stop()
		select {
		case <-copied:
		case <-wait.C:
		}
		r.Output = out.String()
		return r
	case <-timer.C:
		p.Kill(cleanup, syscall.SIGKILL) //nolint:errcheck // it is deleted next
		<-exit
		return fail(fmt.Sprintf("Health check exceeded timeout (%s)", timeout))
	case <-ctx.Done():
		p.Kill(cleanup, syscall.SIGKILL) //nolint:errcheck // it is deleted next
		<-exit
		return fail(ctx.Err().Error())
	}
}

// Record keeps a container's health and restart count in its labels,
// where ps and up read them; a nil health removes it. The health is
// also written to the container's health file (see RecordProbe), first,
// so that a reader woken by the labels' update finds both alike.
func (c *Client) Record(ctx context.Context, sc scheduler.Container, h *scheduler.Health, restarts int) error {
	var js []byte
	if h != nil {
		var err error
		if js, err = json.Marshal(h); err != nil {
			return err
		}
	}
	// The container is looked up and its health file made under the lock
	// its removal takes (removeHealth): a probe that ends while a down
	// removes the container never makes the file again after it.
	unlock, err := c.lockHealth(syscall.LOCK_SH)
	if err != nil {
		return err
	}
	ctr, err := c.client.LoadContainer(ctx, sc.ID)
	if err == nil && h != nil {
		err = c.writeHealth(sc.ID, js)
	}
	unlock()
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	labels := map[string]string{compose.LabelHealth: "", compose.LabelRestartCount: strconv.Itoa(restarts)}
	if h != nil {
		labels[compose.LabelHealth] = string(js)
	} else if err := os.Remove(c.healthPath(sc.ID)); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("container %s: %w", sc.Name, err)
	}
	_, err = ctr.SetLabels(ctx, labels)
	if errdefs.IsNotFound(err) {
		return nil
	}
	return err
}

// Events streams the namespace's container events: task starts, exits (of
// containers' main processes, not of execs), pauses, resumes and OOM kills;
// container creations, deletions and label updates; and the kills and
// stops berth itself publishes (containerd has no event for them).
func (c *Client) Events(ctx context.Context) (<-chan scheduler.RuntimeEvent, <-chan error) {
	envs, errs := c.client.Subscribe(ctx,
		`topic=="/tasks/start"`, `topic=="/tasks/exit"`, `topic=="/tasks/paused"`, `topic=="/tasks/resumed"`, `topic=="/tasks/oom"`,
		`topic=="/containers/create"`, `topic=="/containers/delete"`, `topic=="/containers/update"`,
		`topic==`+strconv.Quote(topicKill), `topic==`+strconv.Quote(topicStop), `topic==`+strconv.Quote(topicSync),
		`topic==`+strconv.Quote(topicQuiesce), `topic==`+strconv.Quote(topicUnquiesce))
	out := make(chan scheduler.RuntimeEvent)
	outErr := make(chan error, 1)
	pending := c.awaitSubscribed(ctx, envs)
	go func() {
		for _, ev := range pending {
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
		}
		for {
			select {
			case <-ctx.Done():
				return
			case err, ok := <-errs:
				if ctx.Err() != nil {
					return
				}
				if err == nil || !ok {
					// A stream that ends while ctx lives is as broken as
					// one that fails: its follower must learn of it.
					err = errEventsEnded
				}
				if !endedWith(ctx, err) {
					outErr <- err
				}
				return
			case env := <-envs:
				if env == nil || env.Namespace != c.namespace {
					continue
				}
				ev, ok := runtimeEvent(env.Event, env.Timestamp)
				if !ok {
					continue
				}
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, outErr
}

// subscribeWait bounds how long Events waits for its own marker event;
// meanwhile it publishes the marker again after subscribeRetryFirst, then
// after twice as long each time, up to every subscribeRetry. containerd
// registers a subscription within a few milliseconds of its call, most
// often just after the first marker: with a first retry after 50 ms, a
// project process counted as started (up waits for that before it
// creates containers) 40 to 70 ms later than it could.
const (
	subscribeWait       = 2 * time.Second
	subscribeRetryFirst = 2 * time.Millisecond
	subscribeRetry      = 50 * time.Millisecond
)

// awaitSubscribed publishes a marker event and waits (a while at most) for
// it to come back on envs: containerd registers a subscription some time
// after Subscribe returns, and a caller that lists containers next (logs
// -f) would miss what happens in between. The events that come before the
// marker are returned, to be passed on first.
func (c *Client) awaitSubscribed(ctx context.Context, envs <-chan *events.Envelope) []scheduler.RuntimeEvent {
	id := strconv.FormatInt(time.Now().UnixNano(), 36) + "-" + strconv.Itoa(os.Getpid())
	publish := func() error { return c.client.EventService().Publish(ctx, topicSync, &subscribed{ID: id}) }
	pending, _ := awaitMarker(ctx, envs, c.namespace, id, publish, markerRetries, subscribeWait)
	return pending
}

// retryBackoff is when a marker is published again: first after first,
// then after twice as long each time, up to every most.
type retryBackoff struct{ first, most time.Duration }

// markerRetries are the retries of awaitSubscribed and followExits.
var markerRetries = retryBackoff{first: subscribeRetryFirst, most: subscribeRetry}

// next is the wait after the one of prev (0: the first).
func (b retryBackoff) next(prev time.Duration) time.Duration {
	if prev == 0 {
		return min(b.first, b.most)
	}
	return min(2*prev, b.most)
}

// awaitMarker is awaitSubscribed's wait: it publishes the marker, and
// again as retry says, since one published before containerd registered
// the subscription never comes back (every attached up and logs -f then
// waited the whole 2 s). seen tells whether the marker came back.
func awaitMarker(ctx context.Context, envs <-chan *events.Envelope, namespace, id string, publish func() error, retry retryBackoff, wait time.Duration) (pending []scheduler.RuntimeEvent, seen bool) {
	if err := publish(); err != nil {
		return nil, false // the stream reports what is wrong
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	pause := retry.next(0)
	again := time.NewTimer(pause)
	defer again.Stop()
	for {
		select {
		case <-ctx.Done():
			return pending, false
		case <-t.C:
			return pending, false
		case <-again.C:
			publish() //nolint:errcheck // the first one worked; the stream reports a broken one
			pause = retry.next(pause)
			again.Reset(pause)
		case env := <-envs:
			if env == nil {
				return pending, false
			}
			if env.Namespace != namespace {
				continue
			}
			if v, err := typeurl.UnmarshalAny(env.Event); err == nil {
				if m, ok := v.(*subscribed); ok && m.ID == id {
					return pending, true
				}
			}
			if ev, ok := runtimeEvent(env.Event, env.Timestamp); ok {
				pending = append(pending, ev)
			}
		}
	}
}

// errEventsEnded is reported when containerd ends the event stream without
// saying why (it shut down, say).
var errEventsEnded = errors.New("containerd ended the event stream")

// endedWith reports whether a stream's error is ctx's own end: gRPC can
// see a deadline or a cancel a moment before ctx reports it, and the
// caller, seeing the error first, would take a timeout for a failure.
func endedWith(ctx context.Context, err error) bool {
	// The client hands gRPC's errors over converted already; converting
	// one again would lose its kind.
	isEnd := func(err error) bool { return errdefs.IsDeadlineExceeded(err) || errdefs.IsCanceled(err) }
	if !isEnd(err) && !isEnd(errgrpc.ToNative(err)) {
		return false
	}
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return true
	case <-t.C:
		return false
	}
}

// runtimeEvent is what a containerd event says happened to a container;
// ok is false for events of exec processes (probes) and of topics berth
// does not follow.
func runtimeEvent(any typeurl.Any, at time.Time) (scheduler.RuntimeEvent, bool) {
	v, err := typeurl.UnmarshalAny(any)
	if err != nil {
		return scheduler.RuntimeEvent{}, false
	}
	ev := scheduler.RuntimeEvent{At: at}
	switch e := v.(type) {
	case *eventstypes.TaskStart:
		ev.Kind, ev.Container = scheduler.EventStarted, e.ContainerID
	case *eventstypes.TaskExit:
		if e.ID != e.ContainerID {
			return scheduler.RuntimeEvent{}, false // an exec (a probe) ended
		}
		ev.Kind, ev.Container, ev.ExitCode = scheduler.EventExited, e.ContainerID, int(e.ExitStatus)
		if e.ExitedAt != nil {
			ev.At = e.ExitedAt.AsTime()
		}
	case *eventstypes.TaskPaused:
		ev.Kind, ev.Container = scheduler.EventPaused, e.ContainerID
	case *eventstypes.TaskResumed:
		ev.Kind, ev.Container = scheduler.EventResumed, e.ContainerID
	case *eventstypes.TaskOOM:
		ev.Kind, ev.Container = scheduler.EventOOM, e.ContainerID
	case *eventstypes.ContainerCreate:
		ev.Kind, ev.Container = scheduler.EventCreated, e.ID
	case *eventstypes.ContainerDelete:
		ev.Kind, ev.Container = scheduler.EventDeleted, e.ID
	case *eventstypes.ContainerUpdate:
		ev.Kind, ev.Container, ev.Labels = scheduler.EventUpdated, e.ID, compose.Labels(e.Labels)
		if ev.Labels == nil {
			ev.Labels = compose.Labels{}
		}
	case *containerKilled:
		ev.Kind, ev.Container, ev.Signal = scheduler.EventKilled, e.ID, e.Signal
	case *containerStopped:
		ev.Kind, ev.Container = scheduler.EventStopped, e.ID
	case *containerQuiesced:
		ev.Kind, ev.Container = scheduler.EventQuiesced, e.ID
	case *containerUnquiesced:
		ev.Kind, ev.Container = scheduler.EventUnquiesced, e.ID
	default:
		return scheduler.RuntimeEvent{}, false
	}
	return ev, true
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		if len(p) > room {
			b.buf.Write(p[:room])
		} else {
			b.buf.Write(p)
		}
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// RecordProbe keeps a probe's result whose health has the status the
// container's labels hold already: only in the container's health file,
// under berth's run directory, which readers of the container lay over
// its label (observe). No write to containerd's store, no update event,
// and no new file: the file is rewritten in place (see healthFileMagic).
// A file that is gone is not made again: the container is being removed
// (Record makes the file of a container's first health).
func (c *Client) RecordProbe(_ context.Context, sc scheduler.Container, h scheduler.Health) error {
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	return rewriteHealthFile(c.healthPath(sc.ID), b)
}

// lockHealth locks the health files of the namespace (flock how: shared
// for a writer that may make one, exclusive for a removal); unlock
// releases it.
func (c *Client) lockHealth(how int) (unlock func(), err error) {
	dir := namespacedDir(c.runDir, c.namespace, "health")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("record health: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_RDONLY|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("record health: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		return nil, fmt.Errorf("record health: lock %s: %w", f.Name(), err)
	}
	return func() { f.Close() }, nil
}

// removeHealth removes a container's health file once its record is gone,
// under the lock Record makes the file under: no probe of it that ends
// later makes the file again.
func (c *Client) removeHealth(id string) error {
	unlock, err := c.lockHealth(syscall.LOCK_EX)
	if err != nil {
		return err
	}
	defer unlock()
	if err := os.Remove(c.healthPath(id)); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

// healthPath is the file of a container's latest health.
func (c *Client) healthPath(id string) string {
	return filepath.Join(namespacedDir(c.runDir, c.namespace, "health"), id+".json")
}

// writeHealth rewrites a container's health file (see healthFileMagic).
func (c *Client) writeHealth(id string, b []byte) error {
	return writeHealthFile(c.healthPath(id), b)
}

// latestHealth lays a container's health file over the health in its
// labels: the file has the probes kept since the status last changed.
// The labels of a run with no health yet (cleared at its start) keep
// none: a file left by an earlier run never shows.
func (c *Client) latestHealth(id string, labels map[string]string) map[string]string {
	if labels[compose.LabelHealth] == "" || c.runDir == "" {
		return labels
	}
	b, ok := readHealthFile(c.healthPath(id))
	if !ok {
		return labels
	}
	out := make(map[string]string, len(labels))
	for k, v := range labels {
		out[k] = v
	}
	out[compose.LabelHealth] = string(b)
	return out
}
