//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// pair is a database and a web service of two replicas depending on it.
const pair = `
services:
  db:
    image: ` + testImage + `
    volumes: [data:/data]
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done"]
  web:
    image: ` + testImage + `
    depends_on: [db]
    scale: 2
    volumes: [scratch:/scratch]
    command: ["sh", "-c", "trap 'exit 0' TERM; echo web up; while true; do sleep 1 & wait $$!; done"]
volumes:
  data:
  scratch:
`

// states are the ps -a states by container name.
func (p *project) states() map[string]string {
	p.t.Helper()
	out := map[string]string{}
	for _, e := range p.ps(true) {
		out[e.Name] = e.State
	}
	return out
}

func (p *project) wantStates(when string, want map[string]string) {
	p.t.Helper()
	got := p.states()
	for name, st := range want {
		if got[p.name+"-"+name] != st {
			p.t.Errorf("%s: %s is %q, want %q (all: %v)", when, name, got[p.name+"-"+name], st, got)
		}
	}
}

// mustByName runs berth -p NAME ARGS... where there is no compose file
// and fails the test unless it exits 0.
func (p *project) mustByName(args ...string) result {
	p.t.Helper()
	r := p.byName(args...)
	if r.code != 0 {
		p.t.Fatalf("%s", r)
	}
	return r
}

// TestProjectCommandsWithoutFile drives every project command with only
// -p NAME, from a directory without a compose file: they act on the
// services the containers' labels name, in dependency order.
func TestProjectCommandsWithoutFile(t *testing.T) {
	t.Parallel()
	p := newProject(t, pair, map[string]string{"note.txt": "from the host\n"})
	p.must("up", "-d")

	r := p.mustByName("--progress", "plain", "stop")
	// Dependents first: both web replicas stop before db.
	if db, web := strings.Index(r.stderr, p.name+"-db-1  Stopping"), strings.LastIndex(r.stderr, "-web-"); db < 0 || web < 0 || web > db {
		t.Errorf("stop by name did not stop web before db:\n%s", r.stderr)
	}
	p.wantStates("after stop", map[string]string{"db-1": "exited", "web-1": "exited", "web-2": "exited"})

	// As docker compose, start SERVICE starts what it depends on too.
	r = p.mustByName("--progress", "plain", "start", "web")
	p.wantStates("after start web", map[string]string{"db-1": "running", "web-1": "running", "web-2": "running"})
	if db, web := strings.Index(r.stderr, p.name+"-db-1  Started"), strings.Index(r.stderr, "-web-1  Starting"); db < 0 || web < 0 || db > web {
		t.Errorf("start web by name did not start db first:\n%s", r.stderr)
	}
	p.mustByName("stop", "web")
	p.mustByName("start")
	p.wantStates("after start", map[string]string{"db-1": "running", "web-1": "running", "web-2": "running"})

	before := p.ps(false)
	p.mustByName("restart", "db")
	p.wantStates("after restart db", map[string]string{"db-1": "running", "web-1": "running"})
	if after := p.ps(false); len(after) != len(before) {
		t.Errorf("restart by name changed the containers: %v, then %v", before, after)
	}

	if out := p.mustByName("exec", "-T", "--index", "2", "web", "hostname").stdout; strings.TrimSpace(out) == "" {
		t.Errorf("exec by name printed nothing")
	}
	// A row per container, as compose's images prints.
	if out := p.mustByName("images").stdout; strings.Count(out, "berth-e2e.local/busybox") != 3 || !strings.Contains(out, p.name+"-db-1 ") || !strings.Contains(out, p.name+"-web-2 ") {
		t.Errorf("images by name = %q, want a row for db-1, web-1 and web-2", out)
	}
	if out := p.mustByName("top", "db").stdout; !strings.Contains(out, p.name+"-db-1") || !strings.Contains(out, "sleep") {
		t.Errorf("top by name = %q, want db's processes", out)
	}

	// cp from the host into the service (every replica), then out of it.
	r = p.run(t.TempDir(), nil, "cp", p.dir+"/note.txt", "web:/tmp/note.txt")
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	for _, i := range []string{"1", "2"} {
		if out := p.mustByName("exec", "-T", "--index", i, "web", "cat", "/tmp/note.txt").stdout; out != "from the host\n" {
			t.Errorf("web-%s: /tmp/note.txt = %q after cp by name", i, out)
		}
	}

	p.mustByName("pause", "web")
	p.wantStates("after pause web", map[string]string{"web-1": "paused", "web-2": "paused", "db-1": "running"})
	p.mustByName("unpause")
	p.wantStates("after unpause", map[string]string{"web-1": "running", "web-2": "running"})

	p.mustByName("kill", "-s", "SIGKILL", "web")
	if r := p.byName("wait", "web"); strings.TrimSpace(r.stdout) != "137" || r.code != 137 {
		t.Errorf("wait by name after kill -s SIGKILL: %s, want 137 printed and its exit status", r)
	}

	p.mustByName("rm", "-f", "web")
	p.wantStates("after rm web", map[string]string{"db-1": "running", "web-1": "", "web-2": ""})

	// A name the labels do not know is refused, naming the project.
	if r := p.byName("stop", "nope"); r.code == 0 || !strings.Contains(r.stderr, `no such service: nope`) {
		t.Errorf("stop nope by name: %s", r)
	}
}

