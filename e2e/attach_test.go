//go:build e2e

package e2e

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// attach runs berth -p NAME attach ARGS... in the background with stdin
// as its standard input; wait returns its exit code and output.
func (p *project) attach(stdin io.Reader, args ...string) (cmd *exec.Cmd, out *syncBuffer, wait func() (int, string)) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	cmd = exec.CommandContext(ctx, berthBin, append(append(globalArgs(), "-p", p.name, "attach"), args...)...)
	cmd.Dir = p.dir
	cmd.Stdin = stdin
	out = &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		cancel()
		p.t.Fatal(err)
	}
	return cmd, out, func() (int, string) {
		defer cancel()
		err := cmd.Wait()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), out.String()
		}
		if err != nil {
			p.t.Fatalf("attach %v: %v", args, err)
		}
		return 0, out.String()
	}
}

// TestAttachService: attach passes input to a stdin_open container and
// shows its output until it exits, with its exit code; the detach keys
// leave it running; --sig-proxy passes Ctrl-C's SIGINT on; --no-stdin
// passes nothing; a stopped service and bad flags fail clearly.
func TestAttachService(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  echo:
    image: `+testImage+`
    stdin_open: true
    stop_signal: SIGKILL
    command: ["sh", "-c", "(while true; do echo beat; sleep 0.2; done) & while read l; do echo got:$$l; [ \"$$l\" = quit ] && echo bye >&2 && exit 3; done"]
  ticker:
    image: `+testImage+`
    command: ["sh", "-c", "trap 'echo interrupted; exit 5' INT; while true; do echo tick; sleep 0.1; done"]
`, nil)
	p.must("up", "-d")

	// Input in, output out, the container's exit code back.
	pr, pw := io.Pipe()
	_, _, wait := p.attach(pr, "echo")
	go func() {
		io.WriteString(pw, "hello\nquit\n") //nolint:errcheck // the test reads the result
		pw.Close()
	}()
	code, out := wait()
	if code != 3 || !strings.Contains(out, "got:hello\n") || !strings.Contains(out, "got:quit\n") || !strings.Contains(out, "bye") {
		t.Errorf("attach echo: exit %d, output %q; want 3 and the lines", code, out)
	}

	// The detach keys end attach, the container runs on.
	p.must("start", "echo")
	_, _, wait = p.attach(strings.NewReader("ping\n\x10\x11quit\n"), "echo")
	code, out = wait()
	if code != 0 || strings.Contains(out, "got:quit") {
		t.Errorf("attach echo, detached: exit %d, output %q", code, out)
	}
	if r := p.must("exec", "-T", "echo", "true"); r.code != 0 {
		t.Errorf("echo stopped after a detach")
	}

	// --no-stdin: the input is not passed on.
	_, out2, wait := p.attach(strings.NewReader("quit\n"), "--no-stdin", "echo")
	p.waitFor("attach --no-stdin to show output", 30*time.Second, func() bool { return strings.Contains(out2.String(), "beat") })
	p.must("kill", "echo")
	code, out = wait()
	if code != 137 || strings.Contains(out, "got:quit") {
		t.Errorf("attach --no-stdin echo: exit %d, output %q; want 137 and no input passed", code, out2.String())
	}

	// Ctrl-C goes to the container, which ends as it says.
	cmd, tickOut, wait := p.attach(nil, "ticker")
	p.waitFor("ticks", 30*time.Second, func() bool { return strings.Contains(tickOut.String(), "tick") })
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	code, out = wait()
	if code != 5 || !strings.Contains(out, "interrupted") {
		t.Errorf("attach ticker, interrupted: exit %d, output %q; want 5 and the trap's line", code, out)
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"attach", "ticker"}, `service "ticker" is not running`},
		{[]string{"attach", "nope"}, `"nope"`},
		{[]string{"attach", "--detach-keys", "alt-x", "echo"}, `--detach-keys "alt-x"`},
	} {
		if r := p.byName(tt.args...); r.code == 0 || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("want an error saying %q: %s", tt.want, r)
		}
	}
}

// TestAttachTTY: attach to a tty: true container from a terminal passes
// what is typed to the container's terminal (the program sees a tty), the
// detach keys ctrl-p ctrl-q leave it running, and a later attach ends with
// its exit code.
func TestAttachTTY(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  term:
    image: `+testImage+`
    tty: true
    stdin_open: true
    stop_signal: SIGKILL
    command: ["sh", "-c", "while read l; do if [ -t 0 ]; then echo got-tty-$$l; fi; [ \"$$l\" = quit ] && exit 4; done"]
`, nil)
	p.must("up", "-d")

	attach := func() (*exec.Cmd, *os.File, *syncBuffer) {
		t.Helper()
		master, slave := openPTY(t)
		cmd := exec.Command(berthBin, append(globalArgs(), "-p", p.name, "attach", "term")...)
		cmd.Dir = p.dir
		cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		slave.Close()
		out := &syncBuffer{}
		go io.Copy(out, master) //nolint:errcheck // EIO when the terminal closes
		return cmd, master, out
	}
	exitCode := func(cmd *exec.Cmd) int {
		t.Helper()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				return ee.ExitCode()
			}
			if err != nil {
				t.Fatal(err)
			}
			return 0
		case <-time.After(30 * time.Second):
			cmd.Process.Kill() //nolint:errcheck // the test fails anyway
			t.Fatalf("attach did not end")
			return -1
		}
	}

	cmd, master, out := attach()
	if _, err := master.Write([]byte("ping\r")); err != nil {
		t.Fatal(err)
	}
	p.waitFor("the typed line to reach the container's terminal", 30*time.Second, func() bool { return strings.Contains(out.String(), "got-tty-ping") })
	// Once berth read input its terminal is raw: ctrl-p ctrl-q reach it.
	if _, err := master.Write([]byte{0x10, 0x11}); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(cmd); code != 0 {
		t.Errorf("attach after the detach keys: exit %d, want 0\n%s", code, out)
	}
	master.Close()
	if e := p.ps(false); len(e) != 1 || e[0].State != "running" {
		t.Fatalf("term is not running after a detach: %+v", e)
	}

	cmd, master, out = attach()
	defer master.Close()
	if _, err := master.Write([]byte("again\rquit\r")); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(cmd); code != 4 {
		t.Errorf("attach, quit typed: exit %d, want 4:\n%s", code, out)
	}
	// What attach wrote last may still be in the pty, on its way to out.
	p.waitFor("got-tty-again on the terminal", 10*time.Second, func() bool { return strings.Contains(out.String(), "got-tty-again") })
}
