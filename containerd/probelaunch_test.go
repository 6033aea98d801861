package containerd

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berth/berth/compose"
)

func TestLaunchSpec(t *testing.T) {
	yes := true
	tests := []struct {
		name          string
		agent         string
		launch        bool
		init          bool
		wantArgs      string
		wantRunMount  bool
		wantAgentBind bool
	}{
		{"no healthcheck", "", true, false, "sleep 1", false, false},
		{"agent by exec (pid namespace shared)", "/b/berth-probe", false, false, "sleep 1", false, true},
		{"launched", "/b/berth-probe", true, false, ProbeAgentPath + " launch -- sleep 1", true, true},
		{"launched before init", "/b/berth-probe", true, true, ProbeAgentPath + " launch -- " + InitPath + " -- sleep 1", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := compose.Service{Name: "a", Command: []string{"sleep", "1"}}
			if tt.init {
				svc.Init = &yes
			}
			s := genSpec(t, specInput{Name: "a-1", Image: v1.ImageConfig{Cmd: []string{"sh"}}, Service: &svc, ProbeAgent: tt.agent, LaunchAgent: tt.launch, InitBinary: "/b/berth"})
			if got := strings.Join(s.Process.Args, " "); got != tt.wantArgs {
				t.Errorf("args %q, want %q", got, tt.wantArgs)
			}
			if got := strings.Join(withoutInit(s.Process.Args), " "); got != "sleep 1" {
				t.Errorf("withoutInit(%q) = %q, want the service's command", s.Process.Args, got)
			}
			i := slices.IndexFunc(s.Mounts, func(m specs.Mount) bool { return m.Destination == ProbeRunPath })
			if (i >= 0) != tt.wantRunMount {
				t.Fatalf("mount at %s: %v, want %v: %+v", ProbeRunPath, i >= 0, tt.wantRunMount, s.Mounts)
			}
			if i >= 0 {
				m := s.Mounts[i]
				if m.Type != "tmpfs" || !slices.Contains(m.Options, "noexec") || !slices.Contains(m.Options, "nosuid") || !slices.Contains(m.Options, "size=64k") {
					t.Errorf("mount %+v, want a small tmpfs, noexec, nosuid", m)
				}
			}
			if hasLaunchedAgent(s) != tt.wantRunMount {
				t.Errorf("hasLaunchedAgent = %v, want %v", hasLaunchedAgent(s), tt.wantRunMount)
			}
			if hasProbeAgent(s) != tt.wantAgentBind {
				t.Errorf("hasProbeAgent = %v, want %v", hasProbeAgent(s), tt.wantAgentBind)
			}
		})
	}
}

func TestWithoutLauncher(t *testing.T) {
	tests := []struct{ args, want string }{
		{"sleep 10", "sleep 10"},
		{ProbeAgentPath + " launch -- sleep 10", "sleep 10"},
		{ProbeAgentPath + " launch -- " + InitPath + " --keep-stdin -- cat", InitPath + " --keep-stdin -- cat"},
		{ProbeAgentPath + " serve", ProbeAgentPath + " serve"},
		{ProbeAgentPath + " launch", ProbeAgentPath + " launch"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := strings.Join(withoutLauncher(strings.Fields(tt.args)), " "); got != tt.want {
			t.Errorf("withoutLauncher(%q) = %q, want %q", tt.args, got, tt.want)
		}
	}
	if !keepsStdin(strings.Fields(ProbeAgentPath + " launch -- " + InitPath + " --keep-stdin -- cat")) {
		t.Errorf("keepsStdin of a launched command with init --keep-stdin = false")
	}
}

func TestOwnPIDNamespace(t *testing.T) {
	for mode, want := range map[compose.NamespaceMode]bool{"": true, "private": true, "shareable": true, "host": false, "service:db": false, "container:x": false} {
		if got := ownPIDNamespace(mode); got != want {
			t.Errorf("ownPIDNamespace(%q) = %v, want %v", mode, got, want)
		}
	}
}

// launchAgent builds the agent with its paths in a directory of the
// test's (the real ones are the container's), and returns it and the
// directory of its socket.
func launchAgent(t *testing.T) (bin, run string) {
	t.Helper()
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler (cc): the probe agent's tests need one (apt-get install gcc libc6-dev)")
	}
	dir := t.TempDir()
	bin, run = filepath.Join(dir, ProbeAgentName), filepath.Join(dir, "run")
	if err := os.Mkdir(run, 0o700); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(run, probeSocketName)
	if len(sock) >= 100 {
		t.Skipf("temporary directory %s too deep for a socket's path", dir)
	}
	args := []string{"-Os", "-Wall", "-Wextra", "-Werror", `-DAGENT_PATH="` + bin + `"`, `-DSOCKET_PATH="` + sock + `"`, "-o", bin, filepath.Join("..", "probeagent", "agent.c")}
	if b, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
		t.Fatalf("cc: %v: %s", err, b)
	}
	return bin, run
}

