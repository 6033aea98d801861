package containerd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth/berth/scheduler"
)

// runningAgent is a container's probe agent: an exec process of its
// task, or the one its own process launched (launchedAgent), reached
// through its socket.
type runningAgent struct {
	conn *agentConn
	// taskPid is the pid of the task an exec agent runs in: a restarted
	// container has a new task, and needs a new agent. (A launched agent
	// ends with its task, and its connection with it.)
	taskPid uint32
	// exited is closed once the agent's process ended and was deleted
	// (an exec agent), or its connection ended (a launched one).
	exited <-chan struct{}
	// end ends the agent, which must not be used again: an exec agent is
	// killed, the connection to a launched one closed (it lives on with
	// its container, for the next berth process).
	end func()
	// release lets the agent go when the client closes: an exec agent's
	// input is closed, and it exits.
	release func(ctx context.Context)
}

// agentRetry is how long after an agent could not be started (no binary
// at the mount's source, the pids limit reached) the probes of the same
// task run as execs before another start is tried.
const agentRetry = time.Minute

// agentFailure is an agent's start that failed.
type agentFailure struct {
	taskPid uint32
	at      time.Time
}

// probeAgents are the probe agents a Client started, by container ID.
type probeAgents struct {
	mu      sync.Mutex // guards following
	running map[string]*runningAgent
	failed  map[string]agentFailure
	// dialFailed is when a container's launched agent could not be
	// reached (see launchedAgent).
	dialFailed map[string]launchFailure
}

// hasProbeAgent reports whether a container's spec mounts the agent: one
// created without it (by an older berth, or a berth without the agent
// beside it) is probed with an exec per probe.
func hasProbeAgent(spec *specs.Spec) bool {
	return slices.ContainsFunc(spec.Mounts, func(m specs.Mount) bool { return m.Destination == ProbeAgentPath })
}

// liveAgent is the container's agent, when it has one that has not
// exited: a probe goes to it without asking containerd anything. One
// whose task ended without the agent's exit seen yet gets the probe, and
// its end shows as errAgentGone.
func (c *Client) liveAgent(id string) *runningAgent {
	c.agents.mu.Lock()
	ag := c.agents.running[id]
	c.agents.mu.Unlock()
	if ag == nil {
		return nil
	}
	select {
	case <-ag.exited:
		return nil
	default:
		return ag
	}
}

// askAgent runs a probe through the container's agent. ok is false when
// the probe must run as an exec instead: the agent went away before it
// replied (it is started again at the next probe), or could not read
// the request.
func (c *Client) askAgent(ctx context.Context, id string, ag *runningAgent, args []string, timeout time.Duration, r scheduler.ProbeResult) (_ scheduler.ProbeResult, ok bool) {
	fail := func(msg string) (scheduler.ProbeResult, bool) {
		r.End, r.Output = time.Now(), msg
		return r, true
	}
	rep, err := ag.conn.run(ctx, args, timeout, agentGrace)
	switch {
	case errors.Is(err, errAgentGone):
		c.dropAgent(ctx, id, ag)
		return r, false
	case errors.Is(err, errAgentHung):
		c.dropAgent(ctx, id, ag)
		return fail(fmt.Sprintf("Health check exceeded timeout (%s)", timeout))
	case ctx.Err() != nil:
		c.dropAgent(ctx, id, ag)
		return fail(ctx.Err().Error())
	case err != nil:
		return fail(err.Error())
	}
	switch rep.Kind {
	case agentExited:
		r.ExitCode, r.End, r.Output = int(rep.Code), time.Now(), string(rep.Output)
		return r, true
	case agentTimedOut:
		return fail(fmt.Sprintf("Health check exceeded timeout (%s)", timeout))
	case agentNoStart:
		return fail(agentNoStartReason(args, rep.Code))
	default:
		c.dropAgent(ctx, id, ag)
		return r, false
	}
}

// agentFor is the container's running agent, started when it has none
// for its current task.
func (c *Client) agentFor(ctx context.Context, sc scheduler.Container, task containerd.Task, proc specs.Process) (*runningAgent, error) {
	pid := task.Pid()
	c.agents.mu.Lock()
	ag := c.agents.running[sc.ID]
	f, failed := c.agents.failed[sc.ID]
	c.agents.mu.Unlock()
	if ag != nil {
		select {
		case <-ag.exited:
		default:
			if ag.taskPid == pid {
				return ag, nil
			}
		}
		c.dropAgent(ctx, sc.ID, ag)
	}
	if failed && f.taskPid == pid && time.Since(f.at) < agentRetry {
		return nil, errors.New("probe agent: its start failed a moment ago")
	}
	ag, err := c.startAgent(ctx, sc, task, proc)
	c.agents.mu.Lock()
	defer c.agents.mu.Unlock()
	if err != nil {
		if c.agents.failed == nil {
			c.agents.failed = map[string]agentFailure{}
		}
		c.agents.failed[sc.ID] = agentFailure{taskPid: pid, at: time.Now()}
		return nil, err
	}
	delete(c.agents.failed, sc.ID)
	if c.agents.running == nil {
		c.agents.running = map[string]*runningAgent{}
	}
	c.agents.running[sc.ID] = ag
	return ag, nil
}

