//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth/berth/netbridge"
)

// taskPid is the host pid of a container's main process.
func taskPid(t *testing.T, container string) int {
	t.Helper()
	for _, line := range strings.Split(ctr(t, "tasks", "ls"), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == container && f[2] == "RUNNING" {
			pid, _ := strconv.Atoi(f[1])
			return pid
		}
	}
	t.Fatalf("no running task for %s:\n%s", container, ctr(t, "tasks", "ls"))
	return 0
}

func (p *project) entry(name string) psEntry {
	p.t.Helper()
	for _, e := range p.ps(true) {
		if e.Name == name {
			return e
		}
	}
	return psEntry{}
}

// TestHealthyChain: five services, each depending on the one before with
// service_healthy, come up in order under up --wait; each becomes ready a
// little after it starts, so starting one before its dependency is healthy
// shows.
func TestHealthyChain(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("services:\n")
	for i := 1; i <= 5; i++ {
		fmt.Fprintf(&b, `  s%d:
    image: %s
    command: ["sh", "-c", "date +%%s%%N > /started; sleep 0.3; touch /tmp/ready; exec sleep 600"]
    stop_signal: SIGKILL
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 1s
`, i, testImage)
		if i > 1 {
			fmt.Fprintf(&b, "    depends_on:\n      s%d: {condition: service_healthy}\n", i-1)
		}
	}
	p := newProject(t, b.String(), nil)
	r := p.must("up", "--wait")
	for i := 1; i <= 5; i++ {
		e := p.entry(fmt.Sprintf("%s-s%d-1", p.name, i))
		if e.Health != "healthy" || !strings.Contains(e.Status, "(healthy)") {
			t.Errorf("s%d after up --wait: health %q, status %q", i, e.Health, e.Status)
		}
	}
	// Each waited for the one before it: "Waiting" then "Healthy", in order.
	var order []string
	for _, line := range strings.Split(r.stderr, "\n") {
		if strings.Contains(line, "Container") && strings.HasSuffix(strings.TrimSpace(line), "Started") {
			order = append(order, strings.Fields(line)[1])
		}
	}
	want := []string{p.name + "-s1-1", p.name + "-s2-1", p.name + "-s3-1", p.name + "-s4-1", p.name + "-s5-1"}
	if strings.Join(order, ",") != strings.Join(want, ",") {
		t.Errorf("start order %v, want %v:\n%s", order, want, r.stderr)
	}
	if strings.Count(r.stderr, "Healthy") < 4 {
		t.Errorf("up did not wait for health:\n%s", r.stderr)
	}
}

