//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/nftables"

	"github.com/berth/berth/netbridge"
)

// project is a compose project in a temporary directory.
type project struct {
	t    testing.TB
	name string
	dir  string
	// timeout bounds each berth command (default 2 minutes); tests that
	// build images with apt-get raise it.
	timeout time.Duration
}

var nonName = regexp.MustCompile(`[^a-z0-9]+`)

var (
	namesMu sync.Mutex // guards namesUsed
	// namesUsed counts the projects made per test name, so that a test with
	// several projects gives each its own name.
	namesUsed = map[string]int{}
)

// newProject writes compose.yaml (and files) to a temp dir, names the
// project after the test, and removes everything at the end, checking that
// nothing of the project is left.
func newProject(t testing.TB, composeYAML string, files map[string]string) *project {
	t.Helper()
	name := strings.Trim(nonName.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(name) > 40 {
		name = name[len(name)-40:]
		name = strings.Trim(name, "-")
	}
	name = "e2e-" + name
	namesMu.Lock()
	namesUsed[name]++
	if n := namesUsed[name]; n > 1 {
		name = fmt.Sprintf("%s%d", name, n) // no dash: "<name>-" must not prefix another project
	}
	namesMu.Unlock()
	p := &project{t: t, name: name, dir: t.TempDir()}
	p.write("compose.yaml", composeYAML)
	for f, content := range files {
		p.write(f, content)
	}
	t.Cleanup(func() {
		r := p.berth("down", "-v", "-t", "0", "--remove-orphans")
		if r.code != 0 { // an invalid compose file: remove by project name
			r = p.byName("down", "-t", "0")
		}
		if r.code != 0 {
			t.Errorf("cleanup: berth down: %s", r)
		}
		p.assertNothingLeft()
	})
	return p
}

func (p *project) write(name, content string) {
	p.t.Helper()
	path := filepath.Join(p.dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		p.t.Fatal(err)
	}
}

type result struct {
	args           []string
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("berth %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// berth runs bin/berth -p NAME ARGS... in the project directory.
func (p *project) berth(args ...string) result {
	return p.berthEnv(nil, args...)
}

func (p *project) berthEnv(env []string, args ...string) result {
	p.t.Helper()
	return p.run(p.dir, env, args...)
}

// byName runs berth -p NAME ARGS... where there is no compose file, as one
// does to look at or remove a project whose file is gone (or invalid).
func (p *project) byName(args ...string) result {
	p.t.Helper()
	return p.run(p.t.TempDir(), nil, args...)
}

func (p *project) run(dir string, env []string, args ...string) result {
	p.t.Helper()
	full := append(append(globalArgs(), "-p", p.name), args...)
	timeout := p.timeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, berthBin, full...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{args: full, stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		p.t.Fatalf("run berth %v: %v", full, err)
	}
	return r
}

// start runs berth -p NAME ARGS... in the background, its output (stdout
// and stderr) gathered in out; the caller waits for cmd or signals it.
func (p *project) start(args ...string) (cmd *exec.Cmd, out *syncBuffer) {
	p.t.Helper()
	cmd = exec.Command(berthBin, append(append(globalArgs(), "-p", p.name), args...)...)
	cmd.Dir = p.dir
	out = &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	return cmd, out
}

// must runs berth and fails the test unless it exits 0.
func (p *project) must(args ...string) result {
	p.t.Helper()
	r := p.berth(args...)
	if r.code != 0 {
		p.t.Fatalf("%s", r)
	}
	return r
}

// follow runs a berth command that does not end by itself (logs -f) and
// feeds its output lines to done until done returns true; then it stops
// the command. It fails the test if that does not happen within timeout.
func (p *project) follow(args []string, timeout time.Duration, done func(line string) bool) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	full := append(append(globalArgs(), "-p", p.name), args...)
	cmd := exec.CommandContext(ctx, berthBin, full...)
	cmd.Dir = p.dir
	out, err := cmd.StdoutPipe()
	if err != nil {
		p.t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	defer cmd.Wait() //nolint:errcheck // killed on purpose
	sc := bufio.NewScanner(out)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if done(sc.Text()) {
			cancel()
			return
		}
	}
	p.t.Fatalf("berth %s ended or timed out (%s) before the expected output; got:\n%s\nstderr:\n%s",
		strings.Join(args, " "), timeout, strings.Join(lines, "\n"), stderr.String())
}

// psEntry is the part of `ps --format json` the tests read.
type psEntry struct {
	ID, Name, Service, State, Status, Project, Image, Ports, Health string
	ExitCode, RestartCount                                          int
	Labels                                                          string
}

func (p *project) ps(all bool) []psEntry {
	p.t.Helper()
	args := []string{"ps", "--format", "json"}
	if all {
		args = append(args, "-a")
	}
	r := p.byName(args...)
	if r.code != 0 {
		p.t.Fatalf("%s", r)
	}
	var out []psEntry
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "[") { // docker compose has printed arrays too
			var list []psEntry
			if err := json.Unmarshal([]byte(line), &list); err != nil {
				p.t.Fatalf("ps json %q: %v", line, err)
			}
			out = append(out, list...)
			continue
		}
		var e psEntry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			p.t.Fatalf("ps json %q: %v", line, err)
		}
		out = append(out, e)
	}
	return out
}

