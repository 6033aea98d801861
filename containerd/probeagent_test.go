package containerd

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
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

// frame is a frame of the agent's protocol: the length, then payload.
func frame(payload ...[]byte) []byte {
	p := bytes.Join(payload, nil)
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(p))), p...)
}

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

func TestEncodeAgentRequest(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		timeout time.Duration
		want    []byte
		wantErr string
	}{
		{"argv", []string{"true"}, 3 * time.Second, frame(u32(3000), []byte("true\x00")), ""},
		{"shell", []string{"/bin/sh", "-c", "wget -q http://x/"}, time.Second, frame(u32(1000), []byte("/bin/sh\x00-c\x00wget -q http://x/\x00")), ""},
		{"empty argument kept", []string{"printf", ""}, time.Second, frame(u32(1000), []byte("printf\x00\x00")), ""},
		{"sub-millisecond timeout", []string{"true"}, time.Microsecond, frame(u32(1), []byte("true\x00")), ""},
		{"huge timeout", []string{"true"}, 2000 * time.Hour, frame(u32(1<<32-1), []byte("true\x00")), ""},
		{"no args", nil, time.Second, nil, "no command"},
		{"empty command", []string{""}, time.Second, nil, "no command"},
		{"NUL", []string{"echo", "a\x00b"}, time.Second, nil, "NUL"},
		{"too long", []string{"echo", strings.Repeat("x", agentMaxRequest)}, time.Second, nil, "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := encodeAgentRequest(tt.args, tt.timeout)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("encodeAgentRequest(%q) error %v, want one with %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Fatalf("encodeAgentRequest(%q, %s) = %q, %v; want %q", tt.args, tt.timeout, got, err, tt.want)
			}
		})
	}
}