// peerPid is the pid of the process at the other end of a unix socket.
func peerPid(t *testing.T, c net.Conn) int {
	t.Helper()
	raw, err := c.(*net.UnixConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var cred *unix.Ucred
	var serr error
	if err := raw.Control(func(fd uintptr) { cred, serr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED) }); err != nil || serr != nil {
		t.Fatalf("SO_PEERCRED: %v %v", err, serr)
	}
	return int(cred.Pid)
}

// killAndWait kills pid and waits until it is gone: the next test's
// agent binds the same socket, and must not find this one's.
func killAndWait(t *testing.T, pid int) {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return // gone already
	}
	defer unix.Close(fd) //nolint:errcheck // read-only use
	if err := unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0); err != nil {
		return
	}
	// A pidfd turns readable when its process has exited.
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		if _, err := unix.Poll(fds, 10_000); err != unix.EINTR {
			if err != nil || fds[0].Revents == 0 {
				t.Errorf("agent %d did not end: %v", pid, err)
			}
			return
		}
	}
}

// dialAgent connects to the launched agent in run and waits for its
// greeting; the agent is killed at the test's end (on the host it has no
// pid namespace to end with its launcher).
func dialAgent(t *testing.T, run string) (*agentConn, int) {
	t.Helper()
	conn, err := dialLaunched(context.Background(), filepath.Join(run, probeSocketName), 10*time.Second, time.Millisecond)
	if err != nil {
		t.Fatalf("dialLaunched: %v", err)
	}
	pid := peerPid(t, conn)
	t.Cleanup(func() {
		conn.Close() //nolint:errcheck // done with it
		killAndWait(t, pid)
	})
	ac := newAgentConn(conn, conn)
	if err := ac.awaitHello(context.Background(), time.Minute); err != nil {
		t.Fatalf("launched agent's greeting: %v", err)
	}
	return ac, pid
}

// TestLaunchedAgent: launch runs the command in its own place (its pid,
// exit status, signals) and leaves an agent behind it that serves probes
// over its socket, to more than one client, with none of the command's
// streams.
func TestLaunchedAgent(t *testing.T) {
	bin, run := launchAgent(t)
	// A stale socket (the previous task's) is replaced: until then it
	// refuses, and the dial tries again.
	stale, err := net.Listen("unix", filepath.Join(run, probeSocketName))
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close() //nolint:errcheck // leaves the socket file behind, refusing

	pidFile := filepath.Join(t.TempDir(), "pid")
	cmd := exec.Command(bin, "launch", "--", "sh", "-c", `echo $$ > "$0"; read x; exit 7`, pidFile)
	// The command's output is a file: the agent must not hold it.
	out, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() //nolint:errcheck // it may have exited
	agent, agentPid := dialAgent(t, run)
	rep, err := agent.run(context.Background(), []string{"sh", "-c", `echo ppid=$PPID; echo err >&2; exit 3`}, 10*time.Second, time.Minute)
	if err != nil || rep.Kind != agentExited || rep.Code != 3 || string(rep.Output) != "ppid="+strconv.Itoa(agentPid)+"\nerr\n" {
		t.Errorf("probe through the launched agent: %+v %q %v; want exit 3 from the agent's child with its output", rep, rep.Output, err)
	}
	// The agent is the command's child, out of its session, with none of
	// its streams, and shows as the agent's serve mode.
	stat, _ := os.ReadFile("/proc/" + strconv.Itoa(agentPid) + "/stat")
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	if len(f) < 4 || f[1] != strconv.Itoa(cmd.Process.Pid) || f[3] != strconv.Itoa(agentPid) {
		t.Errorf("agent's stat %q: want its parent %d (the command) and a session of its own", stat, cmd.Process.Pid)
	}
	for _, fd := range []string{"0", "1", "2"} {
		if l, _ := os.Readlink("/proc/" + strconv.Itoa(agentPid) + "/fd/" + fd); l != "/dev/null" {
			t.Errorf("agent's fd %s is %q, want /dev/null", fd, l)
		}
	}
	if b, _ := os.ReadFile("/proc/" + strconv.Itoa(agentPid) + "/cmdline"); string(b) != bin+"\x00serve\x00" {
		t.Errorf("agent's command line %q, want %q serve", b, bin)
	}
	// A second client (the next project process) is served beside the
	// first.
	second, pid2 := dialAgent(t, run)
	if pid2 != agentPid {
		t.Errorf("second connection reached pid %d, want the agent %d", pid2, agentPid)
	}
	for i, c := range []*agentConn{second, agent} {
		if rep, err := c.run(context.Background(), []string{"true"}, 10*time.Second, time.Minute); err != nil || rep.Kind != agentExited || rep.Code != 0 {
			t.Errorf("client %d: %+v %v, want exit 0", i, rep, err)
		}
	}
	// The command kept the launcher's pid, and its exit status is the
	// launcher's.
	b, err := os.ReadFile(pidFile)
	if err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(cmd.Process.Pid) {
		t.Errorf("command's pid %q (%v), want the launcher's %d", b, err, cmd.Process.Pid)
	}
	stdin.Close() //nolint:errcheck // ends the command's read
	var ee *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &ee) || ee.ExitCode() != 7 {
		t.Errorf("launched command ended with %v, want exit status 7", err)
	}
}

