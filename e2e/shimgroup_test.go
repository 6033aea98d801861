//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth/berth/netbridge"
	"github.com/berth/berth/runstate"
)

// shimGroupCompose: a probed service, a plain one and one that restarts
// always; every main process is sh trapping TERM, so stops are quick.
const shimGroupCompose = `
services:
  a:
    image: ` + testImage + `
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]
    healthcheck:
      test: ["CMD-SHELL", "test -d /proc/1"]
      interval: 1s
      timeout: 2s
      retries: 1
      start_period: 10s
      start_interval: 200ms
  b:
    image: ` + testImage + `
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]
  c:
    image: ` + testImage + `
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]
    restart: always
`

// ppid is a process's parent pid, 0 when it is gone.
func ppid(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

// runningTasks are the private daemon's running tasks whose container
// names start with prefix, by name: their main processes' pids.
func (fp *faultProject) runningTasks(prefix string) map[string]int {
	fp.t.Helper()
	out, err := fp.d.tryCtr("tasks", "ls")
	if err != nil {
		fp.t.Fatalf("ctr tasks ls: %v: %s", err, out)
	}
	tasks := map[string]int{}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 3 && strings.HasPrefix(f[0], prefix) && f[2] == "RUNNING" {
			pid, _ := strconv.Atoi(f[1])
			tasks[f[0]] = pid
		}
	}
	return tasks
}

// shimOf is the shim that serves a task: its main process's parent (the
// shim is its subreaper), checked to be a runc shim of the private daemon.
func (fp *faultProject) shimOf(name string, pid int) int {
	fp.t.Helper()
	shim := ppid(pid)
	if c := cmdline(shim); !strings.Contains(c, "containerd-shim-runc-v2") || !strings.Contains(c, fp.d.address()) {
		fp.t.Fatalf("the parent of %s's process %d is %d %q, not a shim of the private containerd", name, pid, shim, strings.ReplaceAll(c, "\x00", " "))
	}
	return shim
}

// projectShims are the pids of the private daemon's shims started for a
// container of the project (a shim is named after the first task it
// served).
func (fp *faultProject) projectShims() []int {
	var out []int
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		// Not containerd's `shim … delete` runs, which clean up after a
		// dead shim's tasks and end at once.
		c := cmdline(pid)
		named := strings.Contains(c, "-id\x00"+fp.name+"-") || strings.Contains(c, "-id\x00"+fp.anchor()+"\x00")
		if strings.Contains(c, "containerd-shim") && strings.Contains(c, fp.d.address()) && named &&
			!strings.HasSuffix(strings.TrimRight(c, "\x00"), "\x00delete") && !exited(pid) {
			out = append(out, pid)
		}
	}
	sort.Ints(out)
	return out
}

// anchor is the ID of the project's shim anchor container.
func (fp *faultProject) anchor() string { return "berth.shim." + fp.name }

// shimCgroup is the shim's cgroup directory that weighs its CPU: on
// cgroup v1 its cpu hierarchy's, on v2 the unified one.
func shimCgroup(t *testing.T, shim int) (dir, weightFile string) {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", shim))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		if f[0] == "0" && f[1] == "" {
			if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
				return "/sys/fs/cgroup" + f[2], "cpu.weight"
			}
		}
		for _, ctl := range strings.Split(f[1], ",") {
			if ctl == "cpu" {
				return "/sys/fs/cgroup/cpu" + f[2], "cpu.shares"
			}
		}
	}
	t.Fatalf("shim %d: no cpu cgroup in %q", shim, raw)
	return "", ""
}

// assertOneShim checks that every running task of the project is served
// by one shim, the only shim of the project, and returns it with the
// tasks.
func (fp *faultProject) assertOneShim(want int) (int, map[string]int) {
	fp.t.Helper()
	tasks := fp.runningTasks(fp.name + "-")
	if len(tasks) != want {
		fp.t.Fatalf("%d running tasks of the project, want %d: %v", len(tasks), want, tasks)
	}
	shims := map[int][]string{}
	var shim int
	for name, pid := range tasks {
		shim = fp.shimOf(name, pid)
		shims[shim] = append(shims[shim], name)
	}
	if len(shims) != 1 {
		fp.t.Fatalf("the project's tasks are served by %d shims, want one: %v", len(shims), shims)
	}
	if all := fp.projectShims(); len(all) != 1 || all[0] != shim {
		fp.t.Fatalf("the project's shims are %v, want only %d", all, shim)
	}
	return shim, tasks
}

