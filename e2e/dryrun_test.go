//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/berth/berth/netbridge"
)

// dryRunStack has a service built from a Dockerfile (up builds it, and
// makes the networks meanwhile), and one, old, that the changed file
// drops.
const dryRunStack = `
services:
  db:
    image: ` + testImage + `
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done"]
  api:
    build: .
    depends_on: [db]
    environment:
      MODE: ${MODE:-one}
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done"]
  old:
    image: ` + testImage + `
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done"]
`

// dryRunChanged is dryRunStack without old and with a new service, cache.
const dryRunChanged = `
services:
  db:
    image: ` + testImage + `
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done"]
  api:
    build: .
    depends_on: [db]
    environment:
      MODE: ${MODE:-one}
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done"]
  cache:
    image: ` + testImage + `
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done"]
`

// projectState is everything of the project on the machine: containerd's
// containers, tasks (with their pids), snapshots and images, the network
// namespaces, bridges, nft rules, IPAM entries, DNS daemon and state and
// lock files (leftovers), and ps's view of the containers.
func projectState(t *testing.T, p *project) []string {
	t.Helper()
	state := leftovers(p.name)[p.name]
	if ctrBin != "" {
		for _, what := range [][]string{{"images", "ls"}, {"containers", "ls"}, {"leases", "ls"}} {
			out, err := exec.Command(ctrBin, append([]string{"--address", daemonAddress(), "-n", "berth"}, what...)...).CombinedOutput()
			if err != nil {
				t.Fatalf("ctr %v: %v: %s", what, err, out)
			}
			for _, line := range strings.Split(string(out), "\n") {
				if strings.Contains(line, p.name) {
					state = append(state, "ctr "+what[0]+": "+line)
				}
			}
		}
	}
	// ps's view, less what changes with the clock (Status, RunningFor).
	for _, line := range strings.Split(strings.TrimSpace(p.must("ps", "-a", "--format", "json").stdout), "\n") {
		var c struct {
			ID, State, Labels, Networks string
			Created                     int64
			ExitCode, RestartCount      int
		}
		if line == "" {
			continue
		}
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatalf("ps --format json: %q: %v", line, err)
		}
		state = append(state, fmt.Sprintf("ps: %+v", c))
	}
	// ctr's columns are as wide as the longest name of any project's.
	for i, l := range state {
		state[i] = strings.Join(strings.Fields(l), " ")
	}
	slices.Sort(state)
	return state
}

func assertSameState(t *testing.T, what string, before, after []string) {
	t.Helper()
	var gone, made []string
	for _, l := range before {
		if !slices.Contains(after, l) {
			gone = append(gone, l)
		}
	}
	for _, l := range after {
		if !slices.Contains(before, l) {
			made = append(made, l)
		}
	}
	if len(gone)+len(made) > 0 {
		t.Errorf("%s changed the project's state:\ngone:\n%s\nmade:\n%s", what, strings.Join(gone, "\n"), strings.Join(made, "\n"))
	}
}

func assertLines(t *testing.T, r result, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(r.stdout, "DRY-RUN MODE - "+w+"\n") {
			t.Errorf("%s\nlacks the line %q", r, "DRY-RUN MODE - "+w)
		}
	}
}

