//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestExecDetachPrivileged: exec -d returns at once and the command goes
// on in the container; --privileged gives the command the capabilities
// the service dropped; --no-tty is compose's spelling of -T.
func TestExecDetachPrivileged(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  app:
    image: `+testImage+`
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    cap_drop: [ALL]
`, nil)
	p.must("up", "-d")
	// The detached command waits for the test's word, so that its result
	// cannot come before the test looks.
	cmd, out := p.start("exec", "-d", "app", "sh", "-c", "while [ ! -e /tmp/go ]; do sleep 0.1; done; echo done > /tmp/detached")
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil || out.String() != "" {
			t.Fatalf("exec -d: %v, printed %q", err, out.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill() //nolint:errcheck // failing anyway
		t.Fatal("exec -d waited for its command, which waits for the test")
	}
	if got := p.berth("exec", "--no-tty", "app", "cat", "/tmp/detached"); got.code == 0 {
		t.Errorf("/tmp/detached is there before the detached command was told to write it: %s", got)
	}
	p.must("exec", "-T", "app", "touch", "/tmp/go")
	p.waitFor("the detached command to finish", 15*time.Second, func() bool {
		return strings.TrimSpace(p.berth("exec", "-T", "app", "cat", "/tmp/detached").stdout) == "done"
	})
	capEff := func(args ...string) string {
		out := p.must(append(append([]string{"exec", "-T"}, args...), "app", "sh", "-c", "grep CapEff /proc/self/status")...).stdout
		return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(out), "CapEff:"))
	}
	if got := capEff(); got != "0000000000000000" {
		t.Errorf("exec in a cap_drop: [ALL] service: CapEff %s, want none", got)
	}
	if got := capEff("--privileged"); got == "0000000000000000" || got == "" {
		t.Errorf("exec --privileged: CapEff %q, want every capability", got)
	}
}

// TestVolumesCommand: berth volumes lists the project's volumes, or those
// the named services mount, as docker compose volumes does.
func TestVolumesCommand(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  db:
    image: `+testImage+`
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    volumes: [data:/data]
  web:
    image: `+testImage+`
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    volumes: [cache:/cache]
volumes:
  data:
  cache:
`, nil)
	p.must("up", "-d")
	if got, want := p.must("volumes", "-q").stdout, p.name+"_cache\n"+p.name+"_data\n"; got != want {
		t.Errorf("volumes -q = %q, want %q", got, want)
	}
	if got, want := p.must("volumes", "-q", "db").stdout, p.name+"_data\n"; got != want {
		t.Errorf("volumes -q db = %q, want %q", got, want)
	}
	var v struct{ Name, Driver string }
	if err := json.Unmarshal([]byte(p.must("volumes", "--format", "json", "web").stdout), &v); err != nil || v.Name != p.name+"_cache" || v.Driver != "local" {
		t.Errorf("volumes --format json web = %+v (%v)", v, err)
	}
	if r := p.berth("volumes", "nosuch"); r.code == 0 || !strings.Contains(r.stderr, "nosuch") {
		t.Errorf("volumes of an unknown service: %s", r)
	}
	if got := p.must("version", "--format", "json").stdout; !strings.HasPrefix(got, `{"version":`) {
		t.Errorf("version --format json = %q", got)
	}
}

// TestRestartNoDepsKillRemoveOrphans: restart --no-deps leaves alone a
// service that depends on the restarted one with restart: true; kill
// --remove-orphans removes a service gone from the file.
func TestRestartNoDepsKillRemoveOrphans(t *testing.T) {
	t.Parallel()
	services := `
services:
  db:
    image: ` + testImage + `
    command: ["sleep", "600"]
    stop_signal: SIGKILL
  api:
    image: ` + testImage + `
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    depends_on:
      db: {condition: service_started, restart: true}
`
	p := newProject(t, services+`
  old:
    image: `+testImage+`
    command: ["sleep", "600"]
    stop_signal: SIGKILL
`, nil)
	p.must("up", "-d")
	db, api := p.name+"-db-1", p.name+"-api-1"
	apiPid, dbPid := taskPid(t, api), taskPid(t, db)
	p.must("restart", "--no-deps", "db")
	if taskPid(t, db) == dbPid {
		t.Errorf("restart --no-deps db did not restart db")
	}
	if taskPid(t, api) != apiPid {
		t.Errorf("restart --no-deps db restarted api, which depends on it with restart: true")
	}
	apiPid = taskPid(t, api)
	p.must("restart", "db")
	if taskPid(t, api) == apiPid {
		t.Errorf("restart db did not restart api (depends_on restart: true)")
	}

	p.write("compose.yaml", services)
	p.must("kill", "--remove-orphans", "db")
	var left []string
	for _, e := range p.ps(true) {
		left = append(left, e.Name+"="+e.State)
	}
	if got, want := strings.Join(left, " "), api+"=running "+db+"=exited"; got != want {
		t.Errorf("after kill --remove-orphans db: %s, want %s", got, want)
	}
}