// TestInvalidFileByName checks that a compose file that no longer loads
// does not block the commands of the running project given -p: each works
// from the labels and warns once, naming the file and the problem.
func TestInvalidFileByName(t *testing.T) {
	t.Parallel()
	p := newProject(t, pair, nil)
	p.must("up", "-d")
	p.waitFor("web's first line", 10*time.Second, func() bool { return strings.Contains(p.must("logs", "web").stdout, "web up") })
	p.write("compose.yaml", strings.Replace(pair, "scale: 2", "scale: lots", 1))
	if r := p.berth("logs"); !strings.Contains(r.stdout, "web up") {
		t.Errorf("logs with an invalid file: %s", r)
	}

	for _, args := range [][]string{{"ps"}, {"logs", "web"}, {"stop", "web"}, {"start"}, {"exec", "-T", "db", "true"}, {"down", "web"}} {
		r := p.berth(args...)
		if r.code != 0 {
			t.Errorf("%s", r)
			continue
		}
		if n := strings.Count(r.stderr, "WARN: "); n != 1 || !strings.Contains(r.stderr, "compose.yaml") || !strings.Contains(r.stderr, `"lots"`) {
			t.Errorf("berth %s warned %d times, want once naming compose.yaml and the value:\n%s", args[0], n, r.stderr)
		}
	}
	p.wantStates("after down web", map[string]string{"db-1": "running", "web-1": ""})
	// Without -p, the name the file gives serves if that project runs;
	// the directory's name here is no running project's: the error stands.
	psHere := func() (string, error) {
		cmd := exec.Command(berthBin, append(globalArgs(), "ps")...)
		cmd.Dir = p.dir
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := psHere(); err == nil || !strings.Contains(out, `"lots"`) {
		t.Errorf("ps without -p and an invalid file of no running project = %v: %s", err, out)
	}
	p.write("compose.yaml", "name: "+p.name+"\n"+strings.Replace(pair, "scale: 2", "scale: lots", 1))
	if out, err := psHere(); err != nil || !strings.Contains(out, p.name+"-db-1") || strings.Count(out, "WARN: ") != 1 {
		t.Errorf("ps without -p, the invalid file naming the running project = %v: %s", err, out)
	}
}

// TestDownService: down SERVICE with the compose file removes that
// service only, as docker compose's (services that depend on it keep
// running); by name (-p, no file) it takes the services that depend on it
// too. The rest, and the networks and volumes they use, stay.
func TestDownService(t *testing.T) {
	t.Parallel()
	withCache := strings.Replace(pair, "volumes:\n  data:\n", `  cache:
    image: `+testImage+`
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done"]
volumes:
  data:
`, 1)
	p := newProject(t, withCache, nil)
	p.must("up", "-d")

	// By name, down db takes web (which depends on it) with it.
	p.mustByName("down", "db")
	p.wantStates("after down db by name", map[string]string{"db-1": "", "web-1": "", "web-2": "", "cache-1": "running"})

	p.must("up", "-d")
	p.must("down", "-v", "db")
	p.wantStates("after down db", map[string]string{"db-1": "", "web-1": "running", "web-2": "running", "cache-1": "running"})
	vols := p.must("volume", "ls", "-q").stdout
	if strings.Contains(vols, p.name+"_data") || !strings.Contains(vols, p.name+"_scratch") {
		t.Errorf("volumes after down -v db = %q, want scratch (web uses it) and not data", vols)
	}
	// The network stays: cache still finds web by name.
	if r := p.berth("exec", "-T", "cache", "nslookup", "web"); r.code != 0 {
		t.Errorf("web does not resolve from cache after down db: %s", r)
	}
	if r := p.berth("down", "nope"); r.code == 0 || !strings.Contains(r.stderr, `no such service: nope`) {
		t.Errorf("down nope with the file: %s", r)
	}
	if r := p.byName("down", "nope"); r.code != 0 || !strings.Contains(r.stderr, `no such service: nope`) {
		t.Errorf("down nope by name (a service maybe already removed) = %s, want a warning and exit 0", r)
	}
}

// TestDownRmi removes the built images without a tag of their own
// (local), then every image of the services (all).
func TestDownRmi(t *testing.T) {
	t.Parallel()
	p := newProject(t, "", map[string]string{"Dockerfile": "FROM " + testImage + "\nRUN echo built > /built\n"})
	custom := p.name + "-custom:1"
	p.write("compose.yaml", `
services:
  own:
    build: .
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done"]
  tagged:
    build: .
    image: `+custom+`
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done"]
`)
	// The images present (compose's images lists only the containers').
	images := func() string {
		t.Helper()
		return p.must("image", "ls", "--format", "json").stdout
	}
	p.timeout = 5 * time.Minute
	p.must("up", "-d")
	if out := images(); !strings.Contains(out, p.name+"-own") || !strings.Contains(out, p.name+"-custom") {
		t.Fatalf("images after up = %s", out)
	}

	r := p.must("--progress", "plain", "down", "--rmi", "local")
	if !strings.Contains(r.stderr, "Image "+p.name+"-own  Removed") {
		t.Errorf("down --rmi local did not say it removed the built image:\n%s", r.stderr)
	}
	if out := images(); strings.Contains(out, p.name+"-own") || !strings.Contains(out, p.name+"-custom") {
		t.Errorf("images after down --rmi local = %s, want only the tagged one", out)
	}

	// By name, from the labels: every image the services used.
	p.must("up", "-d")
	p.mustByName("down", "--rmi", "all")
	if out := images(); strings.Contains(out, p.name) {
		t.Errorf("images after down --rmi all = %s, want none", out)
	}
	if r := p.berth("down", "--rmi", "some"); r.code == 0 || !strings.Contains(r.stderr, `--rmi "some"`) {
		t.Errorf("down --rmi some: %s", r)
	}
}

// TestRmVolumes checks that rm -fsv (docker compose's usual spelling)
// stops and removes the containers with their anonymous volumes, and
// keeps the named volumes.
func TestRmVolumes(t *testing.T) {
	t.Parallel()
	p := newProject(t, strings.Replace(pair, "volumes: [scratch:/scratch]", "volumes: [scratch:/scratch, /anon]", 1), nil)
	p.must("up", "-d")
	anon := func() []string {
		t.Helper()
		var out []string
		for _, v := range strings.Fields(p.must("volume", "ls", "-q").stdout) {
			if len(v) == 64 && strings.Trim(v, "0123456789abcdef") == "" {
				out = append(out, v)
			}
		}
		return out
	}
	if got := anon(); len(got) != 2 {
		t.Fatalf("anonymous volumes after up = %v, want one per web replica", got)
	}
	p.must("rm", "-fsv", "web")
	p.wantStates("after rm -fsv web", map[string]string{"db-1": "running", "web-1": "", "web-2": ""})
	if got := anon(); len(got) != 0 {
		t.Errorf("anonymous volumes after rm -v web = %v, want none", got)
	}
	p.must("up", "-d")
	p.mustByName("rm", "-fs")
	if got := p.states(); len(got) != 0 {
		t.Errorf("containers after rm -fs by name: %v", got)
	}
	if got := anon(); len(got) != 2 {
		t.Errorf("anonymous volumes after rm without -v = %v, want them kept", got)
	}
	vols := p.must("volume", "ls", "-q").stdout
	if !strings.Contains(vols, p.name+"_data") || !strings.Contains(vols, p.name+"_scratch") {
		t.Errorf("volumes after rm -v = %q: named volumes must stay (down -v removes them)", vols)
	}
}

// TestPauseUnknown: pausing what is not there succeeds with a warning,
// as docker compose does; pausing what is paused fails.
func TestPauseUnknown(t *testing.T) {
	t.Parallel()
	p := newProject(t, pair, nil)
	if r := p.berth("pause", "nope"); r.code != 0 || !strings.Contains(r.stderr, `WARN: no such service: nope`) {
		t.Errorf("pause nope with the file: %s", r)
	}
	if r := p.berth("pause", "db"); r.code != 0 {
		t.Errorf("pause of a service without containers: %s", r)
	}
	p.must("up", "-d")
	if r := p.byName("pause", "nope"); r.code != 0 || !strings.Contains(r.stderr, `WARN: no such service: nope`) {
		t.Errorf("pause nope by name: %s", r)
	}
	p.must("pause", "db")
	if r := p.berth("pause", "db"); r.code == 0 || !strings.Contains(r.stderr, "already paused") {
		t.Errorf("second pause db: %s", r)
	}
	p.must("unpause", "db", "nope")
}

// TestCpEveryReplica copies into every replica of a service unless
// --index names one, and out of the first.
func TestCpEveryReplica(t *testing.T) {
	t.Parallel()
	p := newProject(t, strings.Replace(pair, "scale: 2", "scale: 3", 1), map[string]string{"all.txt": "all\n", "two.txt": "two\n"})
	p.must("up", "-d")
	cat := func(i, path string) string {
		t.Helper()
		return p.berth("exec", "-T", "--index", i, "web", "cat", path).stdout
	}
	p.must("cp", "all.txt", "web:/tmp/all.txt")
	p.must("cp", "--index", "2", "two.txt", "web:/tmp/two.txt")
	var stream bytes.Buffer
	tw := tar.NewWriter(&stream)
	tw.WriteHeader(&tar.Header{Name: "tar.txt", Typeflag: tar.TypeReg, Mode: 0o644, Size: 4}) //nolint:errcheck // into a buffer
	tw.Write([]byte("tar\n"))                                                                 //nolint:errcheck // into a buffer
	tw.Close()
	cmd := exec.Command(berthBin, append(globalArgs(), "-p", p.name, "cp", "-", "web:/tmp")...)
	cmd.Dir, cmd.Stdin = p.dir, &stream
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cp - web:/tmp: %v: %s", err, out)
	}
	for _, i := range []string{"1", "2", "3"} {
		if got := cat(i, "/tmp/all.txt"); got != "all\n" {
			t.Errorf("web-%s: /tmp/all.txt = %q, want it copied into every replica", i, got)
		}
		if got := cat(i, "/tmp/tar.txt"); got != "tar\n" {
			t.Errorf("web-%s: /tmp/tar.txt = %q, want the tar stream in every replica", i, got)
		}
		want := ""
		if i == "2" {
			want = "two\n"
		}
		if got := cat(i, "/tmp/two.txt"); got != want {
			t.Errorf("web-%s: /tmp/two.txt = %q, want %q (--index 2 only)", i, got, want)
		}
	}
	// --all: the one-off containers too. This one hands what it gets to
	// the replicas through their shared volume.
	p.must("run", "-d", "web", "sh", "-c", "while [ ! -f /tmp/all2.txt ]; do sleep 0.1; done; cp /tmp/all2.txt /scratch/from-run.txt")
	p.must("cp", "--all", "all.txt", "web:/tmp/all2.txt")
	p.waitFor("the one-off to get the file", 10*time.Second, func() bool { return cat("1", "/scratch/from-run.txt") == "all\n" })
	if got := cat("3", "/tmp/all2.txt"); got != "all\n" {
		t.Errorf("web-3: /tmp/all2.txt = %q after cp --all", got)
	}

	p.must("exec", "-T", "--index", "3", "web", "sh", "-c", "echo three > /tmp/which")
	p.must("exec", "-T", "--index", "1", "web", "sh", "-c", "echo one > /tmp/which")
	p.must("cp", "web:/tmp/which", "which.txt")
	if got := readFile(t, p.dir+"/which.txt"); got != "one\n" {
		t.Errorf("cp out of the service copied %q, want replica 1's", got)
	}
}