func TestDryRunUpDown(t *testing.T) {
	p := newProject(t, dryRunStack, map[string]string{"Dockerfile": "FROM " + testImage + "\nRUN echo built > /built\n"})
	n := p.name
	// The image of api is built by up: none is left from an earlier run,
	// and none is left after this one.
	p.must("down", "--rmi", "local")
	t.Cleanup(func() { p.berth("down", "--rmi", "local", "-t", "0") })

	// A fresh project: nothing is made, not even the networks that up
	// makes while it builds, nor the DNS daemon, nor the image.
	before := projectState(t, p)
	r := p.must("--dry-run", "up", "-d")
	assertLines(t, r,
		"build api (image "+n+"-api): image missing",
		"create network "+n+"_default: missing",
		"create "+n+"-db-1: missing",
		"create "+n+"-api-1: missing",
		"create "+n+"-old-1: missing")
	assertSameState(t, "--dry-run up of a fresh project", before, projectState(t, p))
	if left := leftovers(n)[n]; len(left) > 0 {
		t.Errorf("--dry-run up of a fresh project left: %v", left)
	}

	p.must("up", "-d")
	p.write("compose.yaml", dryRunChanged)
	env := []string{"MODE=two"}

	before = projectState(t, p)
	r = p.berthEnv(env, "--dry-run", "up", "-d", "--remove-orphans")
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	assertLines(t, r,
		"keep "+n+"-db-1: running, up to date",
		"recreate "+n+"-api-1: config changed (environment)",
		"create "+n+"-cache-1: missing",
		"remove orphan "+n+"-old-1")
	if strings.Contains(r.stdout, "create network") || strings.Contains(r.stdout, "build api") {
		t.Errorf("--dry-run up of a running project makes its network or builds its present image:\n%s", r)
	}
	assertSameState(t, "--dry-run up of a changed project", before, projectState(t, p))

	r = p.berthEnv(env, "--dry-run", "down", "-v", "--remove-orphans")
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	assertLines(t, r,
		"remove "+n+"-db-1",
		"remove "+n+"-api-1",
		"remove orphan "+n+"-old-1",
		"remove network "+n+"_default")
	assertSameState(t, "--dry-run down", before, projectState(t, p))

	for _, args := range [][]string{{"create"}, {"scale", "db=2"}, {"start"}, {"stop"}, {"restart", "db"}, {"kill"}, {"pause"}, {"unpause"}, {"rm", "-s", "-v"}, {"build"}, {"pull"}, {"push"}} {
		r := p.berthEnv(env, append([]string{"--dry-run"}, args...)...)
		if r.code != 0 || !strings.Contains(r.stdout, "DRY-RUN MODE - ") {
			t.Errorf("--dry-run %v: %s", args, r)
		}
	}
	assertLines(t, p.berthEnv(env, "--dry-run", "stop"), "stop "+n+"-db-1")
	assertSameState(t, "--dry-run create, scale, start, stop, restart, kill, pause, unpause, rm, build, pull, push", before, projectState(t, p))

	// With --progress json, the plan is JSON lines.
	r = p.berthEnv(env, "--progress", "json", "--dry-run", "up", "-d")
	var recreate bool
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var st struct {
			DryRun bool   `json:"dry_run"`
			Action string `json:"action"`
			Name   string `json:"name"`
			Reason string `json:"reason"`
		}
		if err := json.Unmarshal([]byte(line), &st); err != nil || !st.DryRun {
			t.Errorf("--progress json --dry-run up: line %q is not a dry run's JSON step (%v)", line, err)
		}
		recreate = recreate || st.Action == "recreate" && st.Name == n+"-api-1" && st.Reason == "config changed (environment)"
	}
	if !recreate {
		t.Errorf("--progress json --dry-run up lacks api's recreate:\n%s", r)
	}

	// A command that cannot show a plan refuses, rather than act.
	if r := p.berth("--dry-run", "exec", "db", "touch", "/x"); r.code == 0 || !strings.Contains(r.stderr, "--dry-run is not supported by berth exec") {
		t.Errorf("--dry-run exec: %s", r)
	}
	assertSameState(t, "the dry runs", before, projectState(t, p))
}

