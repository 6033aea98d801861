//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
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
	p := newBareProject(t, composeYAML, files)
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

// newBareProject is newProject without the cleanup: the caller removes
// what the project makes and checks nothing is left.
func newBareProject(t testing.TB, composeYAML string, files map[string]string) *project {
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
	return runBerth(p.t, dir, env, nil, p.timeout, append([]string{"-p", p.name}, args...)...)
}

// runBerth runs bin/berth with the suite's global flags and ARGS in dir,
// with env added and stdin (nil: none), within timeout (0: 2 minutes).
func runBerth(t testing.TB, dir string, env []string, stdin io.Reader, timeout time.Duration, args ...string) result {
	t.Helper()
	full := append(globalArgs(), args...)
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, berthBin, full...)
	cmd.Dir, cmd.Stdin = dir, stdin
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{args: full, stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run berth %v: %v", full, err)
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
// task, snapshot, network namespace, bridge, nft rule, mount, IPAM entry
// or file under berth's data and run directories of the project remains.
func (p *project) assertNothingLeft() {
	p.t.Helper()
	for _, l := range leftovers(p.name)[p.name] {
		p.t.Errorf("left behind: %s", l)
	}
}

// leftovers finds what remains of each of the projects, by project name:
// one pass over the host's state serves them all (the bad-input table
// checks its hundred projects at once).
func leftovers(names ...string) map[string][]string {
	out := map[string][]string{}
	add := func(name, format string, args ...any) {
		out[name] = append(out[name], fmt.Sprintf(format, args...))
	}
	if ctrBin != "" {
		for _, what := range [][]string{{"containers", "ls", "-q"}, {"tasks", "ls"}, {"snapshots", "ls"}} {
			b, err := exec.Command(ctrBin, append([]string{"--address", daemonAddress(), "-n", "berth"}, what...)...).CombinedOutput()
			for _, name := range names {
				if err != nil {
					add(name, "(ctr %v: %v: %s)", what, err, b)
					continue
				}
				for _, line := range strings.Split(string(b), "\n") {
					// The project's containers, and the anchor of its shim.
					f := strings.Fields(line)
					if strings.HasPrefix(strings.TrimSpace(line), name+"-") || len(f) > 0 && f[0] == "berth.shim."+name {
						add(name, "ctr %s: %s", what[0], line)
					}
				}
			}
		}
	}
	netns, _ := os.ReadDir("/run/netns")
	vols, _ := os.ReadDir(berthDataDir() + "/volumes")
	links, _ := os.ReadDir("/sys/class/net")
	rules := berthRules()
	var cmdlines []string
	procs, _ := os.ReadDir("/proc")
	for _, proc := range procs {
		if b, err := os.ReadFile("/proc/" + proc.Name() + "/cmdline"); err == nil {
			cmdlines = append(cmdlines, proc.Name()+"\x00"+string(b))
		}
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	for _, name := range names {
		prefix := name + "-"
		for _, e := range netns {
			if strings.HasPrefix(e.Name(), "berth-"+prefix) {
				add(name, "network namespace %s", e.Name())
			}
		}
		// Cleanup is down -v: the project's named volumes go too.
		for _, e := range vols {
			if strings.HasPrefix(e.Name(), name+"_") {
				add(name, "volume %s", e.Name())
			}
		}
		bridges := map[string]bool{}
		for _, n := range []string{"default", "front", "back"} {
			bridges[netbridge.BridgeName(name+"_"+n)] = true
		}
		for _, l := range links {
			if bridges[l.Name()] {
				add(name, "bridge %s", l.Name())
			}
		}
		for _, r := range rules {
			if strings.HasPrefix(r.tag, "berth-network:"+name+"_") || strings.HasPrefix(r.tag, "berth-port:"+prefix) {
				add(name, "nft rule %q in chain %s", r.tag, r.chain)
			}
		}
		if _, err := os.Stat(berthRunDir() + "/projects/" + name); !os.IsNotExist(err) {
			add(name, berthRunDir()+"/projects/%s (the DNS daemon's files)", name)
		}
		for _, c := range cmdlines {
			pid, cmdline, _ := strings.Cut(c, "\x00")
			if strings.Contains(cmdline, "__dns\x00"+name+"\x00") {
				add(name, "the DNS daemon of %s (pid %s)", name, pid)
			}
		}
		for _, line := range strings.Split(string(mounts), "\n") {
			if strings.Contains(line, "/berth-"+prefix) || strings.Contains(line, "/"+prefix) && strings.Contains(line, "berth") {
				add(name, "mount %s", line)
			}
		}
		for _, left := range ipamEntries(name) {
			add(name, "IPAM entry %s", left)
		}
		// runc's state and the task bundles, which a task's delete (and
		// berth-shim's answer to containerd's second cleanup) leave none of.
		for _, dir := range taskStateDirs() {
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), prefix) {
					add(name, "%s/%s", dir, e.Name())
				}
			}
		}
		for _, root := range []string{berthDataDir(), berthRunDir()} {
			for _, f := range filesNamed(root, name, 3) {
				add(name, "%s", f)
			}
		}
	}
	return out
}

