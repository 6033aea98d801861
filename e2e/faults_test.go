//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berth/berth/runstate"
)

// killContainerd kills the private containerd with SIGKILL and waits until
// it is gone; it returns its pid.
func (d *privateDaemon) killContainerd() int {
	d.t.Helper()
	pid := d.containerdPid()
	if pid == 0 {
		d.t.Fatal("the private containerd does not run")
	}
	syscall.Kill(pid, syscall.SIGKILL)
	waitGone(d.t, pid)
	return pid
}

// faultProject is a compose project whose berth commands (and cleanup) go
// to a private daemon.
type faultProject struct {
	t    *testing.T
	p    *project
	d    *privateDaemon
	name string
}

func newFaultProject(t *testing.T, d *privateDaemon, composeYAML string) *faultProject {
	t.Helper()
	name := strings.Trim(nonName.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(name) > 30 {
		name = strings.Trim(name[len(name)-30:], "-")
	}
	p := &project{t: t, name: "e2e-" + name, dir: t.TempDir()}
	p.write("compose.yaml", composeYAML)
	fp := &faultProject{t: t, p: p, d: d, name: p.name}
	t.Cleanup(func() {
		if r := fp.berth("down", "-v", "-t", "0", "--remove-orphans"); r.code != 0 {
			t.Errorf("cleanup: %s", r)
		}
		fp.assertNothingLeft()
	})
	return fp
}

func (fp *faultProject) berth(args ...string) result {
	fp.t.Helper()
	return fp.p.berthEnv(fp.d.env, args...)
}

func (fp *faultProject) must(args ...string) result {
	fp.t.Helper()
	r := fp.berth(args...)
	if r.code != 0 {
		fp.t.Fatalf("%s", r)
	}
	return r
}

// start runs berth in the background against the private daemon.
func (fp *faultProject) start(args ...string) (*exec.Cmd, *syncBuffer) {
	fp.t.Helper()
	cmd := exec.Command(berthBin, append([]string{"-p", fp.name}, args...)...)
	cmd.Dir = fp.p.dir
	cmd.Env = append(os.Environ(), fp.d.env...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		fp.t.Fatal(err)
	}
	return cmd, out
}

func (fp *faultProject) ps() []psEntry {
	fp.t.Helper()
	return parsePs(fp.t, fp.must("ps", "-a", "--format", "json").stdout)
}

func (fp *faultProject) entry(service string) psEntry {
	fp.t.Helper()
	for _, e := range fp.ps() {
		if e.Name == fp.name+"-"+service+"-1" {
			return e
		}
	}
	return psEntry{}
}

// taskPid is the host pid of a service's running main process, 0 when it
// has none.
func (fp *faultProject) taskPid(service string) int {
	fp.t.Helper()
	out, err := fp.d.tryCtr("tasks", "ls")
	if err != nil {
		fp.t.Fatalf("ctr tasks ls: %v: %s", err, out)
	}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == fp.name+"-"+service+"-1" && f[2] == "RUNNING" {
			pid, _ := strconv.Atoi(f[1])
			return pid
		}
	}
	return 0
}

// projectDir is the project's directory in the private run dir.
func (fp *faultProject) projectDir() string { return filepath.Join(fp.d.runDir, "projects", fp.name) }

