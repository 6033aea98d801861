//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// logDrivers are the `berth __logdriver` processes whose arguments name
// the container.
func logDrivers(container string) []string {
	var out []string
	procs, _ := os.ReadDir("/proc")
	for _, proc := range procs {
		b, err := os.ReadFile("/proc/" + proc.Name() + "/cmdline")
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if len(args) > 2 && args[1] == "__logdriver" && strings.Contains(args[2], container) {
			out = append(out, proc.Name()+" "+strings.Join(args, " "))
		}
	}
	return out
}

// TestLogsSurviveProjectProcessRestart: a container's output goes to its
// log without a log-driver process of its own; when the project's process
// is stopped while the container writes, what the container writes
// meanwhile waits in its pipes, and the process brought back (by the next
// up) writes it: every line once, in order, on both streams.
func TestLogsSurviveProjectProcessRestart(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  counter:
    image: `+testImage+`
    stop_signal: SIGKILL
    command: ["sh", "-c", "i=0; while true; do i=$$((i+1)); echo out $$i; echo err $$i >&2; sleep 0.005; done"]
`, nil)
	p.must("up", "-d")
	name := p.name + "-counter-1"
	if drivers := logDrivers(name); len(drivers) > 0 {
		t.Errorf("%s has log-driver processes: %q", name, drivers)
	}
	last := func() int {
		n := 0
		for _, m := range regexp.MustCompile(`out (\d+)\n`).FindAllStringSubmatch(p.must("logs", "--no-log-prefix", "counter").stdout, -1) {
			n, _ = strconv.Atoi(m[1])
		}
		return n
	}
	p.waitFor("the first lines in the log", 30*time.Second, func() bool { return last() >= 20 })

	pidFile := berthRunDir() + "/projects/" + p.name + "/dns.pid"
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	daemon, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	syscall.Kill(daemon, syscall.SIGTERM)
	p.waitFor("the project's process to end", 10*time.Second, func() bool { return syscall.Kill(daemon, 0) != nil })
	stopped := last()
	// The container goes on writing into its pipes meanwhile.
	time.Sleep(time.Second)
	if n := last(); n != stopped {
		t.Fatalf("the log grew from line %d to %d without the project's process", stopped, n)
	}
	p.must("up", "-d")
	p.waitFor("the lines written meanwhile and more", 60*time.Second, func() bool { return last() >= stopped+50 })
	p.must("stop", "counter")

	out := p.must("logs", "--no-log-prefix", "counter").stdout
	for _, stream := range []string{"out", "err"} {
		var got []int
		for _, m := range regexp.MustCompile(`(?m)^`+stream+` (\d+)$`).FindAllStringSubmatch(out, -1) {
			n, _ := strconv.Atoi(m[1])
			got = append(got, n)
		}
		for i, n := range got {
			if n != i+1 {
				t.Fatalf("%s line %d of the log is %q %d: lines lost or repeated across the restart (stopped at %d)\n%s", stream, i+1, stream, n, stopped, tail(out, 40))
			}
		}
		if len(got) < stopped+50 {
			t.Errorf("%s: %d lines, want at least %d", stream, len(got), stopped+50)
		}
	}
	if drivers := logDrivers(name); len(drivers) > 0 {
		t.Errorf("%s has log-driver processes after the restart: %q", name, drivers)
	}
	p.must("down")
	p.assertNothingLeft()
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return fmt.Sprintf("... %s", strings.Join(lines, "\n"))
}