// TestPreparedWhileWaiting: a service waiting for its dependency's health
// is created and readied meanwhile (ps: created; its process made, not
// run), and runs once the dependency is healthy. An up interrupted during
// the wait removes it again, with its task and network namespace.
func TestPreparedWhileWaiting(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  db:
    image: `+testImage+`
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    healthcheck:
      # Failures in the start period do not count: db stays "starting"
      # (and api prepared) until the test makes it healthy, however slow
      # the machine. Without it db turned unhealthy after 3 probes (0.6 s)
      # and the test raced to see api created in that window.
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 200ms
      start_period: 10m
  api:
    image: `+testImage+`
    command: ["sh", "-c", "echo api runs; exec sleep 600"]
    stop_signal: SIGKILL
    depends_on:
      db: {condition: service_healthy}
`, nil)
	api := p.name + "-api-1"
	up := func() (*exec.Cmd, *syncBuffer) {
		cmd, out := p.start("up", "-d")
		p.waitFor("api to be prepared", 30*time.Second, func() bool { return p.entry(api).State == "created" })
		return cmd, out
	}
	hasNamespace := func() bool {
		_, err := os.Stat("/run/netns/berth-" + api)
		return err == nil
	}

	cmd, out := up()
	if !hasNamespace() {
		t.Errorf("prepared api has no network namespace")
	}
	if ctrBin != "" {
		created := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(api) + `\s+\d+\s+CREATED`)
		p.waitFor("api's task to be made", 30*time.Second, func() bool {
			tasks, _ := exec.Command(ctrBin, "--address", daemonAddress(), "-n", "berth", "tasks", "ls").CombinedOutput()
			return created.Match(tasks)
		})
	}
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err == nil {
		t.Errorf("up interrupted while waiting exited 0:\n%s", out)
	}
	if e := p.entry(api); e.Name != "" {
		t.Errorf("api left after the interrupted up: %+v\n%s", e, out)
	}
	if hasNamespace() {
		t.Errorf("api's network namespace left after the interrupted up")
	}
	if e := p.entry(p.name + "-db-1"); e.State != "running" {
		t.Errorf("db after the interrupted up: %+v, want running", e)
	}

	cmd, out = up()
	if logs := p.must("logs", "api").stdout; strings.Contains(logs, "api runs") {
		t.Errorf("prepared api ran before db was healthy: %s", logs)
	}
	p.must("exec", "db", "touch", "/tmp/ready")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("up once db is healthy: %v\n%s", err, out)
	}
	if e := p.entry(api); e.State != "running" {
		t.Errorf("api after up: %+v, want running", e)
	}
	p.waitFor("api's output", 10*time.Second, func() bool { return strings.Contains(p.must("logs", "api").stdout, "api runs") })
}

// TestDependencyFailures: an unhealthy dependency and a failed one-shot
// stop their dependents with a message naming them; required: false only
// warns.
func TestDependencyFailures(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  db:
    image: `+testImage+`
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    healthcheck:
      test: ["CMD-SHELL", "echo db is not ready; exit 1"]
      interval: 1s
      retries: 1
  migrate:
    image: `+testImage+`
    command: ["sh", "-c", "echo 'ERROR: relation readings already exists'; exit 3"]
  api:
    image: `+testImage+`
    command: ["sleep", "600"]
    depends_on:
      db: {condition: service_healthy}
  worker:
    image: `+testImage+`
    command: ["sleep", "600"]
    depends_on:
      migrate: {condition: service_completed_successfully}
  optional:
    image: `+testImage+`
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    depends_on:
      db: {condition: service_healthy, required: false}
`, nil)
	r := p.berth("up", "-d", "api")
	if r.code == 0 || !strings.Contains(r.stderr, "dependency failed to start: container "+p.name+"-db-1 is unhealthy\n") || !strings.Contains(r.stderr, "db is not ready") {
		t.Errorf("up api with an unhealthy db:\n%s", r)
	}
	r = p.berth("up", "-d", "worker")
	if r.code == 0 || !strings.Contains(r.stderr, `service "migrate" didn't complete successfully: exit 3`+"\n") {
		t.Errorf("up worker with a failing migration:\n%s", r)
	}
	// The culprit's last log lines come with the error.
	if !strings.Contains(r.stderr, "Last 1 log lines of "+p.name+"-migrate-1") || !strings.Contains(r.stderr, "| ERROR: relation readings already exists") {
		t.Errorf("up worker does not show migrate's log:\n%s", r)
	}
	for _, e := range p.ps(true) {
		if e.Service == "api" || e.Service == "worker" {
			t.Errorf("%s was created although its dependency failed", e.Name)
		}
	}
	r = p.must("up", "-d", "optional")
	if !strings.Contains(r.stderr, `optional dependency "db" failed to start`) {
		t.Errorf("required: false did not warn:\n%s", r.stderr)
	}
	if e := p.entry(p.name + "-optional-1"); e.State != "running" {
		t.Errorf("optional: %+v, want running", e)
	}
	// --no-deps neither starts nor waits for the dependencies.
	p.must("up", "-d", "--no-deps", "api")
	if e := p.entry(p.name + "-api-1"); e.State != "running" {
		t.Errorf("up --no-deps api: %+v, want running", e)
	}
}