// ipamEntries are the networks, addresses and ports berth's IPAM state
// holds for the project (read without berth, from its state file).
func ipamEntries(project string) []string {
	b, err := os.ReadFile(berthDataDir() + "/network/ipam.json")
	if err != nil {
		return nil
	}
	var st struct {
		Networks map[string]struct {
			Project   string            `json:"project"`
			Addresses map[string]string `json:"addresses"`
		} `json:"networks"`
		Ports []struct {
			Container string `json:"container"`
		} `json:"ports"`
	}
	if json.Unmarshal(b, &st) != nil {
		return []string{"(ipam.json does not parse)"}
	}
	var out []string
	for name, n := range st.Networks {
		if n.Project == project || strings.HasPrefix(name, project+"_") {
			out = append(out, "network "+name)
		}
		for c := range n.Addresses {
			if strings.HasPrefix(c, project+"-") {
				out = append(out, "address of "+c+" on "+name)
			}
		}
	}
	for _, pb := range st.Ports {
		if strings.HasPrefix(pb.Container, project+"-") {
			out = append(out, "port of "+pb.Container)
		}
	}
	return out
}

// filesNamed are the paths under root, down to depth levels (containerd's
// own directories left out), whose name is the project's or its lock
// file's ("<project>.lock") or starts with "<project>-" or "<project>_".
func filesNamed(root, project string, depth int) []string {
	var out []string
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		name, path := e.Name(), filepath.Join(root, e.Name())
		if name == "containerd" || name == "containerd.lock" {
			continue
		}
		if name == project || name == project+".lock" || strings.HasPrefix(name, project+"-") || strings.HasPrefix(name, project+"_") {
			out = append(out, path)
			continue
		}
		if e.IsDir() && depth > 1 {
			out = append(out, filesNamed(path, project, depth-1)...)
		}
	}
	return out
}

func daemonAddress() string { return daemonAddr }

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func statNetns(name string) (os.FileInfo, error) { return os.Stat(filepath.Join("/run/netns", name)) }

// privateDaemon is berth with data and run directories of its own, and so
// a managed containerd of its own, for a test that kills it, kills builds
// or prunes the build cache: the suite's shared daemon, which other tests
// use meanwhile (and whose build cache must never be lost), is never
// touched. Its networks come from a pool of their own, so that its IPAM
// (in its data dir) never hands out a subnet the shared one gave. It is
// stopped, and everything it made removed, when the test ends.
type privateDaemon struct {
	t testing.TB
	// base holds dataDir and runDir.
	base, dataDir, runDir string
	// env are the variables that point berth at it.
	env []string
	// networks are the build networks seen so far, whose bridges must go
	// with them (see left).
	networks map[string]bool
	// scope is the scope berth names its host-side objects (bridges, rule
	// tags) in for this daemon's data dir (see netbridge.Scope).
	scope string
}

