//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// watchCompose has web (built: sync of src, sync+restart of conf, rebuild
// on build.txt), other (restart on lib) and owned (sync of src, running as
// 1000:1000). Each main process appends a
// line to /starts when it starts: a restart adds one, a sync does not.
const watchCompose = `services:
  web:
    build: .
    stop_signal: SIGKILL
    command: ["sh", "-c", "echo x >> /starts; exec sleep 100000"]
    develop:
      watch:
        - path: ./src
          action: sync
          target: /app/src
          initial_sync: true
        - path: ./conf
          action: sync+restart
          target: /etc/web
        - path: ./build.txt
          action: rebuild
  other:
    image: ` + testImage + `
    stop_signal: SIGKILL
    command: ["sh", "-c", "echo x >> /starts; exec sleep 100000"]
    develop:
      watch:
        - path: ./lib
          action: restart
  owned:
    image: ` + testImage + `
    user: "1000:1000"
    stop_signal: SIGKILL
    command: ["sleep", "100000"]
    develop:
      watch:
        - path: ./src
          action: sync
          target: /app/src
`

func watchFiles() map[string]string {
	return map[string]string{
		"Dockerfile":    "FROM " + testImage + "\nCOPY build.txt /build.txt\n",
		".dockerignore": "src/*.secret\n",
		"build.txt":     "v1",
		"src/first.txt": "initial",
		"conf/app.conf": "a=1",
		"lib/x":         "x",
	}
}

// watchTaskPID is the host pid of the running main process of the
// service's first container, 0 when it has none.
func watchTaskPID(t testing.TB, p *project, service string) int {
	t.Helper()
	out, err := exec.Command(ctrBin, "--address", daemonAddress(), "-n", "berth", "tasks", "ls").CombinedOutput()
	if err != nil {
		t.Fatalf("ctr tasks ls: %v: %s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == p.name+"-"+service+"-1" && f[2] == "RUNNING" {
			pid, _ := strconv.Atoi(f[1])
			return pid
		}
	}
	return 0
}

// inContainer reads a file of the service's running container through
// its main process's root (as the container sees it); ok is false when
// it is not there.
func inContainer(t testing.TB, p *project, service, path string) (string, bool) {
	t.Helper()
	pid := watchTaskPID(t, p, service)
	if pid == 0 {
		return "", false
	}
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "root", path))
	return string(b), err == nil
}

func starts(t testing.TB, p *project, service string) int {
	s, _ := inContainer(t, p, service, "/starts")
	return strings.Count(s, "\n")
}

func containerID(t testing.TB, p *project, service string) string {
	t.Helper()
	for _, e := range p.ps(false) {
		if e.Service == service {
			return e.ID
		}
	}
	return ""
}

// removeWatchImage removes web's built image, so that a run starts from v1.
func removeWatchImage(p *project) {
	exec.Command(ctrBin, "--address", daemonAddress(), "-n", "berth", "images", "rm", "docker.io/library/"+p.name+"-web:latest").Run() //nolint:errcheck // may be absent
}