// TestLaunchExit: the launched command's end is the launcher's, signals
// included; a command that cannot run fails as runc says: one it cannot
// find as runc's start fails (127 or 126), one found that the kernel
// cannot execute as runc's init fails after the start (status 1).
func TestLaunchExit(t *testing.T) {
	bin, run := launchAgent(t)
	dir := t.TempDir()
	for name, content := range map[string]string{
		"garbage": "not\x01an\x02executable\n",
		"script":  "#!/no/such/interpreter\necho hi\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// In $PATH, one that is not executable is passed over, as by runc.
	if err := os.Mkdir(filepath.Join(dir, "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a", "garbage"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	garbage, script := filepath.Join(dir, "garbage"), filepath.Join(dir, "script")
	tests := []struct {
		name     string
		args     []string
		signal   syscall.Signal
		wantCode int
		wantSig  syscall.Signal
		wantErr  string
	}{
		{"exit status", []string{"sh", "-c", "exit 5"}, 0, 5, 0, ""},
		{"signal", []string{"sleep", "60"}, syscall.SIGTERM, -1, syscall.SIGTERM, ""},
		{"not found", []string{"no-such-command"}, 0, 127, 0, `exec: "no-such-command": executable file not found in $PATH`},
		{"path not found", []string{"/no/such/command"}, 0, 127, 0, `exec: "/no/such/command": stat /no/such/command: no such file or directory`},
		{"not executable", []string{"/dev/null"}, 0, 126, 0, `exec: "/dev/null": permission denied`},
		{"a directory", []string{"/"}, 0, 126, 0, `exec: "/": is a directory`},
		{"exec format error", []string{garbage}, 0, 1, 0, "exec " + garbage + ": exec format error\n"},
		{"exec format error in PATH", []string{"garbage"}, 0, 1, 0, "exec " + garbage + ": exec format error\n"},
		{"no interpreter", []string{script}, 0, 1, 0, "exec " + script + ": no such file or directory\n"},
		{"no command", nil, 0, 127, 0, "no command to run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin, append([]string{"launch", "--"}, tt.args...)...)
			cmd.Env = append(os.Environ(), "PATH="+filepath.Join(dir, "a")+":"+dir+":/usr/bin:/bin")
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if tt.args != nil {
				// Its agent; killed at the end (no pid namespace here).
				dialAgent(t, run)
				if tt.signal != 0 {
					cmd.Process.Signal(tt.signal) //nolint:errcheck // Wait says
				}
			}
			err := cmd.Wait()
			ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if tt.wantSig != 0 {
				if !ws.Signaled() || ws.Signal() != tt.wantSig {
					t.Errorf("ended %v, want killed by %v", err, tt.wantSig)
				}
				return
			}
			if ws.ExitStatus() != tt.wantCode || !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("ended %v with %q, want exit %d and %q", err, stderr.String(), tt.wantCode, tt.wantErr)
			}
		})
	}
}

// TestLaunchedAgentLastChild: a launched command that waits for all of
// its children until there is none (a reaper) is not held up by the
// agent, its child: the agent stays while the command waits for another
// child (and watches that child's end), and exits once the command waits
// for it alone, whether the children ended by themselves or the reaper
// ended them on a signal. A command that does not wait keeps its agent
// (TestLaunchedAgent).
func TestLaunchedAgentLastChild(t *testing.T) {
	perl, err := exec.LookPath("perl")
	if err != nil {
		t.Skip("no perl: the reapers of this test are perl")
	}
	bin, run := launchAgent(t)
	tests := []struct {
		name   string
		script string
		term   bool
		want   int
	}{
		{"children end", `for (1..2) { exec "true" unless fork } 1 while wait() != -1; exit 5`, false, 5},
		{"ended on TERM", `$SIG{TERM} = sub { kill "TERM", @k }; for (1..2) { my $c = fork; exec "sleep", "600" unless $c; push @k, $c } 1 while wait() != -1; exit 7`, true, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin, "launch", "--", perl, "-e", tt.script)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill() //nolint:errcheck // it may have exited
			agent, agentPid := dialAgent(t, run)
			if tt.term {
				// While the reaper waits for its children, the agent
				// serves, and watches one of them (a pidfd) for its end.
				if rep, err := agent.run(context.Background(), []string{"true"}, 10*time.Second, time.Minute); err != nil || rep.Kind != agentExited {
					t.Fatalf("probe while the reaper waits for its children: %+v %v", rep, err)
				}
				waitPidfd(t, agentPid)
				cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // Wait says
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(time.Minute): // only a fail-safe: it ends in a second or two
				cmd.Process.Kill() //nolint:errcheck // it is stuck
				<-done
				t.Fatalf("the reaper did not end: its agent %d held it up", agentPid)
			}
			if code := cmd.ProcessState.ExitCode(); code != tt.want {
				t.Errorf("reaper ended %v (%q), want exit %d", cmd.ProcessState, stderr.String(), tt.want)
			}
		})
	}
}

