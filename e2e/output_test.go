//go:build e2e

package e2e

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestAttachedPrefixes: attached up prefixes each line with the service
// and replica, as docker compose does ("web-1  | "), padded to the longest
// name, names a container_name as it is, and says "X exited with code N"
// when a container exits; a container's stderr lines go to up's stderr.
func TestAttachedPrefixes(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  web:
    image: `+testImage+`
    command: ["sh", "-c", "echo hello; echo oops >&2; exit 3"]
  longername:
    image: `+testImage+`
    command: ["sh", "-c", "sleep 0.2; echo from long"]
  named:
    image: `+testImage+`
    container_name: PLACEHOLDER
    command: ["echo", "custom"]
`, nil)
	named := p.name + "-custom"
	p.write("compose.yaml", strings.Replace(readFile(t, p.dir+"/compose.yaml"), "PLACEHOLDER", named, 1))
	r := p.berth("up")
	if r.code != 0 {
		t.Fatalf("attached up: %s", r)
	}
	pad := func(name string) string {
		w := max(len("longername-1"), len(named))
		return name + strings.Repeat(" ", w-len(name)) + "  | "
	}
	for _, want := range []string{
		pad("web-1") + "hello\n",
		pad("longername-1") + "from long\n",
		pad(named) + "custom\n",
		"web-1 exited with code 3\n",
		"longername-1 exited with code 0\n",
		named + " exited with code 0\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("attached up output lacks %q:\n%s", want, r.stdout)
		}
	}
	// What a container writes to its stderr goes to up's, as compose does.
	if !strings.Contains(r.stderr, pad("web-1")+"oops\n") || strings.Contains(r.stdout, "oops") {
		t.Errorf("the container's stderr line should be on up's stderr only:\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
	if !strings.HasPrefix(r.stdout, "Attaching to ") || strings.Contains(r.stdout, p.name+"-web-1") {
		t.Errorf("attached up should attach to short names first:\n%s", r.stdout)
	}
	// The exit line comes after the container's last words.
	if i, j := strings.Index(r.stdout, pad("web-1")+"hello"), strings.Index(r.stdout, "web-1 exited with code 3"); i > j {
		t.Errorf("exit line before the container's output:\n%s", r.stdout)
	}
}

// TestLogsFollowNewContainers: logs -f shows the output of containers
// created after it started (a service scaled up, a container recreated),
// and a line when one exits.
func TestLogsFollowNewContainers(t *testing.T) {
	t.Parallel()
	compose := func(greeting string, replicas int) string {
		return fmt.Sprintf(`
services:
  web:
    image: %s
    command: ["sh", "-c", "echo %s $$HOSTNAME; trap 'exit 0' TERM; while true; do sleep 0.1; done"]
    scale: %d
`, testImage, greeting, replicas)
	}
	p := newProject(t, compose("first", 1), nil)
	p.must("up", "-d")
	cmd, out := p.start("logs", "-f")
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	p.waitFor("the first line", 30*time.Second, func() bool { return strings.Contains(out.String(), "web-1  | first") })

	// Recreated (a new command) and scaled up while following.
	p.write("compose.yaml", compose("second", 2))
	p.must("up", "-d")
	p.waitFor("the new containers' lines", 30*time.Second, func() bool {
		s := out.String()
		return strings.Contains(s, "web-1  | second") && strings.Contains(s, "web-2  | second")
	})
	p.must("stop", "-t", "5")
	defer func() {
		if t.Failed() {
			t.Logf("logs -f output:\n%s", out)
		}
	}()
	p.waitFor("the exit lines", 30*time.Second, func() bool {
		s := out.String()
		return strings.Contains(s, "web-1 exited with code 0\n") && strings.Contains(s, "web-2 exited with code 0\n")
	})
}

// TestStopStoppedPrintsLine: stop prints a line for every container it
// selects, also one that has exited already (compose does), and a second
// stop prints them again.
func TestStopStoppedPrintsLine(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  job:
    image: `+testImage+`
    command: ["true"]
  web:
    image: `+testImage+`
    command: ["sleep", "600"]
    stop_signal: SIGKILL
`, nil)
	p.must("up", "-d")
	p.waitFor("job to exit", 30*time.Second, func() bool { return p.entry(p.name+"-job-1").State == "exited" })
	for _, round := range []string{"first", "second"} {
		r := p.must("--progress", "plain", "stop")
		for _, c := range []string{p.name + "-job-1", p.name + "-web-1"} {
			if want := "Container " + c + "  Stopped"; !strings.Contains(r.stderr+r.stdout, want) {
				t.Errorf("%s stop lacks %q:\n%s", round, want, r)
			}
		}
	}
}

// TestVersionShort: version --short prints the version alone, on one line,
// the one version prints after "berth version".
func TestVersionShort(t *testing.T) {
	t.Parallel()
	out, err := exec.Command(berthBin, "version", "--short").Output()
	if err != nil {
		t.Fatalf("version --short: %v", err)
	}
	short := string(out)
	if strings.Count(short, "\n") != 1 || !strings.HasSuffix(short, "\n") || strings.ContainsAny(strings.TrimSpace(short), " \t") || strings.TrimSpace(short) == "" {
		t.Fatalf("version --short = %q, want the version alone on one line", short)
	}
	long, err := exec.Command(berthBin, "version").Output()
	if err != nil {
		t.Fatalf("version: %v", err)
	}
	if first, _, _ := strings.Cut(string(long), "\n"); first != "berth version "+strings.TrimSpace(short) {
		t.Errorf("version says %q, version --short %q", first, short)
	}
}

// TestDependencyErrorTexts: a failed dependency fails up with compose's
// words on a line of their own, first, and berth's details after it.
func TestDependencyErrorTexts(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  dies:
    image: `+testImage+`
    command: ["sh", "-c", "echo going down; exit 1"]
    healthcheck:
      test: ["CMD", "true"]
  plain:
    image: `+testImage+`
    command: ["sleep", "600"]
    stop_signal: SIGKILL
  a:
    image: `+testImage+`
    command: ["sleep", "600"]
    depends_on:
      dies: {condition: service_healthy}
  b:
    image: `+testImage+`
    command: ["sleep", "600"]
    depends_on:
      plain: {condition: service_healthy}
`, nil)
	tests := []struct {
		service, first, after string
	}{
		{"a", "dependency failed to start: container " + p.name + "-dies-1 exited (1)", `service "dies" exited with code 1 instead of becoming healthy`},
		{"b", "dependency failed to start: container " + p.name + "-plain-1 has no healthcheck configured", `service "plain" has no healthcheck`},
	}
	for _, tt := range tests {
		r := p.berth("--progress", "quiet", "up", "-d", tt.service)
		lines := strings.Split(r.stderr, "\n")
		if r.code != 1 || lines[0] != tt.first || len(lines) < 2 || !strings.HasPrefix(lines[1], tt.after) {
			t.Errorf("up %s: want exit 1, first line %q, then %q:\n%s", tt.service, tt.first, tt.after, r)
		}
	}
	if r := p.berth("--progress", "quiet", "up", "-d", "a"); !strings.Contains(r.stderr, "dies-1  | going down") {
		t.Errorf("up a does not show the last log lines of dies:\n%s", r)
	}

	q := newProject(t, `
services:
  web:
    image: `+testImage+`
    depends_on: [nope]
`, nil)
	r := q.berth("up", "-d")
	if want := `service "web" depends on undefined service "nope": invalid compose project`; r.code == 0 || !strings.Contains(r.stderr, want) {
		t.Errorf("up with an undefined dependency: want %q:\n%s", want, r)
	}
}