// label returns a label of a ps entry.
func (e psEntry) label(key string) string {
	for _, kv := range strings.Split(e.Labels, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// waitFor polls cond until it holds or the deadline passes.
func (p *project) waitFor(what string, timeout time.Duration, cond func() bool) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			p.t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// assertNothingLeft checks, independently of berth, that no container,
// task, snapshot, network namespace or mount of the project remains.
func (p *project) assertNothingLeft() {
	t := p.t
	t.Helper()
	prefix := p.name + "-"
	if ctrBin != "" {
		for _, what := range [][]string{{"containers", "ls", "-q"}, {"tasks", "ls"}, {"snapshots", "ls"}} {
			out, err := exec.Command(ctrBin, append([]string{"--address", daemonAddress(), "-n", "berth"}, what...)...).CombinedOutput()
			if err != nil {
				t.Errorf("ctr %v: %v: %s", what, err, out)
				continue
			}
			for _, line := range strings.Split(string(out), "\n") {
				if strings.HasPrefix(strings.TrimSpace(line), prefix) {
					t.Errorf("left behind (ctr %s): %s", what[0], line)
				}
			}
		}
	}
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "berth-"+prefix) {
			t.Errorf("left behind: network namespace %s", e.Name())
		}
	}
	// Cleanup is down -v: the project's named volumes go too.
	vols, _ := os.ReadDir("/var/lib/berth/volumes")
	for _, e := range vols {
		if strings.HasPrefix(e.Name(), p.name+"_") {
			t.Errorf("left behind: volume %s", e.Name())
		}
	}
	links, _ := os.ReadDir("/sys/class/net")
	bridges := map[string]bool{}
	for _, n := range []string{"default", "front", "back"} {
		bridges[netbridge.BridgeName(p.name+"_"+n)] = true
	}
	for _, l := range links {
		if bridges[l.Name()] {
			t.Errorf("left behind: bridge %s", l.Name())
		}
	}
	if conn, err := nftables.New(); err == nil {
		if table, err := conn.ListTableOfFamily("berth", nftables.TableFamilyIPv4); err == nil {
			chains, _ := conn.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
			for _, c := range chains {
				if c.Table.Name != table.Name {
					continue
				}
				rules, _ := conn.GetRules(table, c)
				for _, r := range rules {
					if strings.HasPrefix(string(r.UserData), "berth-network:"+p.name+"_") || strings.HasPrefix(string(r.UserData), "berth-port:"+p.name+"-") {
						t.Errorf("left behind: nft rule %q in chain %s", r.UserData, c.Name)
					}
				}
			}
		}
	}
	if _, err := os.Stat("/run/berth/projects/" + p.name); !os.IsNotExist(err) {
		t.Errorf("left behind: /run/berth/projects/%s (the DNS daemon's files)", p.name)
	}
	procs, _ := os.ReadDir("/proc")
	for _, proc := range procs {
		if cmdline, err := os.ReadFile("/proc/" + proc.Name() + "/cmdline"); err == nil && strings.Contains(string(cmdline), "__dns\x00"+p.name+"\x00") {
			t.Errorf("left behind: the DNS daemon of %s (pid %s)", p.name, proc.Name())
		}
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(mounts), "\n") {
		if strings.Contains(line, "/berth-"+prefix) || strings.Contains(line, "/"+prefix) && strings.Contains(line, "berth") {
			t.Errorf("left behind: mount %s", line)
		}
	}
	for _, dir := range []string{"/var/lib/berth/containers/berth", "/var/lib/berth/logs/berth"} {
		files, _ := os.ReadDir(dir)
		for _, f := range files {
			if strings.HasPrefix(f.Name(), prefix) {
				t.Errorf("left behind: %s/%s", dir, f.Name())
			}
		}
	}
}

func daemonAddress() string { return daemonAddr }

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func statNetns(name string) (os.FileInfo, error) { return os.Stat(filepath.Join("/run/netns", name)) }