// scoped is a network's name as this daemon's berth qualifies it before
// naming its bridge or tagging its rules.
func (d *privateDaemon) scoped(name string) string { return d.scope + "/" + name }

func newPrivateDaemon(t testing.TB) *privateDaemon {
	t.Helper()
	d := newBarePrivateDaemon(t)
	archive := filepath.Join(d.base, "busybox.tar")
	if out, err := exec.Command(filepath.Join(repoRoot, "scripts", "busybox-image.sh"), archive, testImage).CombinedOutput(); err != nil {
		t.Fatalf("busybox-image.sh: %v: %s", err, out)
	}
	d.must(d.base, "load", "-i", archive)
	return d
}

// newBarePrivateDaemon is newPrivateDaemon without the test image and
// without starting the daemon: the first berth command on it does.
func newBarePrivateDaemon(t testing.TB) *privateDaemon {
	t.Helper()
	if os.Getenv("BERTH_E2E_ADDRESS") != "" {
		t.Skip("BERTH_E2E_ADDRESS names a containerd: this test needs a managed daemon of its own")
	}
	if ctrBin == "" {
		t.Skip("no ctr next to the managed containerd")
	}
	// Short: containerd's sockets live under it, and a socket's path is
	// limited to 108 bytes.
	base, err := os.MkdirTemp("", "bf")
	if err != nil {
		t.Fatal(err)
	}
	d := &privateDaemon{t: t, base: base, dataDir: filepath.Join(base, "data"), runDir: filepath.Join(base, "run"), networks: map[string]bool{}}
	d.scope = netbridge.Scope(d.dataDir, "berth", "/var/lib/berth", "berth")
	d.env = []string{"BERTH_DATA_DIR=" + d.dataDir, "BERTH_RUN_DIR=" + d.runDir, "BERTH_SUBNET_POOL=10.213.0.0/16"}
	t.Cleanup(d.stop)
	return d
}

// command is berth ARGS... on the private daemon, in dir.
func (d *privateDaemon) command(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command(berthBin, args...)
	cmd.Dir, cmd.Env = dir, append(os.Environ(), d.env...)
	return cmd
}

// must runs berth ARGS... on the private daemon in dir, and fails the test
// unless it succeeds within two minutes; it returns the output.
func (d *privateDaemon) must(dir string, args ...string) string {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, berthBin, args...)
	cmd.Dir, cmd.Env = dir, append(os.Environ(), d.env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		d.t.Fatalf("berth %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (d *privateDaemon) address() string {
	return filepath.Join(d.runDir, "containerd", "containerd.sock")
}

// tryCtr runs ctr against the private daemon and returns its standard
// output (ctr's warnings, on standard error, would spoil its JSON), and
// its standard error too when it fails.
func (d *privateDaemon) tryCtr(args ...string) (string, error) {
	out, err := exec.Command(ctrBin, append([]string{"--address", d.address(), "-n", "berth"}, args...)...).Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		out = append(out, exit.Stderr...)
	}
	return string(out), err
}

// ctr runs ctr against the private daemon and fails the test if it fails.
func (d *privateDaemon) ctr(args ...string) string {
	d.t.Helper()
	out, err := d.tryCtr(args...)
	if err != nil {
		d.t.Fatalf("ctr %v: %v: %s", args, err, out)
	}
	return out
}