// assertUnchanged checks that the named tasks still run with the same
// main processes.
func (fp *faultProject) assertUnchanged(what string, before map[string]int, names ...string) {
	fp.t.Helper()
	now := fp.runningTasks(fp.name + "-")
	for _, n := range names {
		if now[n] != before[n] {
			fp.t.Errorf("after %s: %s's process is %d, was %d", what, n, now[n], before[n])
		}
	}
}

// TestShimGroup: the containers of a compose project, one-offs included,
// share one runc shim (berth's default; the test sets
// BERTH_SHIM_GROUP=project all the same), started for
// the project's anchor container and weighted tenfold; a plain container
// has its own. Restarting,
// killing, stopping and removing one container leaves the others running
// and supervised under the same shim, probes and exec go through it, a
// restart of containerd finds them all again, and down leaves no shim of
// the project. The shim's death ends all their tasks (what sharing
// costs). On a private containerd, which the test kills.
func TestShimGroup(t *testing.T) {
	d := newPrivateDaemon(t)
	d.env = append(d.env, "BERTH_SHIM_GROUP=project")
	fp := newFaultProject(t, d, shimGroupCompose)
	ctr := func(s string) string { return fp.name + "-" + s + "-1" }
	healthy := func() bool { return fp.entry("a").Health == "healthy" }
	fp.must("up", "-d", "--wait")
	shim, tasks := fp.assertOneShim(3)
	if c := cmdline(shim); !strings.Contains(c, "-id\x00"+fp.anchor()+"\x00") {
		t.Errorf("the project's shim %q was not started for its anchor %s", strings.ReplaceAll(c, "\x00", " "), fp.anchor())
	}
	// It does many shims' work: it has ten times a process's CPU weight.
	cg, weightFile := shimCgroup(t, shim)
	if !strings.HasSuffix(cg, "-shims/"+fp.name) {
		t.Errorf("the shim's cgroup is %s, want one of its own (…-shims/%s)", cg, fp.name)
	}
	want := map[string]string{"cpu.shares": "10240", "cpu.weight": "1000"}[weightFile]
	if got, err := os.ReadFile(cg + "/" + weightFile); err != nil || strings.TrimSpace(string(got)) != want {
		t.Errorf("the shim's %s is %q (%v), want %s", weightFile, got, err, want)
	}

	t.Run("one-off and plain container", func(t *testing.T) {
		name := strings.TrimSpace(fp.must("run", "-d", "--rm", "a", "sleep", "600").stdout)
		pid := fp.runningTasks(name)[name]
		if pid == 0 {
			t.Fatalf("one-off %q does not run", name)
		}
		if got := fp.shimOf(name, pid); got != shim {
			t.Errorf("one-off %s is served by shim %d, the project's by %d", name, got, shim)
		}
		// Its main process killed from the host takes only it down.
		syscall.Kill(pid, syscall.SIGKILL)
		waitUntil(t, "the one-off to end", 30*time.Second, func() bool { return fp.runningTasks(name)[name] == 0 })
		fp.assertUnchanged("the one-off's SIGKILL", tasks, ctr("a"), ctr("b"), ctr("c"))

		plain := fp.name + "-plain"
		fp.must("container", "run", "-d", "--network", "none", "--name", plain, testImage, "sleep", "600")
		t.Cleanup(func() { fp.berth("container", "rm", "-f", plain) })
		own := fp.shimOf(plain, fp.runningTasks(plain)[plain])
		if own == shim {
			t.Errorf("plain container %s shares the project's shim %d; it should have its own", plain, shim)
		}
		fp.must("container", "rm", "-f", plain)
		waitUntil(t, "the plain container's shim to exit", 10*time.Second, func() bool { return exited(own) })
		fp.assertOneShim(3)
	})

	t.Run("probe and exec", func(t *testing.T) {
		waitUntil(t, "a healthy", 30*time.Second, healthy)
		if out := strings.TrimSpace(fp.must("exec", "-T", "b", "echo", "through the shim").stdout); out != "through the shim" {
			t.Errorf("exec in b printed %q", out)
		}
	})

	t.Run("restart one", func(t *testing.T) {
		fp.must("restart", "-t", "5", "b")
		got, now := fp.assertOneShim(3)
		if got != shim {
			t.Errorf("after restart b: shim %d, was %d", got, shim)
		}
		if now[ctr("b")] == tasks[ctr("b")] {
			t.Errorf("restart b left b's process %d", now[ctr("b")])
		}
		fp.assertUnchanged("restart b", tasks, ctr("a"), ctr("c"))
		tasks = now
	})

	t.Run("kill one from the host", func(t *testing.T) {
		// c restarts by its policy: the project process still supervises
		// it through the shared shim.
		count := fp.entry("c").RestartCount
		syscall.Kill(tasks[ctr("c")], syscall.SIGKILL)
		waitUntil(t, "c restarted by its policy", 30*time.Second, func() bool {
			e := fp.entry("c")
			return e.State == "running" && e.RestartCount == count+1 && fp.runningTasks(ctr("c"))[ctr("c")] != 0
		})
		got, now := fp.assertOneShim(3)
		if got != shim {
			t.Errorf("after c's SIGKILL: shim %d, was %d", got, shim)
		}
		fp.assertUnchanged("c's SIGKILL", tasks, ctr("a"), ctr("b"))
		tasks = now
	})

	t.Run("stop and start one", func(t *testing.T) {
		fp.must("stop", "-t", "5", "a")
		if e := fp.entry("a"); e.State != "exited" {
			t.Errorf("after stop a: a is %s", e.State)
		}
		fp.assertUnchanged("stop a", tasks, ctr("b"), ctr("c"))
		if exited(shim) {
			t.Fatalf("stop a ended the shim the others need")
		}
		fp.must("start", "a")
		got, now := fp.assertOneShim(3)
		if got != shim {
			t.Errorf("after start a: shim %d, was %d", got, shim)
		}
		waitUntil(t, "a healthy after its start", 30*time.Second, healthy)
		tasks = now
	})

	t.Run("remove one", func(t *testing.T) {
		fp.must("rm", "-s", "-f", "b")
		fp.assertUnchanged("rm b", tasks, ctr("a"), ctr("c"))
		if got, _ := fp.assertOneShim(2); got != shim {
			t.Errorf("after rm b: shim %d, was %d", got, shim)
		}
		fp.must("up", "-d", "--wait")
		got, now := fp.assertOneShim(3)
		if got != shim {
			t.Errorf("b recreated under shim %d, the others' is %d", got, shim)
		}
		tasks = now
	})

	t.Run("the anchor's task deleted", func(t *testing.T) {
		// containerd hands a new task to the anchor's shim only while
		// it knows the anchor's task: without it, berth makes the task
		// again, which finds the same shim.
		d.ctr("tasks", "kill", "-s", "SIGKILL", fp.anchor())
		waitUntil(t, "the anchor's process to end", 30*time.Second, func() bool {
			out, _ := d.tryCtr("tasks", "ls")
			for _, line := range strings.Split(out, "\n") {
				if f := strings.Fields(line); len(f) >= 3 && f[0] == fp.anchor() {
					return f[2] == "STOPPED"
				}
			}
			return false
		})
		d.ctr("tasks", "rm", fp.anchor())
		if exited(shim) {
			t.Fatal("the anchor's task's removal ended the shim the others need")
		}
		fp.must("restart", "-t", "5", "b")
		got, now := fp.assertOneShim(3)
		if got != shim {
			t.Errorf("after the anchor's task was deleted, b restarted under shim %d, was %d", got, shim)
		}
		fp.assertUnchanged("the anchor's task deleted", tasks, ctr("a"), ctr("c"))
		tasks = now
	})

	t.Run("containerd restart", func(t *testing.T) {
		killed := time.Now()
		old := d.killContainerd()
		waitUntil(t, "the project process to reconnect", 60*time.Second, func() bool {
			st := fp.supervision()
			return st.State == runstate.Supervising && st.Since.After(killed) && d.containerdPid() != 0 && d.containerdPid() != old
		})
		for _, s := range []string{"a", "b", "c"} {
			if e := fp.entry(s); e.State != "running" {
				t.Errorf("after containerd's restart: %s is %s", s, e.State)
			}
		}
		got, now := fp.assertOneShim(3)
		if got != shim {
			t.Errorf("after containerd's restart: shim %d, was %d", got, shim)
		}
		fp.assertUnchanged("containerd's restart", tasks, ctr("a"), ctr("b"), ctr("c"))
		tasks = now
		if out := strings.TrimSpace(fp.must("exec", "-T", "b", "echo", "again").stdout); out != "again" {
			t.Errorf("exec in b after containerd's restart printed %q", out)
		}
		waitUntil(t, "a probed healthy after containerd's restart", 30*time.Second, healthy)
		count := fp.entry("c").RestartCount
		syscall.Kill(tasks[ctr("c")], syscall.SIGKILL)
		waitUntil(t, "c restarted after containerd's restart", 30*time.Second, func() bool {
			e := fp.entry("c")
			return e.State == "running" && e.RestartCount == count+1
		})
		fp.must("stop", "-t", "5", "b")
		if e := fp.entry("b"); e.State != "exited" {
			t.Errorf("stop b after containerd's restart: b is %s", e.State)
		}
		if got, _ := fp.assertOneShim(2); got != shim {
			t.Errorf("after stop b: shim %d, was %d", got, shim)
		}
	})

	t.Run("the shim killed", func(t *testing.T) {
		// What sharing costs: the shim's death (the OOM killer's, say)
		// ends every task it serves, as a pod's shim's does; c's policy
		// brings it back, under a new shim.
		count := fp.entry("c").RestartCount
		syscall.Kill(shim, syscall.SIGKILL)
		waitGone(t, shim)
		// (ps then shows a as created, its exit unrecorded: as for a
		// container whose own shim dies.)
		waitUntil(t, "a to end with its shim", 30*time.Second, func() bool {
			return fp.runningTasks(ctr("a"))[ctr("a")] == 0 && fp.entry("a").State != "running"
		})
		waitUntil(t, "c restarted by its policy", 30*time.Second, func() bool {
			e := fp.entry("c")
			return e.State == "running" && e.RestartCount == count+1 && fp.runningTasks(ctr("c"))[ctr("c")] != 0
		})
		if got, _ := fp.assertOneShim(1); got == shim {
			t.Errorf("c restarted under the killed shim %d", shim)
		}
	})

	t.Run("down", func(t *testing.T) {
		_, now := fp.assertOneShim(1)
		cg, _ := shimCgroup(t, ppid(now[ctr("c")]))
		fp.must("down", "-t", "5")
		waitUntil(t, "no shim of the project", 10*time.Second, func() bool { return len(fp.projectShims()) == 0 })
		if out, _ := d.tryCtr("containers", "ls", "-q"); strings.Contains(out, fp.anchor()) {
			t.Errorf("down left the anchor container %s", fp.anchor())
		}
		if out, _ := d.tryCtr("sandboxes", "ls"); strings.Contains(out, fp.anchor()) {
			t.Errorf("down left the sandbox %s: %s", fp.anchor(), out)
		}
		if _, err := os.Stat(cg); err == nil {
			t.Errorf("down left the shim's cgroup %s", cg)
		}
		// The private daemon's only project: the parent goes too.
		if _, err := os.Stat(filepath.Dir(cg)); err == nil {
			t.Errorf("down left the shims' parent cgroup %s", filepath.Dir(cg))
		}
		bridge := netbridge.BridgeName(d.scoped(fp.name + "_default"))
		if _, err := os.Stat("/sys/class/net/" + bridge); err == nil {
			t.Errorf("down left the bridge %s", bridge)
		}
		for _, r := range berthRules() {
			if strings.HasPrefix(r.tag, "berth-network:"+d.scoped(fp.name)) {
				t.Errorf("down left the rule %s: %s", r.chain, r.tag)
			}
		}
	})
}