// TestDryRunPrivateDaemonState runs the dry runs on a containerd of the
// test's own, so that the whole of its state can be compared, leases and
// content included, with every file of berth's data and run directories:
// on the shared daemon other tests change them meanwhile.
func TestDryRunPrivateDaemonState(t *testing.T) {
	d := onPrivateDaemon(t)
	p := newProject(t, `
services:
  db:
    image: `+testImage+`
    volumes: [data:/data]
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done"]
  api:
    image: `+testImage+`
    depends_on: [db]
    environment:
      MODE: one
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done"]
  old:
    image: `+testImage+`
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done"]
volumes:
  data: {}
`, nil)
	n := p.name
	state := func() []string {
		var out []string
		// content ls -q: its listing's age column changes with the clock.
		for _, what := range [][]string{{"containers", "ls"}, {"tasks", "ls"}, {"images", "ls"}, {"snapshots", "ls"}, {"leases", "ls"}, {"content", "ls", "-q"}, {"namespaces", "ls"}} {
			for _, line := range strings.Split(d.ctr(what...), "\n") {
				if line = strings.Join(strings.Fields(line), " "); line != "" {
					out = append(out, "ctr "+what[0]+": "+line)
				}
			}
		}
		// containerd's own directories are left to the listings above: its
		// garbage collector removes blobs a load left, in its own time.
		for _, root := range []string{d.dataDir, d.runDir} {
			filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error { //nolint:errcheck // a file going while walked shows as a difference
				switch {
				case err != nil:
				case e.IsDir() && e.Name() == "containerd" && filepath.Dir(path) == root:
					return fs.SkipDir
				default:
					out = append(out, "file "+path)
				}
				return nil
			})
		}
		netns, _ := os.ReadDir("/run/netns")
		for _, e := range netns {
			if strings.Contains(e.Name(), n) {
				out = append(out, "netns "+e.Name())
			}
		}
		// The project's bridge and the veths on it; its nft rules.
		bridge := netbridge.BridgeName(d.scoped(n + "_default"))
		if _, err := os.Stat("/sys/class/net/" + bridge); err == nil {
			out = append(out, "link "+bridge)
		}
		ports, _ := os.ReadDir("/sys/class/net/" + bridge + "/brif")
		for _, e := range ports {
			out = append(out, "link "+e.Name()+" on "+bridge)
		}
		for _, r := range berthRules() {
			if strings.Contains(r.tag, n) {
				out = append(out, fmt.Sprintf("nft rule %q in chain %s", r.tag, r.chain))
			}
		}
		slices.Sort(out)
		return out
	}

	// containerd collects what the test image's load left unreferenced in
	// its own time: a synchronous collection now keeps it from doing so
	// between the snapshots.
	collect := func() {
		d.ctr("leases", "create", "--id", n+"-collect")
		d.ctr("leases", "delete", "--sync", n+"-collect")
	}
	collect()
	before := state()
	r := p.must("--dry-run", "up", "-d")
	assertLines(t, r, "create network "+n+"_default: missing", "create "+n+"-db-1: missing")
	assertSameState(t, "--dry-run up of a fresh project", before, state())

	p.must("up", "-d")
	// The snapshot sees what up made: a check that could not fail would not.
	up := strings.Join(state(), "\n")
	for _, want := range []string{"link " + netbridge.BridgeName(d.scoped(n+"_default")), " on br-", "nft rule", "netns berth-" + d.scope + "-" + n + "-db-1", "ctr leases: ", "ctr tasks: " + n + "-db-1"} {
		if !strings.Contains(up, want) {
			t.Errorf("the state after up lacks %q:\n%s", want, up)
		}
	}
	collect()
	p.write("compose.yaml", strings.Replace(strings.Replace(readFile(t, filepath.Join(p.dir, "compose.yaml")), "MODE: one", "MODE: two", 1), "  old:\n", "  new:\n", 1))
	before = state()
	r = p.must("--dry-run", "up", "-d", "--remove-orphans")
	assertLines(t, r,
		"recreate "+n+"-api-1: config changed (environment)",
		"create "+n+"-new-1: missing",
		"remove orphan "+n+"-old-1")
	assertSameState(t, "--dry-run up of a changed project", before, state())

	r = p.must("--dry-run", "down", "-v", "--remove-orphans")
	assertLines(t, r, "remove "+n+"-api-1", "remove volume "+n+"_data", "remove network "+n+"_default")
	assertSameState(t, "--dry-run down -v", before, state())
}