// waitPidfd waits until process pid holds a pidfd.
func waitPidfd(t *testing.T, pid int) {
	t.Helper()
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		fds, _ := os.ReadDir(dir)
		for _, fd := range fds {
			if l, _ := os.Readlink(filepath.Join(dir, fd.Name())); l == "anon_inode:[pidfd]" {
				return
			}
		}
	}
	t.Fatalf("agent %d holds no pidfd of its parent's other child", pid)
}

func TestDialLaunched(t *testing.T) {
	sock := filepath.Join(t.TempDir(), probeSocketName)
	// No agent: tried until the wait ends.
	if _, err := dialLaunched(context.Background(), sock, 20*time.Millisecond, time.Millisecond); err == nil || !errors.Is(err, syscall.ENOENT) {
		t.Errorf("no socket: %v, want ENOENT at the wait's end", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := dialLaunched(ctx, sock, time.Hour, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v, want its context's error", err)
	}
	// Any other error: no waiting.
	if _, err := dialLaunched(context.Background(), strings.Repeat("x", 200), time.Hour, time.Hour); err == nil {
		t.Errorf("a path too long for a socket: no error")
	}
	if got, want := launchedSocket(42), "/proc/42/root/.berth/run/probe.sock"; got != want {
		t.Errorf("launchedSocket(42) = %q, want %q", got, want)
	}
}

func TestFindExecutable(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"bin", "usr/bin", "app", "opt"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p string, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(root, p), []byte("x"), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("bin/busybox", 0o755)
	write("app/run", 0o755)
	write("usr/bin/data", 0o644)
	// An absolute link resolves inside the root, not on the host.
	if err := os.Symlink("/bin/busybox", filepath.Join(root, "bin/sh")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/nonexistent-on-the-host-too", filepath.Join(root, "bin/dangling")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/bin", filepath.Join(root, "opt/bin")); err != nil {
		t.Fatal(err)
	}
	path := []string{"PATH=/usr/bin:/bin"}
	tests := []struct {
		name, cmd string
		env       []string
		cwd       string
		want      bool
	}{
		{"in PATH", "busybox", path, "/", true},
		{"link in PATH", "sh", path, "/", true},
		{"dangling link", "dangling", path, "/", false},
		{"not executable", "data", path, "/", false},
		{"missing", "nope", path, "/", false},
		{"not in PATH", "run", path, "/", false},
		{"absolute", "/app/run", path, "/", true},
		{"relative to cwd", "./run", path, "/app", true},
		{"empty PATH entry is cwd", "run", []string{"PATH=/usr/bin:"}, "/app", true},
		{"default PATH", "busybox", nil, "/", true},
		{"through a linked directory", "/opt/bin/busybox", path, "/", true},
		{"a directory", "/app", path, "/", false},
		{"escape attempt", "../../../../bin/busybox", path, "/app", true}, // resolved inside the root
	}
	for _, tt := range tests {
		if got := findExecutable(root, tt.cmd, tt.env, tt.cwd); got != tt.want {
			t.Errorf("findExecutable(%q, env %q, cwd %q) = %v, want %v", tt.cmd, tt.env, tt.cwd, got, tt.want)
		}
	}
}