func TestReadAgentReply(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    agentReply
		wantErr error
	}{
		{"exited", frame([]byte{0}, u32(3), []byte("out\n")), agentReply{Kind: agentExited, Code: 3, Output: []byte("out\n")}, nil},
		{"no output", frame([]byte{1}, u32(0)), agentReply{Kind: agentTimedOut, Output: []byte{}}, nil},
		{"hello", frame([]byte{4}, u32(0), []byte(agentHello)), agentReply{Kind: agentHelloKind, Output: []byte(agentHello)}, nil},
		{"end", nil, agentReply{}, io.EOF},
		{"end in the length", []byte{0, 0}, agentReply{}, io.ErrUnexpectedEOF},
		{"end in the payload", frame([]byte{0}, u32(0), []byte("abc"))[:8], agentReply{}, io.ErrUnexpectedEOF},
		{"short payload", frame([]byte{0}), agentReply{}, nil},
		{"too long", frame([]byte{0}, u32(0), make([]byte, probeOutputLimit+1)), agentReply{}, nil},
		{"unknown kind", frame([]byte{9}, u32(0)), agentReply{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAgentReply(bytes.NewReader(tt.in))
			wantFail := tt.wantErr != nil || tt.want.Output == nil
			switch {
			case wantFail && err == nil:
				t.Fatalf("readAgentReply(%q) = %+v, want an error", tt.in, got)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("readAgentReply(%q) error %v, want %v", tt.in, err, tt.wantErr)
			case !wantFail && (err != nil || got.Kind != tt.want.Kind || got.Code != tt.want.Code || !bytes.Equal(got.Output, tt.want.Output)):
				t.Fatalf("readAgentReply(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

// fakeAgent serves the protocol over pipes: it greets with hello, and
// answers each request with what answer says (nothing at all, when it
// returns nil, and then it stops reading: a hung agent).
func fakeAgent(t *testing.T, hello []byte, answer func(args []string) []byte) *agentConn {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	t.Cleanup(func() { inR.Close(); outW.Close() })
	go func() {
		defer outW.Close()
		if _, err := outW.Write(hello); err != nil {
			return
		}
		for {
			var head [4]byte
			if _, err := io.ReadFull(inR, head[:]); err != nil {
				return
			}
			b := make([]byte, binary.BigEndian.Uint32(head[:]))
			if _, err := io.ReadFull(inR, b); err != nil {
				return
			}
			args := strings.Split(strings.TrimSuffix(string(b[4:]), "\x00"), "\x00")
			rep := answer(args)
			if rep == nil {
				return
			}
			if _, err := outW.Write(rep); err != nil {
				return
			}
		}
	}()
	return newAgentConn(inW, outR)
}

var helloFrame = frame([]byte{byte(agentHelloKind)}, u32(0), []byte(agentHello))

func TestAgentConn(t *testing.T) {
	ctx := context.Background()
	t.Run("replies in turn", func(t *testing.T) {
		a := fakeAgent(t, helloFrame, func(args []string) []byte {
			return frame([]byte{0}, u32(uint32(len(args))), []byte(strings.Join(args, " ")))
		})
		if err := a.awaitHello(ctx, time.Minute); err != nil {
			t.Fatalf("awaitHello: %v", err)
		}
		for _, args := range [][]string{{"true"}, {"/bin/sh", "-c", "exit 3"}} {
			rep, err := a.run(ctx, args, time.Second, time.Minute)
			if err != nil || rep.Kind != agentExited || rep.Code != uint32(len(args)) || string(rep.Output) != strings.Join(args, " ") {
				t.Errorf("run(%q) = %+v, %v", args, rep, err)
			}
		}
	})
	t.Run("wrong greeting", func(t *testing.T) {
		a := fakeAgent(t, frame([]byte{byte(agentHelloKind)}, u32(0), []byte("berth-probe/0")), nil)
		if err := a.awaitHello(ctx, time.Minute); err == nil || !strings.Contains(err.Error(), "berth-probe/0") {
			t.Errorf("awaitHello = %v, want an error naming the greeting", err)
		}
	})
	t.Run("no greeting", func(t *testing.T) {
		r, w := io.Pipe() // never written to
		t.Cleanup(func() { w.Close() })
		a := newAgentConn(io.Discard, r)
		if err := a.awaitHello(ctx, time.Millisecond); err == nil {
			t.Error("awaitHello of a silent agent succeeded")
		}
	})
	t.Run("gone before replying", func(t *testing.T) {
		a := fakeAgent(t, helloFrame, func([]string) []byte { return nil })
		a.awaitHello(ctx, time.Minute) //nolint:errcheck // checked above
		if _, err := a.run(ctx, []string{"true"}, time.Second, time.Minute); !errors.Is(err, errAgentGone) {
			t.Errorf("run = %v, want errAgentGone", err)
		}
	})
	t.Run("hung", func(t *testing.T) {
		hang := make(chan struct{})
		t.Cleanup(func() { close(hang) })
		a := fakeAgent(t, helloFrame, func([]string) []byte { <-hang; return nil })
		a.awaitHello(ctx, time.Minute) //nolint:errcheck // checked above
		if _, err := a.run(ctx, []string{"true"}, time.Millisecond, 0); !errors.Is(err, errAgentHung) {
			t.Errorf("run = %v, want errAgentHung", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		hang := make(chan struct{})
		t.Cleanup(func() { close(hang) })
		a := fakeAgent(t, helloFrame, func([]string) []byte { <-hang; return nil })
		a.awaitHello(ctx, time.Minute) //nolint:errcheck // checked above
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := a.run(cctx, []string{"true"}, time.Minute, time.Minute); !errors.Is(err, context.Canceled) {
			t.Errorf("run = %v, want context.Canceled", err)
		}
	})
	t.Run("bad request is not sent", func(t *testing.T) {
		a := fakeAgent(t, helloFrame, func([]string) []byte { t.Error("the agent got a request"); return nil })
		a.awaitHello(ctx, time.Minute) //nolint:errcheck // checked above
		if _, err := a.run(ctx, []string{"a\x00"}, time.Second, time.Minute); err == nil || errors.Is(err, errAgentGone) {
			t.Errorf("run = %v, want an encoding error", err)
		}
	})
}

func TestAgentNoStartReason(t *testing.T) {
	tests := []struct {
		name  string
		errno syscall.Errno
		want  string
	}{
		{"nosuch", syscall.ENOENT, `exec: "nosuch": executable file not found in $PATH`},
		{"/bin/nosuch", syscall.ENOENT, `exec: "/bin/nosuch": no such file or directory`},
		{"/etc", syscall.EACCES, `exec: "/etc": permission denied`},
	}
	for _, tt := range tests {
		if got := agentNoStartReason([]string{tt.name}, uint32(tt.errno)); got != tt.want {
			t.Errorf("agentNoStartReason(%q, %v) = %q, want %q", tt.name, tt.errno, got, tt.want)
		}
	}
}

func TestProbeAgentMount(t *testing.T) {
	svc := compose.Service{Name: "a", Command: []string{"sleep", "1"}}
	for _, agent := range []string{"", "/usr/local/bin/berth-probe"} {
		s := genSpec(t, specInput{Name: "a-1", Image: v1.ImageConfig{Cmd: []string{"sh"}}, Service: &svc, ProbeAgent: agent})
		bound := slices.ContainsFunc(s.Mounts, func(m specs.Mount) bool {
			return m.Destination == ProbeAgentPath && m.Source == agent && slices.Contains(m.Options, "ro")
		})
		if bound != (agent != "") || hasProbeAgent(s) != (agent != "") {
			t.Errorf("agent %q: bound read-only %v, hasProbeAgent %v: %+v", agent, bound, hasProbeAgent(s), s.Mounts)
		}
	}
}

// buildAgent compiles probeagent/agent.c into dir, as the Makefile does
// (static) or, where the C library has no static archive, dynamically.
func buildAgent(t *testing.T, static bool) string {
	t.Helper()
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler (cc): the probe agent's tests need one (apt-get install gcc libc6-dev)")
	}
	out := filepath.Join(t.TempDir(), ProbeAgentName)
	args := []string{"-Os", "-Wall", "-Wextra", "-Werror", "-o", out, filepath.Join("..", "probeagent", "agent.c")}
	if static {
		args = append([]string{"-static"}, args...)
	}
	if b, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
		if static {
			t.Skipf("cc -static: %v: %s", err, b)
		}
		t.Fatalf("cc: %v: %s", err, b)
	}
	return out
}

func TestCheckProbeAgent(t *testing.T) {
	dynamic := buildAgent(t, false)
	if err := checkProbeAgent(dynamic); err == nil || !strings.Contains(err.Error(), "static") {
		t.Errorf("checkProbeAgent(dynamic) = %v, want a refusal asking for a static build", err)
	}
	if got := FindProbeAgent(filepath.Join(filepath.Dir(dynamic), "berth")); got != "" {
		t.Errorf("FindProbeAgent beside a dynamic agent = %q, want none", got)
	}
	if got := FindProbeAgent(filepath.Join(t.TempDir(), "berth")); got != "" {
		t.Errorf("FindProbeAgent with no agent = %q, want none", got)
	}
	static := buildAgent(t, true)
	if got := FindProbeAgent(filepath.Join(filepath.Dir(static), "berth")); got != static {
		t.Errorf("FindProbeAgent = %q, want %q", got, static)
	}
}

// hostAgent runs the agent built from source on the host, its input and
// output through pipes, as containerd's exec gives them to it.
type hostAgent struct {
	cmd  *exec.Cmd
	conn *agentConn
	in   io.WriteCloser
	out  io.Reader
}

func startHostAgent(t *testing.T, bin string, env []string, dir string) *hostAgent {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env, cmd.Dir = env, dir
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); cmd.Process.Kill(); cmd.Wait() }) //nolint:errcheck // it may have exited
	h := &hostAgent{cmd: cmd, in: in, out: out, conn: newAgentConn(in, out)}
	if err := h.conn.awaitHello(context.Background(), time.Minute); err != nil {
		t.Fatalf("agent: %v", err)
	}
	return h
}

func (h *hostAgent) run(t *testing.T, timeout time.Duration, args ...string) agentReply {
	t.Helper()
	rep, err := h.conn.run(context.Background(), args, timeout, time.Minute)
	if err != nil {
		t.Fatalf("run %q: %v", args, err)
	}
	return rep
}

// processState is the state letter of a process in /proc ("Z" for a
// zombie), or "" when it is gone.
func processState(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i > 0 && len(s) > i+2 {
		return s[i+2 : i+3]
	}
	return ""
}

// TestHostAgent drives the C agent through its protocol on the host.
func TestHostAgent(t *testing.T) {
	dir := t.TempDir()
	h := startHostAgent(t, buildAgent(t, false), []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "PROBE_VAR=from-exec"}, dir)
	tests := []struct {
		name   string
		args   []string
		kind   agentReplyKind
		code   uint32
		output string
	}{
		{"success", []string{"true"}, agentExited, 0, ""},
		{"exit code", []string{"/bin/sh", "-c", "exit 3"}, agentExited, 3, ""},
		{"stdout and stderr", []string{"/bin/sh", "-c", "echo out; echo err >&2"}, agentExited, 0, "out\nerr\n"},
		{"environment and working directory", []string{"/bin/sh", "-c", "echo $PROBE_VAR; pwd"}, agentExited, 0, "from-exec\n" + dir + "\n"},
		{"arguments as given", []string{"printf", "%s|", "a b", "", "c"}, agentExited, 0, "a b||c|"},
		{"stdin is empty", []string{"cat"}, agentExited, 0, ""},
		{"killed by a signal", []string{"/bin/sh", "-c", "kill -9 $$"}, agentExited, 128 + 9, ""},
		{"not found", []string{"no-such-probe-command"}, agentNoStart, uint32(syscall.ENOENT), ""},
		{"not found by path", []string{"/no/such/probe"}, agentNoStart, uint32(syscall.ENOENT), ""},
		{"not executable", []string{dir}, agentNoStart, uint32(syscall.EACCES), ""},
		{"flood", []string{"/bin/sh", "-c", "head -c 10000000 /dev/zero | tr '\\0' x; echo done >&2"}, agentExited, 0, strings.Repeat("x", probeOutputLimit)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := h.run(t, time.Minute, tt.args...)
			if rep.Kind != tt.kind || rep.Code != tt.code || (tt.kind != agentNoStart && string(rep.Output) != tt.output) {
				t.Errorf("run %q = kind %d code %d output %q, want kind %d code %d output %q", tt.args, rep.Kind, rep.Code, rep.Output, tt.kind, tt.code, tt.output)
			}
		})
	}

	t.Run("timeout kills the process group", func(t *testing.T) {
		pidFile := filepath.Join(dir, "bg.pid")
		rep := h.run(t, 200*time.Millisecond, "/bin/sh", "-c", "sleep 600 & echo $! > "+pidFile+"; sleep 600")
		if rep.Kind != agentTimedOut {
			t.Fatalf("reply %+v, want a timeout", rep)
		}
		b, err := os.ReadFile(pidFile)
		if err != nil {
			t.Fatal(err)
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		// Killed: it ends (a busy machine takes a moment to run the
		// kill), and is gone or a zombie its new parent has yet to reap.
		if fd, err := unix.PidfdOpen(pid, 0); err == nil {
			unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 30000) //nolint:errcheck // the state below tells
			unix.Close(fd)
		}
		if st := processState(pid); st != "" && st != "Z" {
			syscall.Kill(pid, syscall.SIGKILL) //nolint:errcheck // the test failed anyway
			t.Errorf("the probe's background child %d is still running (state %s)", pid, st)
		}
		// The agent serves the next request as before.
		if rep := h.run(t, time.Minute, "true"); rep.Kind != agentExited || rep.Code != 0 {
			t.Errorf("after a timeout: %+v", rep)
		}
	})

	t.Run("a child holding the output open", func(t *testing.T) {
		pidFile := filepath.Join(dir, "linger.pid")
		rep := h.run(t, time.Minute, "/bin/sh", "-c", "sleep 600 & echo $! > "+pidFile+"; echo hi")
		b, _ := os.ReadFile(pidFile)
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			syscall.Kill(pid, syscall.SIGKILL) //nolint:errcheck // cleanup
		}
		if rep.Kind != agentExited || rep.Code != 0 || string(rep.Output) != "hi\n" {
			t.Errorf("reply %+v, want exit 0 with hi", rep)
		}
	})

	t.Run("no descriptors leak", func(t *testing.T) {
		fds := func() int {
			e, err := os.ReadDir("/proc/" + strconv.Itoa(h.cmd.Process.Pid) + "/fd")
			if err != nil {
				t.Fatal(err)
			}
			return len(e)
		}
		before := fds()
		for range 50 {
			h.run(t, time.Minute, "/bin/sh", "-c", "echo x")
			h.run(t, time.Minute, "no-such-probe-command")
		}
		if after := fds(); after != before {
			t.Errorf("the agent holds %d descriptors after 100 probes, %d before", after, before)
		}
	})

	t.Run("exits when its input ends", func(t *testing.T) {
		h.in.Close()
		if err := h.cmd.Wait(); err != nil {
			t.Errorf("agent exit: %v, want status 0", err)
		}
	})
}

