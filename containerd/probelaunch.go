package containerd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth/berth/compose"
)

// ProbeRunPath is the directory, bound from the host, where the probe
// agent a container's own process started listens (probeSocketName). A
// container with a healthcheck and a pid namespace of its own runs
// launchPrefix before its command: the launcher forks the agent and
// executes the command in its own place, so that the agent has exactly
// the confinement of the container's process and costs no runc exec,
// and the command is still pid 1. Probes then go over the socket; a
// container without the directory (created by an older berth, or one
// sharing another's pid namespace) starts its agent by exec at its first
// probe, as before.
const ProbeRunPath = "/.berth/run"

// probeSocketName is the agent's socket in ProbeRunPath (the agent's
// SOCKET_PATH).
const probeSocketName = "probe.sock"

// probeRunDirName is the host directory bound at ProbeRunPath, in the
// container's own directory (containerDir): removed with it.
const probeRunDirName = "probe"

// launchPrefix is what runs before a container's command (and before
// berth's init, when it has one) to start its agent.
func launchPrefix() []string { return []string{ProbeAgentPath, "launch", "--"} }

// ownPIDNamespace reports whether a container with the pid key mode has
// a pid namespace of its own, the condition for launching its agent: the
// end of its process then ends the agent with every other process of the
// namespace. In another's (or the host's) the agent would outlive it.
func ownPIDNamespace(mode compose.NamespaceMode) bool {
	return !mode.Host() && mode.Service() == "" && mode.Container() == ""
}

// withoutLauncher is a command line without launchPrefix.
func withoutLauncher(args []string) []string {
	p := launchPrefix()
	if len(args) < len(p) || args[0] != p[0] || args[1] != p[1] || args[2] != p[2] {
		return args
	}
	return args[len(p):]
}

// probeRunDir is the host directory of a container's launched agent.
func (c *Client) probeRunDir(id string) string {
	return filepath.Join(c.containerDir(id), probeRunDirName)
}

// makeProbeRunDir makes the directory bound at ProbeRunPath. It is
// writable by all: the agent runs as the container's user, whatever it
// is, and makes its socket there. Nothing else reaches it: on the host
// its parents are root's, in the container it is the container's own.
func makeProbeRunDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("make the probe agent's directory: %w", err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		return fmt.Errorf("make the probe agent's directory: %w", err)
	}
	return nil
}

// launchedDialWait bounds how long a probe waits for the socket of a
// container's launched agent: it is made a few milliseconds after the
// task starts, so this is only reached when the agent could not start
// (a seccomp profile that refuses sockets, a pids limit) or was killed.
const launchedDialWait = time.Second

// launchedDialStep is the pause between attempts to connect.
const launchedDialStep = 5 * time.Millisecond

// errNotLaunched says that a container has no launched agent to dial:
// it was created without one.
var errNotLaunched = errors.New("no launched probe agent")

// dialLaunched connects to the launched agent in dir, trying again while
// it is not listening yet (its socket is missing or refuses), for wait
// at most. errNotLaunched says there is no directory.
func dialLaunched(ctx context.Context, dir string, wait, step time.Duration) (net.Conn, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, errNotLaunched
	}
	var deadline <-chan time.Time
	for {
		conn, err := dialUnixIn(dir, probeSocketName)
		if err == nil {
			return conn, nil
		}
		if !errors.Is(err, syscall.ENOENT) && !errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("connect to the probe agent: %w", err)
		}
		if deadline == nil {
			t := time.NewTimer(wait)
			defer t.Stop()
			deadline = t.C
		}
		pause := time.NewTimer(step)
		select {
		case <-pause.C:
		case <-deadline:
			pause.Stop()
			return nil, fmt.Errorf("connect to the probe agent: %w", err)
		case <-ctx.Done():
			pause.Stop()
			return nil, ctx.Err()
		}
	}
}

// dialUnixIn connects to the unix socket name in dir. A socket's path
// must fit in 108 bytes, and berth's data directory may be deep: a long
// one is reached through the directory's descriptor.
func dialUnixIn(dir, name string) (net.Conn, error) {
	path := filepath.Join(dir, name)
	if len(path) < 100 {
		return net.Dial("unix", path)
	}
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(fd)
	return net.Dial("unix", fmt.Sprintf("/proc/self/fd/%d/%s", fd, name))
}

// launchedFailureWait is how long after a launched agent could not be
// reached its container's probes start an agent by exec instead before
// the same socket is tried again. A new socket (the container restarted,
// and its new process launched a new agent) is tried at once.
const launchedFailureWait = time.Minute

// launchFailure is a launched agent that could not be reached.
type launchFailure struct {
	at time.Time
	// socket identifies the socket that failed (0: there was none).
	socket uint64
}

// socketID identifies the socket in a launched agent's directory: its
// inode, 0 when there is none.
func socketID(dir string) uint64 {
	var st unix.Stat_t
	if unix.Stat(filepath.Join(dir, probeSocketName), &st) != nil {
		return 0
	}
	return st.Ino
}

// launchedAgent is the container's launched agent, connected and
// greeted, unless its socket failed within launchedFailureWait; nil and
// an error when there is none to use.
func (c *Client) launchedAgent(ctx context.Context, id string) (*runningAgent, error) {
	dir := c.probeRunDir(id)
	c.agents.mu.Lock()
	f, failed := c.agents.dialFailed[id]
	c.agents.mu.Unlock()
	if failed && time.Since(f.at) < launchedFailureWait && socketID(dir) == f.socket {
		return nil, errors.New("probe agent: its socket failed a moment ago")
	}
	conn, err := dialLaunched(ctx, dir, launchedDialWait, launchedDialStep)
	if err == nil {
		ac := newAgentConn(conn, conn)
		if err = ac.awaitHello(ctx, agentHelloWait); err != nil {
			conn.Close() //nolint:errcheck // it failed already
		} else {
			ag := &runningAgent{conn: ac, exited: ac.done, end: func() { conn.Close() }} //nolint:errcheck // nothing to do about it
			c.agents.mu.Lock()
			defer c.agents.mu.Unlock()
			delete(c.agents.dialFailed, id)
			if c.agents.running == nil {
				c.agents.running = map[string]*runningAgent{}
			}
			c.agents.running[id] = ag
			return ag, nil
		}
	}
	if errors.Is(err, errNotLaunched) || ctx.Err() != nil {
		return nil, err
	}
	c.agents.mu.Lock()
	if c.agents.dialFailed == nil {
		c.agents.dialFailed = map[string]launchFailure{}
	}
	c.agents.dialFailed[id] = launchFailure{at: time.Now(), socket: socketID(dir)}
	c.agents.mu.Unlock()
	return nil, err
}