// TestWaitTimeoutShowsLogs: a service that does not get healthy in time
// fails up --wait with its name and its last log lines.
func TestWaitTimeoutShowsLogs(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  slow:
    image: `+testImage+`
    command: ["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo line $$i; done; echo still loading; exec sleep 600"]
    stop_signal: SIGKILL
    healthcheck:
      test: ["CMD", "false"]
      interval: 1h
`, nil)
	r := p.berth("up", "-d", "--wait", "--wait-timeout", "2")
	if r.code == 0 || !strings.Contains(r.stderr, `service "slow" is not ready after 2s (--wait-timeout)`) {
		t.Fatalf("up --wait with a service that never gets healthy:\n%s", r)
	}
	if !strings.Contains(r.stderr, "Last 10 log lines of "+p.name+"-slow-1") || !strings.Contains(r.stderr, "| still loading") || strings.Contains(r.stderr, "| line 3\n") {
		t.Errorf("up --wait does not show the last 10 log lines:\n%s", r)
	}
}

// TestRestartPolicies: a killed container is restarted (always,
// on-failure), or not (no); on-failure:2 gives up after two restarts;
// killing the project's background process leaves the containers running
// and the next up brings it back, which goes on restarting them.
func TestRestartPolicies(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  always:
    image: `+testImage+`
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    restart: always
  never:
    image: `+testImage+`
    command: ["sleep", "600"]
    stop_signal: SIGKILL
  flaky:
    image: `+testImage+`
    command: ["sh", "-c", "sleep 0.2; exit 1"]
    restart: on-failure:2
`, nil)
	p.must("up", "-d")
	always, never := p.name+"-always-1", p.name+"-never-1"

	syscall.Kill(taskPid(t, always), syscall.SIGKILL)
	syscall.Kill(taskPid(t, never), syscall.SIGKILL)
	p.waitFor("always to be restarted", 15*time.Second, func() bool {
		e := p.entry(always)
		return e.State == "running" && e.RestartCount == 1
	})
	p.waitFor("flaky to give up", 15*time.Second, func() bool {
		e := p.entry(p.name + "-flaky-1")
		return e.State == "exited" && e.RestartCount == 2
	})
	if e := p.entry(never); e.State != "exited" || e.RestartCount != 0 {
		t.Errorf("restart: no was restarted: %+v", e)
	}

	// The background process dies; containers keep running.
	pidFile := berthRunDir() + "/projects/" + p.name + "/dns.pid"
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	daemon, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	before := taskPid(t, always)
	syscall.Kill(daemon, syscall.SIGKILL)
	p.waitFor("the background process to die", 10*time.Second, func() bool {
		return syscall.Kill(daemon, 0) != nil
	})
	if taskPid(t, always) != before {
		t.Errorf("the container was restarted when the background process died")
	}
	r := p.must("up", "-d")
	if strings.Contains(r.stderr, "Recreate") || taskPid(t, always) != before {
		t.Errorf("up after the background process died touched the running container:\n%s", r.stderr)
	}
	syscall.Kill(taskPid(t, always), syscall.SIGKILL)
	p.waitFor("the new background process to restart always", 15*time.Second, func() bool {
		e := p.entry(always)
		return e.State == "running" && e.RestartCount == 2
	})

	// stop and kill are manual: restart: always does not undo them.
	for _, how := range [][]string{{"stop", "always"}, {"kill", "always"}} {
		p.must(how...)
		want := map[string]int{"stop": 1, "kill": 2}[how[0]]
		deadline := time.Now().Add(15 * time.Second)
		for strings.Count(p.must("logs", "--system").stdout, always+" exited with status 137: stopped by hand, not restarted") < want {
			if time.Now().After(deadline) {
				// What the project's process was doing says why.
				var dump string
				if b, err := os.ReadFile(pidFile); err == nil {
					pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
					_, dump = p.goroutines(pid)
				}
				t.Fatalf("the supervisor did not report the %s:\n%s\n%s\ngoroutines of the project's process:\n%s",
					how[0], p.must("logs", "--system").stdout, p.must("ps", "-a").stdout, dump)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if e := p.entry(always); e.State != "exited" {
			t.Errorf("after %s: %+v, want exited", how[0], e)
		}
		p.must("start", "always")
		if e := p.entry(always); e.State != "running" {
			t.Errorf("after start: %+v, want running", e)
		}
	}
	var names []string
	for _, e := range p.ps(true) {
		names = append(names, e.Name+"="+e.State)
	}
	sort.Strings(names)
	t.Logf("final: %v", names)
}

// TestExec: exec runs in the service's container with its environment,
// passes stdin through and ends when it ends, honours -u, -w, -e, and
// exits with the command's code.
func TestExec(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  app:
    image: `+testImage+`
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    environment:
      FROM_COMPOSE: "yes"
  done:
    image: `+testImage+`
    command: ["true"]
`, nil)
	p.must("up", "-d")
	r := p.must("exec", "-T", "app", "sh", "-c", "echo $FROM_COMPOSE $(hostname)")
	if r.stdout != "yes "+p.name+"-app-1\n" {
		t.Errorf("exec output %q", r.stdout)
	}
	r = p.berth("exec", "-T", "app", "sh", "-c", "exit 42")
	if r.code != 42 {
		t.Errorf("exec exit code %d, want 42", r.code)
	}
	r = p.must("exec", "-T", "-u", "nobody", "-w", "/tmp", "-e", "X=1", "app", "sh", "-c", "echo $(id -u) $(pwd) $X")
	if r.stdout != "65534 /tmp 1\n" {
		t.Errorf("exec -u -w -e output %q", r.stdout)
	}
	// -e KEY takes the value from berth's environment, and is left out when unset there.
	r = p.berthEnv([]string{"BERTH_E2E_FROM_HOST=host value"}, "exec", "-T", "-e", "BERTH_E2E_FROM_HOST", "-e", "BERTH_E2E_UNSET", "app",
		"sh", "-c", `echo "$BERTH_E2E_FROM_HOST|${BERTH_E2E_UNSET-unset}"`)
	if r.code != 0 || r.stdout != "host value|unset\n" {
		t.Errorf("exec -e KEY:\n%s", r)
	}
	cmd := exec.Command(berthBin, append(globalArgs(), "-p", p.name, "exec", "-T", "app", "wc", "-c")...)
	cmd.Dir = p.dir
	cmd.Stdin = strings.NewReader("12345")
	out, err := cmd.Output()
	if err != nil || strings.TrimSpace(string(out)) != "5" {
		t.Errorf("exec with stdin: %q, %v", out, err)
	}
	p.waitFor("done to exit", 10*time.Second, func() bool { return p.entry(p.name+"-done-1").State == "exited" })
	if r := p.berth("exec", "-T", "done", "true"); r.code == 0 || !strings.Contains(r.stderr, `service "done" is not running`) {
		t.Errorf("exec in an exited container:\n%s", r)
	}
}

// TestAttachedUp: up without -d shows the output until every container is
// done; --exit-code-from stops the rest and passes the code on; Ctrl-C
// stops the containers gracefully, their last words still shown.
func TestAttachedUp(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  a:
    image: `+testImage+`
    command: ["sh", "-c", "echo hello from a; sleep 0.3; echo bye from a"]
  b:
    image: `+testImage+`
    command: ["sh", "-c", "echo hello from b; exit 3"]
  web:
    image: `+testImage+`
    command: ["sh", "-c", "trap 'echo got TERM; exit 0' TERM; echo serving; while true; do sleep 0.1; done"]
    profiles: [web]
`, nil)
	r := p.must("up")
	for _, want := range []string{"a-1  | hello from a", "a-1  | bye from a", "b-1  | hello from b"} {
		if !strings.Contains(r.stdout, want+"\n") {
			t.Errorf("attached up output lacks %q:\n%s", want, r.stdout)
		}
	}
	if r := p.berth("up", "--exit-code-from", "b"); r.code != 3 {
		t.Errorf("--exit-code-from b: exit %d, want 3\n%s", r.code, r)
	}

	cmd, out := p.start("--profile", "web", "up", "web")
	p.waitFor("web to serve", 30*time.Second, func() bool { return strings.Contains(out.String(), "| serving") })
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Errorf("up after Ctrl-C: %v, want exit 130\n%s", err, out)
	}
	for _, want := range []string{"Gracefully stopping", "| got TERM"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if e := p.entry(p.name + "-web-1"); e.State != "exited" || e.ExitCode != 0 {
		t.Errorf("web after Ctrl-C: %+v, want exited 0", e)
	}
}