// TestHostAgentBadRequest: a request it cannot read gets a reply saying
// so, and the agent exits.
func TestHostAgentBadRequest(t *testing.T) {
	bin := buildAgent(t, false)
	for name, req := range map[string][]byte{
		"no NUL at the end": frame(u32(1000), []byte("true")),
		"empty command":     frame(u32(1000), []byte("\x00")),
		"too long":          u32(agentMaxRequest + 1),
	} {
		t.Run(name, func(t *testing.T) {
			h := startHostAgent(t, bin, nil, "")
			if _, err := h.in.Write(req); err != nil {
				t.Fatal(err)
			}
			rep, ok := <-h.conn.replies
			if !ok || rep.Kind != agentBadRequest {
				t.Errorf("reply %+v (%v), want a bad request", rep, ok)
			}
			if _, ok := <-h.conn.replies; ok {
				t.Error("the agent replied again")
			}
			if err := h.cmd.Wait(); err == nil {
				t.Error("agent exited with status 0, want a failure")
			}
		})
	}
}

// BenchmarkHostAgent is one probe of true through the agent on the host:
// the agent's own cost (fork, exec, pipes), without containerd's shim
// between it and berth.
func BenchmarkHostAgent(b *testing.B) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		b.Skip("no C compiler")
	}
	bin := filepath.Join(b.TempDir(), ProbeAgentName)
	if out, err := exec.Command(cc, "-static", "-Os", "-o", bin, filepath.Join("..", "probeagent", "agent.c")).CombinedOutput(); err != nil {
		b.Fatalf("cc: %v: %s", err, out)
	}
	cmd := exec.Command(bin)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { in.Close(); cmd.Wait() }() //nolint:errcheck // it exits at the end of its input
	conn := newAgentConn(in, out)
	if err := conn.awaitHello(context.Background(), time.Minute); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if rep, err := conn.run(context.Background(), []string{"true"}, time.Minute, time.Minute); err != nil || rep.Code != 0 {
			b.Fatalf("run: %+v, %v", rep, err)
		}
	}
	b.StopTimer()
	// The CPU of the agent and of the probes it reaped, in clock ticks.
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/stat")
	if err != nil {
		b.Fatal(err)
	}
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+2:]))
	var ticks float64
	for _, v := range f[11:15] { // utime, stime, cutime, cstime
		n, _ := strconv.Atoi(v)
		ticks += float64(n)
	}
	b.ReportMetric(ticks*10/float64(b.N), "cpu-ms/op") // USER_HZ is 100
}