// daemonPid is the pid of the project's background process.
func (fp *faultProject) daemonPid() int {
	b, _ := os.ReadFile(filepath.Join(fp.projectDir(), "dns.pid"))
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// supervision is what the project's background process says of itself.
func (fp *faultProject) supervision() runstate.SupervisionState {
	var st runstate.SupervisionState
	b, err := os.ReadFile(filepath.Join(fp.projectDir(), "supervision.json"))
	if err == nil {
		json.Unmarshal(b, &st) //nolint:errcheck // a zero state fails the caller's check
	}
	return st
}

// systemLog is the project process's log.
func (fp *faultProject) systemLog() string {
	b, _ := os.ReadFile(filepath.Join(fp.projectDir(), "dns.log"))
	return string(b)
}

// writeMarker writes a file into the named volume, through the service.
func (fp *faultProject) writeMarker(name string) {
	fp.t.Helper()
	fp.must("exec", "-T", "web", "sh", "-c", "echo "+name+" > /data/"+name)
}

// converge runs up -d --wait and checks the project is whole: one
// container per service, all running, web healthy, no container of the
// project beside them in containerd, and every marker written so far in
// the named volume.
func (fp *faultProject) converge(markers []string) {
	fp.t.Helper()
	fp.must("up", "-d", "--wait")
	var names []string
	for _, e := range fp.ps() {
		names = append(names, e.Name)
		if e.State != "running" {
			fp.t.Errorf("after up --wait: %s is %s", e.Name, e.State)
		}
		if e.Service == "web" && e.Health != "healthy" {
			fp.t.Errorf("after up --wait: web's health is %q", e.Health)
		}
	}
	sort.Strings(names)
	if want := []string{fp.name + "-side-1", fp.name + "-web-1"}; strings.Join(names, " ") != strings.Join(want, " ") {
		fp.t.Errorf("after up --wait: containers %v, want %v", names, want)
	}
	out, err := fp.d.tryCtr("containers", "ls", "-q")
	if err != nil {
		fp.t.Fatalf("ctr containers ls: %v: %s", err, out)
	}
	n := 0
	for _, id := range strings.Fields(out) {
		if strings.HasPrefix(id, fp.name+"-") {
			n++
		}
	}
	if n != 2 {
		fp.t.Errorf("containerd has %d containers of the project, want 2:\n%s", n, out)
	}
	for _, m := range markers {
		if got := strings.TrimSpace(fp.must("exec", "-T", "web", "cat", "/data/"+m).stdout); got != m {
			fp.t.Errorf("the named volume lost /data/%s: %q", m, got)
		}
	}
}

// assertNothingLeft checks the private daemon and host hold nothing of the
// project after its down.
func (fp *faultProject) assertNothingLeft() {
	t := fp.t
	prefix := fp.name + "-"
	for _, what := range [][]string{{"containers", "ls", "-q"}, {"tasks", "ls"}, {"snapshots", "ls"}} {
		out, err := fp.d.tryCtr(what...)
		if err != nil {
			t.Errorf("ctr %v: %v: %s", what, err, out)
			continue
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), prefix) {
				t.Errorf("left behind (ctr %s): %s", what[0], line)
			}
		}
	}
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "berth-"+prefix) {
			t.Errorf("left behind: network namespace %s", e.Name())
		}
	}
	if _, err := os.Stat(fp.projectDir()); !os.IsNotExist(err) {
		t.Errorf("left behind: %s", fp.projectDir())
	}
	for _, root := range []string{fp.d.dataDir, fp.d.runDir} {
		for _, f := range filesNamed(root, fp.name, 3) {
			t.Errorf("left behind: %s", f)
		}
	}
	if _, err := os.Stat(runstate.LockPath(fp.d.runDir, fp.name)); !os.IsNotExist(err) {
		t.Errorf("left behind: the project's lock file (%v)", err)
	}
	vols, _ := os.ReadDir(filepath.Join(fp.d.dataDir, "volumes"))
	for _, e := range vols {
		if strings.HasPrefix(e.Name(), fp.name+"_") {
			t.Errorf("left behind: volume %s", e.Name())
		}
	}
	procs, _ := os.ReadDir("/proc")
	for _, proc := range procs {
		if pid, err := strconv.Atoi(proc.Name()); err == nil && strings.Contains(cmdline(pid), "__dns\x00"+fp.name+"\x00") {
			t.Errorf("left behind: the background process of %s (pid %d)", fp.name, pid)
		}
	}
}

// parsePs reads ps --format json output.
func parsePs(t *testing.T, out string) []psEntry {
	t.Helper()
	var entries []psEntry
	for _, line := range strings.Split(out, "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		if strings.HasPrefix(line, "[") {
			var list []psEntry
			if err := json.Unmarshal([]byte(line), &list); err != nil {
				t.Fatalf("ps json %q: %v", line, err)
			}
			entries = append(entries, list...)
			continue
		}
		var e psEntry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("ps json %q: %v", line, err)
		}
		entries = append(entries, e)
	}
	return entries
}

func cmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return string(b)
}

// exited reports whether pid is gone (or a zombie).
func exited(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] == 'Z' || b[i+2] == 'X'
}