// TestAttachedUpEnds: as docker compose, --exit-code-from aborts at the
// first exit and returns its service's code (here the one its TERM trap
// gives when up stops it), and up SERVICE ends when the named service is
// done while its dependency runs on, even with --attach-dependencies; its
// Ctrl-C stops the named service only.
func TestAttachedUpEnds(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  dep:
    image: `+testImage+`
    command: ["sleep", "600"]
    stop_signal: SIGKILL
  job:
    image: `+testImage+`
    command: ["sh", "-c", "echo job done"]
    depends_on: [dep]
  failure:
    image: `+testImage+`
    command: ["sh", "-c", "exit 42"]
    profiles: [abort]
  long:
    image: `+testImage+`
    command: ["sh", "-c", "trap 'exit 7' TERM; while true; do sleep 0.1; done"]
    profiles: [abort]
  server:
    image: `+testImage+`
    command: ["sh", "-c", "trap 'exit 0' TERM; echo serving; while true; do sleep 0.1; done"]
    depends_on: [dep]
    profiles: [abort]
`, nil)
	if r := p.berth("--profile", "abort", "up", "--exit-code-from", "long", "failure", "long"); r.code != 7 || !strings.Contains(r.stderr, "Aborting on container exit...") {
		t.Errorf("up --exit-code-from long: exit %d, want 7 after aborting\n%s", r.code, r)
	}
	for _, args := range [][]string{{"up", "job"}, {"up", "--attach-dependencies", "job"}} {
		r := p.berth(args...)
		if r.code != 0 || !strings.Contains(r.stdout, "job done") {
			t.Errorf("berth %s: exit %d, want 0 with the job's output\n%s", strings.Join(args, " "), r.code, r)
		}
		if e := p.entry(p.name + "-dep-1"); e.State != "running" {
			t.Errorf("after berth %s, dep is %+v, want it running on", strings.Join(args, " "), e)
		}
	}
	// Ctrl-C stops the named service, not its dependency.
	p.must("stop", "dep")
	cmd, out := p.start("--profile", "abort", "up", "server")
	p.waitFor("server to serve", 30*time.Second, func() bool { return strings.Contains(out.String(), "| serving") })
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err == nil {
		t.Errorf("up server after Ctrl-C: exit 0, want 130\n%s", out)
	}
	if e := p.entry(p.name + "-server-1"); e.State != "exited" {
		t.Errorf("server after Ctrl-C: %+v, want exited", e)
	}
	if e := p.entry(p.name + "-dep-1"); e.State != "running" {
		t.Errorf("dep after Ctrl-C of up server: %+v, want it running on", e)
	}
}

// TestUpAfterReboot: after what a host reboot leaves (tasks gone without
// an exit, network namespaces, bridges and the background process gone,
// /run/berth emptied), up brings every service back on its network: the
// web server answers by name again.
func TestUpAfterReboot(t *testing.T) {
	p := newProject(t, `
services:
  web:
    image: `+testImage+`
    command: ["httpd", "-f", "-p", "80", "-h", "/www"]
    stop_signal: SIGKILL
    restart: always
  client:
    image: `+testImage+`
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    depends_on: [web]
`, nil)
	p.must("up", "-d")
	fetch := func() string {
		r := p.berth("exec", "-T", "client", "wget", "-q", "-O-", "http://web/")
		return r.stdout
	}
	if got := fetch(); !strings.Contains(got, "hello from berth") {
		t.Fatalf("before the reboot: %q", got)
	}

	// The reboot.
	b, _ := os.ReadFile(berthRunDir() + "/projects/" + p.name + "/dns.pid")
	if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); pid > 0 {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	for _, c := range []string{p.name + "-web-1", p.name + "-client-1"} {
		ctr(t, "tasks", "kill", "-s", "SIGKILL", c)
	}
	p.waitFor("the tasks to die", 10*time.Second, func() bool {
		// Only this project's tasks: other projects may run on the machine.
		for _, line := range strings.Split(ctr(t, "tasks", "ls"), "\n") {
			if f := strings.Fields(line); len(f) >= 3 && strings.HasPrefix(f[0], p.name+"-") && f[2] == "RUNNING" {
				return false
			}
		}
		return true
	})
	for _, c := range []string{p.name + "-web-1", p.name + "-client-1"} {
		exec.Command(ctrBin, "--address", daemonAddress(), "-n", "berth", "tasks", "delete", c).Run() //nolint:errcheck // gone already is fine
		if out, err := exec.Command("ip", "netns", "delete", "berth-"+c).CombinedOutput(); err != nil {
			t.Fatalf("ip netns delete: %v: %s", err, out)
		}
	}
	exec.Command("ip", "link", "delete", netbridge.BridgeName(p.name+"_default")).Run() //nolint:errcheck // gone already is fine
	os.RemoveAll(berthRunDir() + "/projects/" + p.name)

	p.must("up", "-d")
	for _, e := range p.ps(true) {
		if e.State != "running" {
			t.Errorf("after up: %s is %s", e.Name, e.State)
		}
	}
	if got := fetch(); !strings.Contains(got, "hello from berth") {
		t.Errorf("after the reboot and up: %q", got)
	}
}

// TestRun: run starts the dependencies, runs the command in a new
// container reaching them by name, passes stdin and the exit code; --rm
// removes it, without --rm down does.
func TestRun(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  web:
    image: `+testImage+`
    command: ["httpd", "-f", "-p", "80", "-h", "/www"]
    stop_signal: SIGKILL
  client:
    image: `+testImage+`
    command: ["echo", "default command"]
    depends_on: [web]
    environment:
      FROM_COMPOSE: "yes"
volumes:
  cache: {}
`, nil)
	r := p.berth("run", "--rm", "-T", "client", "sh", "-c", "wget -q -O- http://web/; echo $FROM_COMPOSE; exit 4")
	if r.code != 4 || !strings.Contains(r.stdout, "hello from berth") || !strings.Contains(r.stdout, "yes\n") {
		t.Errorf("run: want exit 4 with the page and the env:\n%s", r)
	}
	if e := p.entry(p.name + "-web-1"); e.State != "running" {
		t.Errorf("the dependency web was not started: %+v", e)
	}
	cmd := exec.Command(berthBin, append(globalArgs(), "-p", p.name, "run", "--rm", "-T", "--no-deps", "-e", "X=1", "client", "sh", "-c", "echo $X; wc -c")...)
	cmd.Dir = p.dir
	cmd.Stdin = strings.NewReader("12345")
	out, err := cmd.Output()
	if err != nil || string(out) != "1\n5\n" {
		t.Errorf("run with stdin and -e: %q, %v", out, err)
	}
	// -v: a host path (relative to the project) and a declared volume.
	r = p.must("run", "--rm", "-T", "--no-deps", "-v", "./shared:/shared", "-v", "cache:/cache", "client", "sh", "-c", "echo out > /shared/f; echo kept > /cache/f")
	if b, err := os.ReadFile(filepath.Join(p.dir, "shared", "f")); err != nil || string(b) != "out\n" {
		t.Errorf("run -v ./shared: %q, %v", b, err)
	}
	if r = p.must("run", "--rm", "-T", "--no-deps", "-v", "cache:/cache:ro", "client", "cat", "/cache/f"); r.stdout != "kept\n" {
		t.Errorf("run -v cache: %q", r.stdout)
	}
	r = p.must("run", "-T", "client")
	if r.stdout != "default command\n" {
		t.Errorf("run with the service's command: %q", r.stdout)
	}
	oneOffs := strings.Count(ctr(t, "containers", "ls", "-q"), p.name+"-client-run-")
	if oneOffs != 1 {
		t.Errorf("%d one-off containers left, want 1 (the one without --rm)", oneOffs)
	}
}