func TestWatchActions(t *testing.T) {
	p := newProject(t, watchCompose, watchFiles())
	removeWatchImage(p)
	t.Cleanup(func() { removeWatchImage(p) })
	cmd, out := p.start("watch")
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cmd.Process.Signal(syscall.SIGINT) //nolint:errcheck // it may have ended
		if err := cmd.Wait(); err != nil {
			t.Errorf("watch after Ctrl-C: %v\n%s", err, out)
		}
	}
	defer stop()
	const deadline = 60 * time.Second
	p.waitFor("watch to start", 3*time.Minute, func() bool { return strings.Contains(out.String(), "Watching other, owned, web") })

	// initial_sync copied src at start.
	if s, _ := inContainer(t, p, "web", "/build.txt"); s != "v1" {
		t.Fatalf("web's /build.txt = %q at start, want v1", s)
	}
	p.waitFor("the initial sync", deadline, func() bool {
		s, _ := inContainer(t, p, "web", "/app/src/first.txt")
		return s == "initial"
	})
	webID, otherID := containerID(t, p, "web"), containerID(t, p, "other")
	if webID == "" || otherID == "" {
		t.Fatalf("no containers: ps %+v", p.ps(true))
	}

	// sync: a new file (in a new directory), then a .dockerignore'd one
	// followed by another: once that one is there, the ignored one would be.
	p.write("src/new/a.txt", "hello")
	p.waitFor("src/new/a.txt in web", deadline, func() bool {
		s, _ := inContainer(t, p, "web", "/app/src/new/a.txt")
		return s == "hello"
	})
	// Synced as the container's user, as compose does: what it wrote,
	// and the directory made for it.
	p.waitFor("src/new/a.txt in owned", deadline, func() bool {
		s, _ := inContainer(t, p, "owned", "/app/src/new/a.txt")
		return s == "hello"
	})
	for _, f := range []string{"/app/src/new/a.txt", "/app/src/new"} {
		st, err := os.Lstat(filepath.Join("/proc", strconv.Itoa(watchTaskPID(t, p, "owned")), "root", f))
		if err != nil {
			t.Fatal(err)
		}
		if sys := st.Sys().(*syscall.Stat_t); sys.Uid != 1000 || sys.Gid != 1000 {
			t.Errorf("owned's %s belongs to %d:%d, want 1000:1000 (its user)", f, sys.Uid, sys.Gid)
		}
	}
	p.write("src/key.secret", "secret")
	p.write("src/b.txt", "b")
	p.waitFor("src/b.txt in web", deadline, func() bool { _, ok := inContainer(t, p, "web", "/app/src/b.txt"); return ok })
	if _, ok := inContainer(t, p, "web", "/app/src/key.secret"); ok {
		t.Errorf("src/key.secret was synced although .dockerignore names it")
	}
	// A deletion disappears.
	if err := os.Remove(filepath.Join(p.dir, "src/new/a.txt")); err != nil {
		t.Fatal(err)
	}
	p.waitFor("src/new/a.txt gone from web", deadline, func() bool { _, ok := inContainer(t, p, "web", "/app/src/new/a.txt"); return !ok })
	if n := starts(t, p, "web"); n != 1 {
		t.Errorf("web started %d times after syncs, want once (no restart)", n)
	}

	// sync+restart: the file is there and web restarted (same container).
	p.write("conf/app.conf", "a=2")
	p.waitFor("web restarted by the conf rule", deadline, func() bool { return starts(t, p, "web") == 2 })
	if s, _ := inContainer(t, p, "web", "/etc/web/app.conf"); s != "a=2" {
		t.Errorf("/etc/web/app.conf = %q, want a=2", s)
	}
	// restart: other restarts.
	p.write("lib/x", "y")
	p.waitFor("other restarted by the lib rule", deadline, func() bool { return starts(t, p, "other") == 2 })
	if id := containerID(t, p, "web"); id != webID {
		t.Errorf("web's container changed (%s -> %s) without a rebuild", webID, id)
	}

	// rebuild: web's image is rebuilt and only web recreated.
	p.write("build.txt", "v2")
	p.waitFor("web rebuilt", 2*time.Minute, func() bool {
		s, _ := inContainer(t, p, "web", "/build.txt")
		return s == "v2"
	})
	// A new container starts afresh (its /starts has one line); other's
	// was neither recreated nor restarted.
	if n := starts(t, p, "web"); n != 1 {
		t.Errorf("web's /starts has %d lines after the rebuild, want 1 (a new container)", n)
	}
	if n := starts(t, p, "other"); n != 2 {
		t.Errorf("other's /starts has %d lines after web's rebuild, want still 2: only web is recreated", n)
	}
	if id := containerID(t, p, "other"); id != otherID {
		t.Errorf("other's container changed (%s -> %s): the rebuild of web must recreate only web", otherID, id)
	}
	stop()
	for _, want := range []string{"web | synced 1 file in ", "web | synced 1 file and restarted in ", "other | restarted in ", "web | rebuilt and recreated in "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("watch output lacks %q:\n%s", want, out)
		}
	}
	// Ctrl-C left the stack running.
	if ps := p.ps(false); len(ps) != 3 {
		t.Errorf("after watch: %d running containers, want 3 (watch leaves them running)", len(ps))
	}
}

func TestWatchBadInput(t *testing.T) {
	p := newProject(t, "services:\n  db:\n    image: "+testImage+"\n", nil)
	r := p.berth("watch")
	if r.code == 0 || !strings.Contains(r.stderr, "none of the services has develop.watch rules") {
		t.Errorf("watch of a project without rules: %s", r)
	}
	if ps := p.ps(true); len(ps) != 0 {
		t.Errorf("watch refused but left containers: %+v", ps)
	}
	r = p.berth("up", "-d", "--watch")
	if r.code == 0 || !strings.Contains(r.stderr, "--watch needs attached mode") {
		t.Errorf("up -d --watch: %s", r)
	}
}

// TestWatchUpAttached: up --watch runs sync+exec while attached, and
// Ctrl-C stops the stack as attached up does.
func TestWatchUpAttached(t *testing.T) {
	p := newProject(t, `services:
  web:
    image: `+testImage+`
    stop_signal: SIGKILL
    command: ["sleep", "100000"]
    develop:
      watch:
        - path: ./hooks
          action: sync+exec
          target: /hooks
          exec:
            command: ["sh", "-c", "cat /hooks/h > /ran"]
`, map[string]string{"hooks/.keep": ""})
	cmd, out := p.start("up", "--watch")
	p.waitFor("up --watch to watch", 2*time.Minute, func() bool { return strings.Contains(out.String(), "Watching web") })
	p.write("hooks/h", "ran once")
	p.waitFor("the exec to run after the sync", time.Minute, func() bool {
		s, _ := inContainer(t, p, "web", "/ran")
		return s == "ran once"
	})
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	cmd.Wait() //nolint:errcheck // interrupted: exit 130
	if !strings.Contains(out.String(), "web | synced 1 file and ran sh -c cat /hooks/h > /ran in ") {
		t.Errorf("up --watch output lacks the sync+exec line:\n%s", out)
	}
	if ps := p.ps(false); len(ps) != 0 {
		t.Errorf("after Ctrl-C of up --watch: %d running containers, want none (stopped as attached up does)\n%s", len(ps), out)
	}
}