func waitGoneWithin(pid int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for !exited(pid) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

func waitGone(t testing.TB, pid int) {
	t.Helper()
	if !waitGoneWithin(pid, 10*time.Second) {
		t.Fatalf("process %d did not exit", pid)
	}
}

// waitUntil polls cond until it holds, failing the test after timeout.
func waitUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// faultsCompose: web writes to a named volume, restarts always, and is
// healthy two seconds after each start (so that an up waits on it: a
// window to kill things in) while /data/sick is absent; side depends on
// web being healthy.
const faultsCompose = `
services:
  web:
    image: ` + testImage + `
    command: ["sh", "-c", "echo start >> /data/starts; rm -f /tmp/ready; (sleep 2; touch /tmp/ready) & exec sleep 600"]
    stop_signal: SIGKILL
    restart: always
    volumes: ["data:/data"]
    healthcheck:
      test: ["CMD-SHELL", "test -f /tmp/ready && test ! -f /data/sick"]
      interval: 1s
      timeout: 2s
      retries: 1
      start_period: 10s
      start_interval: 500ms
  side:
    image: ` + testImage + `
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    restart: always
    depends_on:
      web: {condition: service_healthy}
volumes:
  data: {}
`

// TestFaults kills, with SIGKILL, each process a running project depends
// on, on a private containerd: a service's process, the project's
// background process, containerd while the project runs, containerd during
// an up, and berth up itself mid-start. After each the project recovers as
// it should, and the next up -d --wait converges with no duplicate
// container and nothing lost in the named volume.
func TestFaults(t *testing.T) {
	d := newPrivateDaemon(t)
	fp := newFaultProject(t, d, faultsCompose)
	fp.must("up", "-d", "--wait")
	var markers []string
	mark := func(name string) {
		fp.writeMarker(name)
		markers = append(markers, name)
	}
	restarted := func(want int) func() bool {
		return func() bool {
			e := fp.entry("web")
			return e.State == "running" && e.RestartCount == want && fp.taskPid("web") != 0
		}
	}

	t.Run("service process", func(t *testing.T) {
		mark("service")
		count := fp.entry("web").RestartCount
		syscall.Kill(fp.taskPid("web"), syscall.SIGKILL)
		waitUntil(t, "web restarted by its policy", 30*time.Second, restarted(count+1))
		fp.converge(markers)
	})

	t.Run("project process", func(t *testing.T) {
		mark("project")
		web, daemon := fp.taskPid("web"), fp.daemonPid()
		syscall.Kill(daemon, syscall.SIGKILL)
		waitGone(t, daemon)
		// Nothing checks web's health now: ps must not say healthy.
		if e := fp.entry("web"); e.Health != "unknown" || !strings.Contains(e.Status, "health: unknown") {
			t.Errorf("with the project process dead, ps shows web's health %q, status %q; want unknown", e.Health, e.Status)
		}
		fp.converge(markers)
		if got := fp.taskPid("web"); got != web {
			t.Errorf("up after the project process died restarted web (pid %d, was %d)", got, web)
		}
		if pid := fp.daemonPid(); pid == daemon || exited(pid) {
			t.Errorf("up did not start a new project process (pid %d, was %d)", pid, daemon)
		}
		// The new process supervises.
		count := fp.entry("web").RestartCount
		syscall.Kill(fp.taskPid("web"), syscall.SIGKILL)
		waitUntil(t, "web restarted by the new project process", 30*time.Second, restarted(count+1))
	})

	t.Run("containerd while running", func(t *testing.T) {
		mark("containerd")
		web, daemon := fp.taskPid("web"), fp.daemonPid()
		killed := time.Now()
		old := d.killContainerd()
		// No berth command runs: the project process notices, starts
		// containerd again and supervises again.
		waitUntil(t, "the project process to reconnect", 60*time.Second, func() bool {
			st := fp.supervision()
			return st.State == runstate.Supervising && st.Since.After(killed) && d.containerdPid() != 0 && d.containerdPid() != old
		})
		if log := fp.systemLog(); !strings.Contains(log, "lost the runtime's events") || !strings.Contains(log, "connected again") {
			t.Errorf("the project process's log does not tell of the reconnection:\n%s", log)
		}
		if fp.daemonPid() != daemon {
			t.Errorf("the project process changed (%d, was %d): it should have reconnected", fp.daemonPid(), daemon)
		}
		// containerd's restart leaves the shims, and so the containers.
		if got := fp.taskPid("web"); got != web {
			t.Logf("web's process changed with containerd's restart (pid %d, was %d)", got, web)
		}
		// A restart: always service killed afterwards is restarted.
		count := fp.entry("web").RestartCount
		syscall.Kill(fp.taskPid("web"), syscall.SIGKILL)
		waitUntil(t, "web restarted after containerd's restart", 30*time.Second, restarted(count+1))
		waitUntil(t, "web healthy again", 30*time.Second, func() bool { return fp.entry("web").Health == "healthy" })
		// A healthcheck that starts failing is noticed, and its recovery.
		fp.must("exec", "-T", "web", "touch", "/data/sick")
		waitUntil(t, "web unhealthy", 30*time.Second, func() bool { return fp.entry("web").Health == "unhealthy" })
		fp.must("exec", "-T", "web", "rm", "/data/sick")
		waitUntil(t, "web healthy", 30*time.Second, func() bool { return fp.entry("web").Health == "healthy" })

		// ps tells the truth while nothing probes: a frozen project process
		// leaves web's health unknown once its last probe is overdue
		// (interval 1s + timeout 2s + 5s), and healthy again after.
		// (When exactly is TestShownHealth's business: a probe's own
		// duration under load makes it vary here.)
		syscall.Kill(daemon, syscall.SIGSTOP)
		t.Cleanup(func() { syscall.Kill(daemon, syscall.SIGCONT) }) // even when the test fails: down must be able to stop it
		waitUntil(t, "ps to show web's health unknown", 30*time.Second, func() bool { return fp.entry("web").Health == "unknown" })
		syscall.Kill(daemon, syscall.SIGCONT)
		waitUntil(t, "web healthy after the thaw", 30*time.Second, func() bool { return fp.entry("web").Health == "healthy" })
		fp.converge(markers)
	})

	// For the two cases below: an up that recreates web and waits for its
	// health (two seconds) before it starts side; the fault strikes once
	// web's new process runs.
	upMidStart := func(t *testing.T, fault func(up *exec.Cmd)) {
		old := fp.taskPid("web")
		up, out := fp.start("up", "-d", "--force-recreate", "--wait")
		waitUntil(t, "up to start web's new container", 60*time.Second, func() bool {
			pid := fp.taskPid("web")
			return pid != 0 && pid != old
		})
		fault(up)
		err := up.Wait()
		t.Logf("the up hit by the fault: %v\n%s", err, out)
	}

	t.Run("containerd during up", func(t *testing.T) {
		mark("during-up")
		upMidStart(t, func(*exec.Cmd) { d.killContainerd() })
		fp.converge(markers)
	})

	t.Run("berth up mid-start", func(t *testing.T) {
		mark("mid-start")
		upMidStart(t, func(up *exec.Cmd) { up.Process.Signal(syscall.SIGKILL) })
		// Its lock went with it: this up does not wait.
		fp.converge(markers)
	})
}

// TestConcurrentUp: ups of one project at once all succeed, one after the
// other, and leave exactly the replicas asked for; an up interrupted while
// it waits for another ends with 130 and makes nothing.
func TestConcurrentUp(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  web:
    image: `+testImage+`
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    deploy:
      replicas: 3
  db:
    image: `+testImage+`
    command: ["sleep", "600"]
    stop_signal: SIGKILL
`, nil)
	runDir := os.Getenv("BERTH_RUN_DIR")
	if runDir == "" {
		runDir = "/run/berth"
	}
	waiting := "waiting for another berth command on project " + p.name + " to finish"

	// Another command holds the project: up waits, and Ctrl-C ends it.
	lock, err := runstate.Lock(context.Background(), runDir, p.name, nil)
	if err != nil {
		t.Fatal(err)
	}
	cmd, out := p.start("up", "-d")
	p.waitFor("up to wait for the lock", 30*time.Second, func() bool { return strings.Contains(out.String(), waiting) })
	cmd.Process.Signal(os.Interrupt)
	var ee *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Errorf("up interrupted while waiting: %v, want exit status 130\n%s", err, out)
	}
	if n := strings.Count(out.String(), waiting); n != 1 {
		t.Errorf("up said %d times that it waits, want once:\n%s", n, out)
	}
	if cs := p.ps(true); len(cs) != 0 {
		t.Errorf("up interrupted while waiting made containers: %+v", cs)
	}
	lock.Unlock()

	const ups = 3
	results := make([]result, ups)
	var wg sync.WaitGroup
	for i := range ups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = p.berth("up", "-d")
		}()
	}
	wg.Wait()
	waited := 0
	for _, r := range results {
		if r.code != 0 {
			t.Errorf("concurrent %s", r)
		}
		if strings.Contains(r.stderr, waiting) {
			waited++
		}
	}
	t.Logf("%d of %d concurrent ups waited for another", waited, ups)
	var names []string
	for _, e := range p.ps(true) {
		names = append(names, e.Name+"="+e.State)
	}
	sort.Strings(names)
	var want []string
	for _, n := range []string{"db-1", "web-1", "web-2", "web-3"} {
		want = append(want, p.name+"-"+n+"=running")
	}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("after concurrent ups: %v, want %v", names, want)
	}
	// down takes the lock file with the project.
	p.must("down", "-t", "0")
	if _, err := os.Stat(runstate.LockPath(runDir, p.name)); !os.IsNotExist(err) {
		t.Errorf("the project's lock file after down: %v", err)
	}
}