// TestPauseRmLsWait: pause and unpause freeze and thaw a service; wait
// prints the exit code of the first container to exit; rm removes stopped
// containers (-s: running ones too); ls lists the project while it runs.
func TestPauseRmLsWait(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  web:
    image: `+testImage+`
    command: ["sleep", "600"]
    stop_signal: SIGKILL
  job:
    image: `+testImage+`
    command: ["sh", "-c", "sleep 0.5; exit 7"]
`, nil)
	p.must("up", "-d")
	if !strings.Contains(p.byName("ls").stdout, p.name) {
		t.Errorf("ls does not list %s", p.name)
	}
	p.must("pause", "web")
	if e := p.entry(p.name + "-web-1"); e.State != "paused" {
		t.Errorf("after pause: %+v", e)
	}
	p.must("unpause", "web")
	if e := p.entry(p.name + "-web-1"); e.State != "running" {
		t.Errorf("after unpause: %+v", e)
	}
	if r := p.berth("wait", "job"); r.stdout != "7\n" || r.code != 7 {
		t.Errorf("wait job: %s, want 7 printed and its exit status", r)
	}
	p.must("rm")
	if ps := p.ps(true); len(ps) != 1 || ps[0].Service != "web" {
		t.Errorf("after rm: %+v, want only the running web", ps)
	}
	p.must("rm", "-s", "-f")
	if ps := p.ps(true); len(ps) != 0 {
		t.Errorf("after rm -s: %+v", ps)
	}
	if strings.Contains(p.byName("ls").stdout, p.name) {
		t.Errorf("ls still lists %s with no container", p.name)
	}
}

// TestDependsOnRestart: a dependent with depends_on restart: true is
// restarted when up recreates its dependency and when the dependency is
// restarted with berth restart; one without it is left running.
func TestDependsOnRestart(t *testing.T) {
	t.Parallel()
	compose := `
services:
  db:
    image: ` + testImage + `
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    environment:
      VERSION: "%s"
  api:
    image: ` + testImage + `
    command: ["sh", "-c", "echo started; exec sleep 600"]
    stop_signal: SIGKILL
    depends_on:
      db: {condition: service_started, restart: true}
  other:
    image: ` + testImage + `
    command: ["sh", "-c", "echo started; exec sleep 600"]
    stop_signal: SIGKILL
    depends_on: [db]
`
	p := newProject(t, fmt.Sprintf(compose, "1"), nil)
	starts := func(service string) int {
		return strings.Count(p.must("logs", "--no-log-prefix", service).stdout, "started\n")
	}
	p.must("up", "-d")
	p.waitFor("api and other to start", 10*time.Second, func() bool { return starts("api") == 1 && starts("other") == 1 })

	p.write("compose.yaml", fmt.Sprintf(compose, "2"))
	r := p.must("up", "-d")
	// docker compose's lines: up stops and starts the dependent; restart
	// restarts each container.
	api, db := "Container "+p.name+"-api-1  ", "Container "+p.name+"-db-1  "
	if !strings.Contains(r.stderr, api+"Stopped") || !strings.Contains(r.stderr, api+"Started") {
		t.Errorf("up does not say it stops and starts api again:\n%s", r)
	}
	p.waitFor("api to start again", 10*time.Second, func() bool { return starts("api") == 2 })

	r = p.must("restart", "db")
	for _, want := range []string{db + "Restarting", db + "Started", api + "Restarting", api + "Started"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("restart db does not print %q:\n%s", want, r)
		}
	}
	if strings.Contains(r.stderr, "other") {
		t.Errorf("restart db touched other (no restart: true):\n%s", r)
	}
	p.waitFor("api to start a third time", 10*time.Second, func() bool { return starts("api") == 3 })
	if n := starts("other"); n != 1 {
		t.Errorf("other (no restart: true) started %d times, want 1", n)
	}
	if e := p.entry(p.name + "-api-1"); e.State != "running" {
		t.Errorf("api is %s after the restarts", e.State)
	}
}

// TestProjectProcessOfRemovedBinary: a project whose background process
// was started by a berth binary since removed (an upgrade, another
// checkout) gets a new one at the next up, which keeps the restart policy
// working: the old one would start the log driver from a path that is
// gone.
func TestProjectProcessOfRemovedBinary(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  app:
    image: `+testImage+`
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    restart: always
`, nil)
	// Copied by cp, not written here: a file this process has open for
	// writing can be inherited by a parallel test's fork and make the exec
	// below fail with "text file busy".
	old := filepath.Join(t.TempDir(), "berth-old")
	if out, err := exec.Command("cp", berthBin, old).CombinedOutput(); err != nil {
		t.Fatalf("cp %s: %v\n%s", berthBin, err, out)
	}
	cmd := exec.Command(old, append(globalArgs(), "-p", p.name, "up", "-d")...)
	cmd.Dir = p.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("up with a copy of berth: %v\n%s", err, out)
	}
	first := p.projectProcess()
	if err := os.Remove(old); err != nil {
		t.Fatal(err)
	}
	p.must("up", "-d")
	if second := p.projectProcess(); second == first {
		t.Fatalf("the project process %d of the removed binary still runs after up", first)
	}
	name := p.name + "-app-1"
	syscall.Kill(taskPid(t, name), syscall.SIGKILL)
	p.waitFor("app to be restarted by its policy", 30*time.Second, func() bool {
		e := p.entry(name)
		return e.State == "running" && e.RestartCount == 1
	})
}
