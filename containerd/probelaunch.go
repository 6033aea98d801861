package containerd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/containerd/v2/pkg/oci"
	cfs "github.com/containerd/continuity/fs"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth/berth/compose"
)

// ProbeRunPath is the directory, a small tmpfs of the container's own,
// where the probe agent its process started listens (probeSocketName).
// A container with a healthcheck and a pid namespace of its own runs
// launchPrefix before its command: the launcher forks the agent and
// executes the command in its own place, so that the agent has exactly
// the confinement of the container's process and costs no runc exec,
// and the command is still pid 1. berth reaches the socket through the
// task's /proc/PID/root: nothing of it is on the host's disk, and no
// other host user can reach it. A container without the tmpfs (created
// by an older berth, or one sharing another's pid namespace) starts its
// agent by exec at its first probe, as before.
const ProbeRunPath = ReservedDir + "/run"

// probeSocketName is the agent's socket in ProbeRunPath (the agent's
// SOCKET_PATH).
const probeSocketName = "probe.sock"

// probeRunMount is the tmpfs at ProbeRunPath: room for the socket and
// little else (a container must not gain a place to write much where its
// root filesystem is read-only), writable by every user (the agent runs
// as the container's user, whatever it is). A new task has a new one:
// no socket of a previous task is ever found there.
func probeRunMount() specs.Mount {
	return specs.Mount{Destination: ProbeRunPath, Type: "tmpfs", Source: "tmpfs",
		Options: []string{"nosuid", "nodev", "noexec", "mode=1777", "size=64k", "nr_inodes=64"}}
}

// hasLaunchedAgent reports whether a container's spec has its process
// launch the agent.
func hasLaunchedAgent(spec *specs.Spec) bool {
	return slices.ContainsFunc(spec.Mounts, func(m specs.Mount) bool { return m.Destination == ProbeRunPath && m.Type == "tmpfs" })
}

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

// launchedDialWait bounds how long a probe waits for the socket of a
// container's launched agent: it is made a few milliseconds after the
// task starts, so this is only reached when the agent could not start
// (a seccomp profile that refuses sockets, a pids limit) or was killed.
const launchedDialWait = time.Second

// launchedDialStep is the pause between attempts to connect.
const launchedDialStep = 5 * time.Millisecond

// launchedSocket is the socket of the agent launched in the task of pid,
// reached through its root.
func launchedSocket(pid uint32) string {
	return fmt.Sprintf("/proc/%d/root%s/%s", pid, ProbeRunPath, probeSocketName)
}

// dialLaunched connects to the agent's socket at path, trying again
// while it is not listening yet (the socket is missing or refuses), for
// wait at most.
func dialLaunched(ctx context.Context, path string, wait, step time.Duration) (net.Conn, error) {
	var deadline <-chan time.Time
	for {
		conn, err := net.Dial("unix", path)
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

// launchedFailureWait is how long after a launched agent could not be
// reached the probes of the same task start an agent by exec instead
// before its socket is tried again. A new task (the container restarted,
// and its new process launched a new agent) is tried at once.
const launchedFailureWait = time.Minute

// launchFailure is a launched agent that could not be reached.
type launchFailure struct {
	at      time.Time
	taskPid uint32
}

// launchedAgent is the agent launched in the container's task of pid,
// connected and greeted, unless it could not be reached within
// launchedFailureWait; nil and an error when there is none to use.
func (c *Client) launchedAgent(ctx context.Context, id string, pid uint32) (*runningAgent, error) {
	c.agents.mu.Lock()
	f, failed := c.agents.dialFailed[id]
	c.agents.mu.Unlock()
	if failed && f.taskPid == pid && time.Since(f.at) < launchedFailureWait {
		return nil, errors.New("probe agent: its socket failed a moment ago")
	}
	conn, err := dialLaunched(ctx, launchedSocket(pid), launchedDialWait, launchedDialStep)
	if err == nil {
		ac := newAgentConn(conn, conn)
		if err = ac.awaitHello(ctx, agentHelloWait); err != nil {
			conn.Close() //nolint:errcheck // it failed already
		} else {
			ag := &runningAgent{conn: ac, exited: ac.done, end: func() { conn.Close() }} //nolint:errcheck // nothing to do about it
			// Its end (the container's) closes the connection, whether
			// or not a probe comes to notice it.
			go func() { <-ac.done; conn.Close() }() //nolint:errcheck // nothing to do about it
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
	if ctx.Err() != nil {
		return nil, err
	}
	c.agents.mu.Lock()
	if c.agents.dialFailed == nil {
		c.agents.dialFailed = map[string]launchFailure{}
	}
	c.agents.dialFailed[id] = launchFailure{at: time.Now(), taskPid: pid}
	c.agents.mu.Unlock()
	return nil, err
}

// withLaunchableCommand keeps launchPrefix only where the command it is
// to execute is an executable file of the image: the launcher could only
// fail later, at its exec, where runc fails the start itself with its
// message. A command it cannot find in the image (not there, or on a
// volume or bind mount, which are not mounted yet) runs without the
// launcher, its agent then started by exec. It reads the container's
// snapshot, mounted read-only for the call, so it comes after every
// option that sets the process's arguments, environment and working
// directory.
func withLaunchableCommand() oci.SpecOpts {
	return func(ctx context.Context, client oci.Client, ctr *containers.Container, s *oci.Spec) error {
		if s.Process == nil || len(withoutLauncher(s.Process.Args)) == len(s.Process.Args) {
			return nil
		}
		args := withoutLauncher(s.Process.Args)
		if len(args) > 0 && args[0] == InitPath {
			return nil // berth's init, bound; it says itself what it cannot run
		}
		found := false
		if len(args) > 0 && ctr.SnapshotKey != "" {
			mounts, err := client.SnapshotService(ctr.Snapshotter).Mounts(ctx, ctr.SnapshotKey)
			if err != nil {
				return err
			}
			if err := mount.WithReadonlyTempMount(ctx, mounts, func(root string) error {
				found = findExecutable(root, args[0], s.Process.Env, s.Process.Cwd)
				return nil
			}); err != nil {
				return err
			}
		}
		if !found {
			s.Process.Args = args
			s.Mounts = slices.DeleteFunc(s.Mounts, func(m specs.Mount) bool { return m.Destination == ProbeRunPath })
		}
		return nil
	}
}

// findExecutable reports whether name resolves to an executable regular
// file in the filesystem at root as runc resolves a command: as it is
// (from cwd when relative) when it holds a slash, else in the PATH of
// env (an empty entry is cwd).
func findExecutable(root, name string, env []string, cwd string) bool {
	var candidates []string
	if strings.Contains(name, "/") {
		candidates = []string{name}
	} else {
		path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, "PATH="); ok {
				path = v
			}
		}
		for _, dir := range strings.Split(path, ":") {
			if dir == "" {
				dir = "."
			}
			candidates = append(candidates, dir+"/"+name)
		}
	}
	for _, c := range candidates {
		if !strings.HasPrefix(c, "/") {
			c = cwd + "/" + c
		}
		host, err := cfs.RootPath(root, c)
		if err != nil {
			continue
		}
		if st, err := os.Stat(host); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0 {
			return true
		}
	}
	return false
}