// TestShimGroupManyStopAtOnce: 36 services sharing their project's shim
// (the default) stop and go at once, as down and stop do them, with every
// stop ending at its process's exit and nothing left. containerd's runc
// shim handles its exits one at a time; a task deleted before the shim
// published its exit held that up, and once 32 exits queued each took a
// second: stops timed out "still running 10s after SIGKILL".
func TestShimGroupManyStopAtOnce(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("services:\n")
	for i := 1; i <= 36; i++ {
		fmt.Fprintf(&b, "  s%02d:\n    image: %s\n    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 600 & wait\"]\n", i, testImage)
	}
	p := newProject(t, b.String(), nil)
	p.must("up", "-d", "--wait")
	if r := p.berth("stop"); r.code != 0 {
		t.Fatalf("stop of 36 services sharing a shim failed:\n%s", r)
	}
	for _, c := range p.ps(true) {
		if c.State != "exited" {
			t.Errorf("after stop: %s is %s", c.Name, c.State)
		}
	}
	p.must("start")
	if r := p.berth("down"); r.code != 0 {
		t.Fatalf("down of 36 services sharing a shim failed:\n%s", r)
	}
	if strings.Contains(p.must("ps", "-a").stdout, p.name) {
		t.Errorf("down left containers")
	}
}