// dropAgent forgets a container's agent and ends it: it must not be used
// again.
func (c *Client) dropAgent(ctx context.Context, id string, ag *runningAgent) {
	c.agents.mu.Lock()
	if c.agents.running[id] == ag {
		delete(c.agents.running, id)
	}
	c.agents.mu.Unlock()
	ag.end()
}

// agentCloseWait bounds how long closeAgents waits for containerd.
const agentCloseWait = 2 * time.Second

// closeAgents ends the agents the client started: the shim closes their
// standard input, and they exit. (The shim holds the input's FIFO open
// itself: an agent sees its end only when told, not when its berth
// process dies. The agent a killed project process leaves is replaced
// by the next one's, at its first probe of the container.)
func (c *Client) closeAgents() {
	c.agents.mu.Lock()
	running := c.agents.running
	c.agents.running = nil
	c.agents.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), agentCloseWait)
	defer cancel()
	for _, ag := range running {
		if ag.release != nil {
			ag.release(ctx)
		} else {
			ag.end()
		}
	}
}

// endProcess kills an exec process (one a predecessor started: its pid
// is not known here, and containerd's WithProcessKill skips a process
// whose pid it does not know) and deletes it.
func endProcess(ctx context.Context, p containerd.Process) {
	ctx, cancel := context.WithTimeout(ctx, agentHelloWait)
	defer cancel()
	if exited, err := p.Wait(ctx); err == nil {
		if err := p.Kill(ctx, syscall.SIGKILL); err == nil || errdefs.IsNotFound(err) {
			select {
			case <-exited:
			case <-ctx.Done():
			}
		}
	}
	p.Delete(ctx) //nolint:errcheck // the caller's next Exec says whether it is gone
}

// startAgent starts the agent in the container's task as an exec of proc
// (the container's process: its user, environment, working directory,
// capabilities and the rest) and waits for its greeting. An agent a
// predecessor left (a project process that was killed) is killed and
// replaced. Its process is deleted, and its FIFOs removed, when it ends.
func (c *Client) startAgent(ctx context.Context, sc scheduler.Container, task containerd.Task, proc specs.Process) (_ *runningAgent, retErr error) {
	proc.Args = []string{ProbeAgentPath}
	proc.Terminal = false
	bg := context.WithoutCancel(ctx)
	if _, seen := c.probed.LoadOrStore(sc.ID, true); !seen {
		removeStaleProbeFIFOs(c.fifoDir(sc.ID), staleProbeHold)
	}
	// The agent a predecessor left holds the exec ID: it goes first.
	if old, err := task.LoadProcess(ctx, probeAgentExecID, nil); err == nil {
		endProcess(bg, old)
	}
	stdinR, stdinW := io.Pipe()
	stdoutR, stdoutW := io.Pipe()
	stderr := &limitedBuffer{max: 512}
	fifos := &fifoSet{dir: c.fifoDir(sc.ID)}
	var p containerd.Process
	watched := false
	defer func() {
		if retErr == nil || watched {
			return
		}
		if p != nil {
			p.Delete(bg) //nolint:errcheck // it did not start
		}
		// Ends containerd's copies of the streams, which read and write
		// these pipes.
		stdinR.CloseWithError(retErr)
		stdoutW.CloseWithError(retErr)
		fifos.release()
	}()
	p, err := task.Exec(ctx, probeAgentExecID, &proc, fifos.creator(cio.WithStreams(stdinR, stdoutW, stderr)))
	if err != nil {
		p = nil
		return nil, fmt.Errorf("start probe agent: %w", runcReason(err))
	}
	exit, err := p.Wait(bg)
	if err != nil {
		return nil, fmt.Errorf("start probe agent: %w", err)
	}
	if err := p.Start(ctx); err != nil {
		return nil, fmt.Errorf("start probe agent: %w", runcReason(err))
	}
	watched = true
	exited := make(chan struct{})
	ag := &runningAgent{conn: newAgentConn(stdinW, stdoutR), taskPid: task.Pid(), exited: exited,
		end: func() {
			stdinW.Close()              //nolint:errcheck // an io.PipeWriter's Close does not fail
			p.Kill(bg, syscall.SIGKILL) //nolint:errcheck // it may have ended; its watcher deletes it
		},
		release: func(ctx context.Context) {
			stdinW.Close()                             //nolint:errcheck // an io.PipeWriter's Close does not fail
			p.CloseIO(ctx, containerd.WithStdinCloser) //nolint:errcheck // it may have exited
		}}
	go func() {
		<-exit
		// Its last reply may still be on its way.
		copied := make(chan struct{})
		go func() { p.IO().Wait(); close(copied) }()
		t := time.NewTimer(time.Second)
		select {
		case <-copied:
		case <-t.C:
		}
		t.Stop()
		stdoutW.CloseWithError(errAgentGone)
		stdinR.CloseWithError(errAgentGone)
		p.Delete(bg) //nolint:errcheck // its task may be gone with it
		fifos.release()
		close(exited)
	}()
	if err := ag.conn.awaitHello(ctx, agentHelloWait); err != nil {
		stdinW.Close()              //nolint:errcheck // an io.PipeWriter's Close does not fail
		p.Kill(bg, syscall.SIGKILL) //nolint:errcheck // its watcher deletes it
		if msg := stderr.String(); msg != "" {
			return nil, fmt.Errorf("start probe agent: %w: %s", err, msg)
		}
		return nil, fmt.Errorf("start probe agent: %w", err)
	}
	return ag, nil
}