// TestEventsUntil: events --until ends the stream by itself at that time,
// with the events that came before it.
func TestEventsUntil(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  app:
    image: `+testImage+`
    command: ["sleep", "600"]
    stop_signal: SIGKILL
`, nil)
	p.must("up", "-d")
	until := time.Now().Add(4 * time.Second)
	s := p.events("--until", strconv.FormatInt(until.Unix()+1, 10))
	p.waitFor("the event stream to see a kill", 10*time.Second, func() bool {
		p.must("kill", "app")
		p.must("start", "app")
		return s.has("app", "kill", nil)
	})
	select {
	case <-s.done:
	case <-time.After(time.Until(until) + 10*time.Second):
		t.Fatal("events --until did not end its stream")
	}
	if err := s.cmd.Wait(); err != nil {
		t.Errorf("events --until ended with %v: %s", err, s.stderr.String())
	}
}

// TestPsFilterOrphans: ps --filter status=X, --orphans=false and
// --no-trunc, as docker compose ps has them.
func TestPsFilterOrphans(t *testing.T) {
	t.Parallel()
	web := `
services:
  web:
    image: ` + testImage + `
    command: ["sh", "-c", "echo a long command line that ps truncates; exec sleep 600"]
    stop_signal: SIGKILL
`
	p := newProject(t, web+`
  job:
    image: `+testImage+`
    command: ["true"]
`, nil)
	p.must("up", "-d")
	p.waitFor("job to exit", 10*time.Second, func() bool { return p.entry(p.name+"-job-1").State == "exited" })
	if got, want := p.must("ps", "--filter", "status=exited", "--services").stdout, "job\n"; got != want {
		t.Errorf("ps --filter status=exited --services = %q, want %q", got, want)
	}
	if r := p.berth("ps", "--filter", "name=web"); r.code == 0 || !strings.Contains(r.stderr, "status=") {
		t.Errorf("ps --filter name=web: %s", r)
	}
	p.write("compose.yaml", web)
	if got, want := p.must("ps", "-a", "--services").stdout, "job\nweb\n"; got != want {
		t.Errorf("ps -a --services with an orphan = %q, want %q", got, want)
	}
	if got, want := p.must("ps", "-a", "--orphans=false", "--services").stdout, "web\n"; got != want {
		t.Errorf("ps -a --orphans=false --services = %q, want %q", got, want)
	}
	if out := p.must("ps", "--no-trunc").stdout; !strings.Contains(out, "exec sleep 600") {
		t.Errorf("ps --no-trunc truncated the command:\n%s", out)
	}
	if out := p.must("ps").stdout; strings.Contains(out, "exec sleep 600") {
		t.Errorf("ps did not truncate the command:\n%s", out)
	}
}

// TestRunFlags: run --cap-add/--cap-drop, --label, --use-aliases,
// --remove-orphans, --pull never and -q, as docker compose run has them.
func TestRunFlags(t *testing.T) {
	t.Parallel()
	web := `
services:
  web:
    image: ` + testImage + `
    command: ["sleep", "600"]
    stop_signal: SIGKILL
`
	p := newProject(t, web+`
  old:
    image: `+testImage+`
    command: ["sleep", "600"]
    stop_signal: SIGKILL
`, nil)
	p.must("up", "-d")
	capEff := func(args ...string) string {
		out := p.must(append(append([]string{"run", "--rm", "-T"}, args...), "web", "sh", "-c", "grep CapEff /proc/self/status")...).stdout
		return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(out), "CapEff:"))
	}
	if got := capEff("--cap-drop", "ALL"); got != "0000000000000000" {
		t.Errorf("run --cap-drop ALL: CapEff %s, want none", got)
	}
	if got := capEff("--cap-drop", "ALL", "--cap-add", "NET_ADMIN"); got != "0000000000001000" {
		t.Errorf("run --cap-drop ALL --cap-add NET_ADMIN: CapEff %s, want 0000000000001000", got)
	}

	// -q -d prints nothing; the label is on the container.
	r := p.must("run", "-d", "-q", "--name", p.name+"-labelled", "--label", "purpose=e2e", "web", "sleep", "600")
	if r.stdout != "" {
		t.Errorf("run -d -q printed %q", r.stdout)
	}
	if info := ctr(t, "containers", "info", p.name+"-labelled"); !strings.Contains(info, `"purpose": "e2e"`) {
		t.Errorf("run --label purpose=e2e: the container's labels:\n%s", info)
	}

	// A one-off answers to the service's name only with --use-aliases.
	resolve := func(args ...string) string {
		script := "nslookup web | grep -c Address: || true"
		return strings.TrimSpace(p.must(append(append([]string{"run", "--rm", "-T"}, args...), "web", "sh", "-c", script)...).stdout)
	}
	// The server's address, and for the one-off asking with --use-aliases
	// its own too (nslookup counts the server's line as one).
	if plain, aliased := resolve(), resolve("--use-aliases"); aliased <= plain {
		t.Errorf("run --use-aliases: web resolves to %s addresses, without it %s; want more with it", aliased, plain)
	}

	if r := p.berth("run", "--rm", "--pull", "sometimes", "web", "true"); r.code == 0 || !strings.Contains(r.stderr, "--pull") {
		t.Errorf("run --pull sometimes: %s", r)
	}
	p.write("compose.yaml", web)
	p.must("run", "--rm", "--remove-orphans", "web", "true")
	for _, e := range p.ps(true) {
		if e.Service == "old" {
			t.Errorf("run --remove-orphans left %s", e.Name)
		}
	}
}

// TestBuildFlags: build --check runs the Dockerfile checks without
// building, --print prints the bake file, --memory limits RUN steps,
// --provenance=false is accepted and --builder names berth's own only.
func TestBuildFlags(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  app:
    build: .
    image: `+strings.ToLower(t.Name())+`.local/app
`, map[string]string{"Dockerfile": `FROM ` + testImage + ` as base
ARG WAIT=0
RUN sleep $WAIT; echo ` + t.Name() + `
`})
	r := p.berth("build", "--check")
	if r.code != 1 || !strings.Contains(r.stdout, "app: ") || !strings.Contains(r.stdout, ":1: FromAsCasing:") || !strings.Contains(r.stdout, "1 warnings have been found") {
		t.Errorf("build --check of a Dockerfile with 'as' in lower case:\n%s", r)
	}
	var bake struct {
		Target map[string]struct {
			Context string   `json:"context"`
			Tags    []string `json:"tags"`
		} `json:"target"`
	}
	if err := json.Unmarshal([]byte(p.must("build", "--print").stdout), &bake); err != nil || bake.Target["app"].Context != p.dir || len(bake.Target["app"].Tags) == 0 {
		t.Errorf("build --print: %+v (%v)", bake, err)
	}
	if r := p.berth("build", "--builder", "cloud"); r.code == 0 || !strings.Contains(r.stderr, "--builder") {
		t.Errorf("build --builder cloud: %s", r)
	}
	if r := p.berth("build", "--sbom", "true"); r.code == 0 || !strings.Contains(r.stderr, "--sbom") {
		t.Errorf("build --sbom true: %s", r)
	}
	// The RUN step's cgroup, seen from the host while it runs, has the
	// limit (cgroup v1 or v2). --no-cache: the step must run, whatever
	// an earlier run of this test left in the machine's build cache.
	p.must("build", "--provenance=false")
	cmd, out := p.start("build", "--no-cache", "--memory", "67m", "--build-arg", "WAIT=15")
	limited := func() bool {
		for _, pattern := range []string{"/sys/fs/cgroup/memory/berth/berth-build-*/memory.limit_in_bytes", "/sys/fs/cgroup/berth/berth-build-*/memory.max"} {
			files, _ := filepath.Glob(pattern)
			for _, f := range files {
				if b, err := os.ReadFile(f); err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(67<<20) {
					return true
				}
			}
		}
		return false
	}
	p.waitFor("a RUN step with a 67 MiB memory limit", 25*time.Second, limited)
	if err := cmd.Wait(); err != nil {
		t.Errorf("build --memory 67m: %v\n%s", err, out.String())
	}
}