// containerdPid is the private containerd's pid, 0 when none runs.
func (d *privateDaemon) containerdPid() int {
	b, err := os.ReadFile(filepath.Join(d.runDir, "containerd", "containerd.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	// Its command line names its config, in the data directory.
	if pid <= 0 || !strings.Contains(cmdline(pid), d.dataDir) {
		return 0 // not (or no longer) this daemon's
	}
	return pid
}

// stop removes what the test left in the private daemon (builds' networks
// and what killed builds left go with builder prune; containers and
// tasks), stops it and its shims, unmounts what is mounted under its
// directories and removes them.
func (d *privateDaemon) stop() {
	t := d.t
	if d.containerdPid() != 0 {
		d.command(d.base, "builder", "prune").Run() //nolint:errcheck // best effort cleanup
		if out, err := d.tryCtr("tasks", "ls", "-q"); err == nil {
			for _, id := range strings.Fields(out) {
				d.tryCtr("tasks", "kill", "-s", "SIGKILL", id) //nolint:errcheck // best effort cleanup
				d.tryCtr("tasks", "delete", "-f", id)          //nolint:errcheck // best effort cleanup
			}
		}
		if out, err := d.tryCtr("containers", "ls", "-q"); err == nil {
			for _, id := range strings.Fields(out) {
				d.tryCtr("containers", "rm", id) //nolint:errcheck // best effort cleanup
			}
		}
		if pid := d.containerdPid(); pid != 0 {
			syscall.Kill(pid, syscall.SIGTERM) //nolint:errcheck // checked below
			if !waitGoneWithin(pid, 30*time.Second) {
				t.Errorf("private containerd (pid %d) did not stop on SIGTERM", pid)
				syscall.Kill(pid, syscall.SIGKILL) //nolint:errcheck // last resort
				waitGoneWithin(pid, 10*time.Second)
			}
		}
	}
	// Shims (and project processes) of this daemon that outlived it.
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		if c := cmdline(pid); strings.Contains(c, "containerd-shim") && strings.Contains(c, d.runDir) {
			t.Logf("killing a shim the private containerd left: %d %s", pid, c)
			syscall.Kill(pid, syscall.SIGKILL) //nolint:errcheck // best effort cleanup
		}
	}
	// Mounts under its directories, deepest first.
	var mounts []string
	info, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(info), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], d.base+"/") {
			mounts = append(mounts, f[4])
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(mounts)))
	for _, m := range mounts {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", m, err)
		}
	}
	if err := os.RemoveAll(d.base); err != nil {
		t.Errorf("remove the private daemon's directories: %v", err)
	}
}

// nftRule is a rule of berth's nft table: its chain and the tag berth
// keeps in its user data.
type nftRule struct{ chain, tag string }

// berthRules lists the rules of berth's nft table (none when there is no
// table), for the leftover checks.
func berthRules() []nftRule {
	conn, err := nftables.New()
	if err != nil {
		return nil
	}
	table, err := conn.ListTableOfFamily("berth", nftables.TableFamilyIPv4)
	if err != nil {
		return nil
	}
	chains, _ := conn.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	var rules []nftRule
	for _, c := range chains {
		if c.Table.Name != table.Name {
			continue
		}
		rs, _ := conn.GetRules(table, c)
		for _, r := range rs {
			rules = append(rules, nftRule{chain: c.Name, tag: string(r.UserData)})
		}
	}
	return rules
}

// berthRunDir is the run directory berth uses (BERTH_RUN_DIR, as in cmd/berth).
func berthRunDir() string {
	if d := os.Getenv("BERTH_RUN_DIR"); d != "" {
		return d
	}
	return "/run/berth"
}

// taskStateDirs are where runc keeps the state of the berth namespace's
// containers (its default root when berth's run directory is the default
// one, else one inside it) and where containerd keeps their tasks'
// bundles.
func taskStateDirs() []string {
	runc := berthRunDir() + "/runc/berth"
	if berthRunDir() == "/run/berth" {
		runc = "/run/containerd/runc/berth"
	}
	return []string{runc, berthRunDir() + "/containerd/io.containerd.runtime.v2.task/berth"}
}

// berthDataDir is the data directory berth uses (BERTH_DATA_DIR, as in
// cmd/berth), so that the suite can run against a private daemon.
func berthDataDir() string {
	if d := os.Getenv("BERTH_DATA_DIR"); d != "" {
		return d
	}
	return "/var/lib/berth"
}
