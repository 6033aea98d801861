//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/berth/berth/containerd/build"
	"github.com/berth/berth/netbridge"
)

// loopbackServer is a TCP server on the host's 127.0.0.1 that counts the
// connections it accepts.
type loopbackServer struct {
	port     int
	accepted atomic.Int64
}

func newLoopbackServer(t *testing.T) *loopbackServer {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	s := &loopbackServer{port: l.Addr().(*net.TCPAddr).Port}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			c.Close()
		}
	}()
	return s
}

// hostNetns is the test's own (the host's) network namespace, as readlink
// /proc/self/ns/net shows it.
func hostNetns(t *testing.T) string {
	t.Helper()
	ns, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// probeRun is a RUN step's script that prints its network namespace, its
// seccomp mode, whether the host's loopback server answered, its
// nameserver and its default gateway, one key=value a line, and with a
// project address (host:port) whether that answered.
func probeRun(port int, project string) string {
	var probeProject string
	if project != "" {
		probeProject = fmt.Sprintf(`; if nc -w 3 %s %s </dev/null; then echo project=reached; else echo project=unreached; fi`,
			strings.Split(project, ":")[0], strings.Split(project, ":")[1])
	}
	return fmt.Sprintf(`echo "netns=$(readlink /proc/self/ns/net)"; `+
		`echo "seccomp=$(grep '^Seccomp:' /proc/self/status | cut -f2)"; `+
		`if nc -w 2 127.0.0.1 %d </dev/null; then echo loopback=reached; else echo loopback=unreached; fi; `+
		`echo "nameserver=$(grep -m1 '^nameserver' /etc/resolv.conf | cut -d' ' -f2)"; `+
		`echo "gateway=$(ip route | grep '^default' | cut -d' ' -f3)"`, port) + probeProject
}

var probeLine = regexp.MustCompile(`\| (netns|seccomp|loopback|nameserver|gateway|project)=(.*)`)

// probed reads probeRun's output from a build's output.
func probed(t *testing.T, out string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, m := range probeLine.FindAllStringSubmatch(out, -1) {
		got[m[1]] = strings.TrimSpace(m[2])
	}
	if got["netns"] == "" {
		t.Fatalf("no probe output in the build's output:\n%s", out)
	}
	return got
}

// TestBuildIsolationRun: a RUN step runs in a network namespace of its
// build's own, not the host's, so the host's 127.0.0.1 is not its
// loopback (a server there is not reached), nor does it reach a project's
// container; it is confined by Docker's seccomp profile; its nameserver is
// its gateway, the forwarder berth serves there.
func TestBuildIsolationRun(t *testing.T) {
	srv := newLoopbackServer(t)
	web := newProject(t, "services:\n  web:\n    image: "+testImage+"\n    command: [\"httpd\", \"-f\", \"-p\", \"80\", \"-h\", \"/www\"]\n", nil)
	web.must("up", "-d")
	webAddr := net.JoinHostPort(containerAddr(t, web.name+"_default", web.name+"-web-1"), "80")
	web.waitFor("web to answer the host", 30*time.Second, func() bool {
		c, err := net.DialTimeout("tcp4", webAddr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	p := newProject(t, "services:\n  app:\n    build: .\n", map[string]string{
		"Dockerfile": "FROM " + testImage + "\nRUN " + probeRun(srv.port, webAddr) + "\n",
	})
	removeImages(t, "docker.io/library/"+p.name+"-app:latest")
	got := probed(t, p.must("build", "--no-cache").stdout)
	if got["project"] != "unreached" {
		t.Errorf("RUN reached project %s's container at %s (%q)", web.name, webAddr, got["project"])
	}
	if host := hostNetns(t); got["netns"] == host {
		t.Errorf("RUN ran in the host's network namespace %s", host)
	}
	if got["seccomp"] != "2" {
		t.Errorf("RUN's seccomp mode = %q, want 2 (filter)", got["seccomp"])
	}
	if got["loopback"] != "unreached" || srv.accepted.Load() != 0 {
		t.Errorf("RUN reached the host's 127.0.0.1:%d (%s, %d connections accepted)", srv.port, got["loopback"], srv.accepted.Load())
	}
	if got["gateway"] == "" || got["nameserver"] != got["gateway"] {
		t.Errorf("RUN's nameserver %q, default gateway %q: want the gateway's forwarder", got["nameserver"], got["gateway"])
	}
	assertNoBuildNetworks(t, "/run/netns")
}

// TestBuildIsolationHostNetwork: a RUN step is in the host's network
// namespace (and reaches the host's loopback) only when the user asks for
// it: berth build --network host, the compose file's build.network: host,
// or a RUN --network=host the user granted network.host (build --allow,
// build.entitlements). Without the grant RUN --network=host fails the
// build before any step runs; an unknown build network is refused.
func TestBuildIsolationHostNetwork(t *testing.T) {
	srv := newLoopbackServer(t)
	host := hostNetns(t)
	plain := map[string]string{"Dockerfile": "FROM " + testImage + "\nRUN " + probeRun(srv.port, "") + "\n"}
	hostRun := map[string]string{"Dockerfile": "FROM " + testImage + "\nRUN true\nRUN --network=host " + probeRun(srv.port, "") + "\n"}
	for _, tc := range []struct {
		name, compose string
		files         map[string]string
		args          []string
	}{
		{"RUN --network=host with --allow", "services:\n  app:\n    build: .\n", hostRun, []string{"--allow", "network.host"}},
		{"RUN --network=host with build.entitlements", "services:\n  app:\n    build:\n      context: .\n      entitlements: [network.host]\n", hostRun, nil},
		{"build --network host", "services:\n  app:\n    build: .\n", plain, []string{"--network", "host"}},
		{"build.network host", "services:\n  app:\n    build:\n      context: .\n      network: host\n", plain, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newProject(t, tc.compose, tc.files)
			removeImages(t, "docker.io/library/"+p.name+"-app:latest")
			before := srv.accepted.Load()
			got := probed(t, p.must(append([]string{"build", "--no-cache"}, tc.args...)...).stdout)
			if got["netns"] != host {
				t.Errorf("RUN's network namespace = %s, want the host's %s", got["netns"], host)
			}
			if got["loopback"] != "reached" || srv.accepted.Load() == before {
				t.Errorf("RUN on the host's network did not reach 127.0.0.1:%d (%s)", srv.port, got["loopback"])
			}
			if got["seccomp"] != "2" {
				t.Errorf("RUN's seccomp mode = %q, want 2 (filter)", got["seccomp"])
			}
		})
	}
	t.Run("RUN --network=host not granted", func(t *testing.T) {
		p := newProject(t, "services:\n  app:\n    build: .\n", hostRun)
		before := srv.accepted.Load()
		r := p.berth("build", "--no-cache", "--network", "default")
		want := "Dockerfile:3: RUN --network=host needs the network.host entitlement: pass --allow network.host to berth build, or set build.entitlements: [network.host] for the service"
		if r.code == 0 || !strings.Contains(r.stderr, want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
			t.Errorf("build of RUN --network=host without the entitlement: want one line %q\n%s", want, r)
		}
		if strings.Contains(r.stdout, "RUN true") || srv.accepted.Load() != before {
			t.Errorf("a step ran before the refusal (%d connections accepted)\n%s", srv.accepted.Load()-before, r)
		}
	})
	t.Run("unknown entitlement", func(t *testing.T) {
		p := newProject(t, "services:\n  app:\n    build: .\n", plain)
		r := p.berth("build", "--allow", "device.fuse")
		if r.code == 0 || !strings.Contains(r.stderr, `--allow: entitlement "device.fuse" is not supported`) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
			t.Errorf("build --allow device.fuse: want one line refusing it\n%s", r)
		}
	})
	t.Run("unknown network", func(t *testing.T) {
		p := newProject(t, "services:\n  app:\n    build: .\n", plain)
		r := p.berth("build", "--network", "bridge")
		if r.code == 0 || !strings.Contains(r.stderr, `--network: build network "bridge" is not supported`) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
			t.Errorf("build --network bridge: want one line refusing it\n%s", r)
		}
	})
}

// containerAddr is a container's address on a network, from berth's IPAM
// state.
func containerAddr(t *testing.T, network, container string) string {
	t.Helper()
	var st struct {
		Networks map[string]struct {
			Addresses map[string]string `json:"addresses"`
		} `json:"networks"`
	}
	if err := json.Unmarshal([]byte(readFile(t, berthDataDir()+"/network/ipam.json")), &st); err != nil {
		t.Fatal(err)
	}
	addr := st.Networks[network].Addresses[container]
	if addr == "" {
		t.Fatalf("no address of %s on %s in berth's IPAM state", container, network)
	}
	return addr
}

// assertNoBuildNetworks checks that no build namespace of this test
// process's berth builds is left (builds of other processes may run).
func assertNoBuildNetworks(t *testing.T, dir string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "berth-build-") {
			continue
		}
		if pid, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(e.Name(), "berth-build-"), "-", 2)[0]); err == nil {
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); os.IsNotExist(err) {
				t.Errorf("left behind: build network namespace %s of a berth that is gone", e.Name())
			}
		}
	}
}

// buildLeft is what a build left on the private daemon and the host.
type buildLeft struct {
	containers, tasks, snapshots, leases, netns, ipam, bridges, rules, mounts, processes []string
}

func (l buildLeft) empty() bool {
	return len(l.containers)+len(l.tasks)+len(l.snapshots)+len(l.leases)+len(l.netns)+len(l.ipam)+len(l.bridges)+len(l.rules)+len(l.mounts)+len(l.processes) == 0
}

// left lists the build containers, tasks, temporary snapshots, build
// leases, build namespaces, IPAM entries and bridges of the berth process
// pid, mounts of the private daemon's tasks, and processes (shims, RUN
// steps) still tied to the private daemon's socket or running cmd.
func (d *privateDaemon) left(pid int, cmd string) buildLeft {
	var l buildLeft
	rows := func(what string) []string {
		var out []string
		for _, line := range strings.Split(d.ctr(what, "ls"), "\n")[1:] {
			if f := strings.Fields(line); len(f) > 0 && f[0] != "berth.build-cache" && (what == "leases" || strings.HasPrefix(f[0], "berth-build-")) {
				out = append(out, strings.TrimSpace(line))
			}
		}
		return out
	}
	l.containers, l.tasks, l.snapshots, l.leases = rows("containers"), rows("tasks"), rows("snapshots"), rows("leases")
	prefix := fmt.Sprintf("berth-build-%d-", pid)
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			// The namespace and the network have the same name.
			l.netns = append(l.netns, e.Name())
			d.networks[e.Name()] = true
		}
	}
	for _, n := range d.ipamNetworks() {
		if strings.HasPrefix(n, prefix) {
			l.ipam = append(l.ipam, n)
			d.networks[n] = true
		}
	}
	// A bridge may outlive its namespace and IPAM entry: its name is a
	// hash of its network's, which is the build's owner (pid, start time,
	// build id) that the build's containers, leases and directories name.
	for _, owner := range d.buildOwners() {
		if n := "berth-build-" + owner; strings.HasPrefix(n, prefix) {
			d.networks[n] = true
		}
	}
	for n := range d.networks {
		if strings.HasPrefix(n, prefix) {
			if _, err := os.Stat(filepath.Join("/sys/class/net", netbridge.BridgeName(d.scoped(n)))); err == nil {
				l.bridges = append(l.bridges, netbridge.BridgeName(d.scoped(n)))
			}
		}
	}
	for _, r := range berthRules() {
		if strings.HasPrefix(r.tag, "berth-build:"+d.scoped(prefix)) || strings.HasPrefix(r.tag, "berth-network:"+d.scoped(prefix)) {
			l.rules = append(l.rules, r.chain+": "+r.tag)
		}
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(mounts), "\n") {
		if strings.Contains(line, d.runDir) || strings.Contains(line, d.dataDir) {
			l.mounts = append(l.mounts, line)
		}
	}
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		cmdline, err := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
		if err != nil || p.Name() == strconv.Itoa(os.Getpid()) {
			continue
		}
		s := string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))
		if strings.Contains(s, "containerd-shim") && strings.Contains(s, d.address()) || strings.TrimSpace(s) == cmd {
			l.processes = append(l.processes, p.Name()+": "+s)
		}
	}
	return l
}

// ipamNetworks are the build networks in the private daemon's IPAM state.
func (d *privateDaemon) ipamNetworks() []string {
	b, err := os.ReadFile(filepath.Join(d.dataDir, "network", "ipam.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		d.t.Fatal(err)
	}
	var st struct {
		Networks map[string]json.RawMessage `json:"networks"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		d.t.Fatalf("berth's IPAM state: %v", err)
	}
	var names []string
	for n := range st.Networks {
		if strings.HasPrefix(n, "berth-build-") {
			names = append(names, n)
		}
	}
	return names
}

// buildOwners are the build owners the private daemon's build
// containers and leases and its run dir's build directories name.
func (d *privateDaemon) buildOwners() []string {
	var owners []string
	for _, line := range strings.Split(d.ctr("containers", "ls"), "\n")[1:] {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], "berth-build-") {
			var c struct{ Labels map[string]string }
			if err := json.Unmarshal([]byte(d.ctr("containers", "info", f[0])), &c); err != nil {
				d.t.Fatalf("ctr containers info %s: %v", f[0], err)
			}
			owners = append(owners, c.Labels[build.LabelOwner])
		}
	}
	for _, line := range strings.Split(d.ctr("leases", "ls"), "\n")[1:] {
		if m := leaseOwner.FindStringSubmatch(line); m != nil {
			owners = append(owners, m[2])
		}
	}
	for _, dir := range []string{"build-fifo", "build-etc"} {
		entries, _ := os.ReadDir(filepath.Join(d.runDir, dir))
		for _, e := range entries {
			owners = append(owners, e.Name())
		}
	}
	return owners
}

// startKilledBuild starts berth build in dir, waits until its RUN step
// prints started, and kills berth with SIGKILL. It returns berth's pid.
func (d *privateDaemon) startKilledBuild(dir string) int {
	d.t.Helper()
	cmd := d.command(dir, "build", "--no-cache")
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "| started") {
		if time.Now().After(deadline) {
			cmd.Process.Kill() //nolint:errcheck // failing anyway
			cmd.Wait()         //nolint:errcheck
			d.t.Fatalf("the RUN step did not start:\n%s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		d.t.Fatal(err)
	}
	cmd.Wait() //nolint:errcheck // killed
	return cmd.Process.Pid
}

// TestBuildIsolationKilledBuild: berth killed with SIGKILL during a RUN
// step leaves its build container, task (shim, rootfs mount), snapshot,
// lease and network; berth builder prune removes them, and so does the
// next build. A running build's are left alone by both.
func TestBuildIsolationKilledBuild(t *testing.T) {
	d := newPrivateDaemon(t)
	dir := t.TempDir()
	const sleep = "sleep 321"
	write := func(dockerfile string) {
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte("services:\n  app:\n    build: .\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	write("FROM " + testImage + "\nRUN echo started && " + sleep + "\n")

	// Killed, then pruned.
	pid := d.startKilledBuild(dir)
	if l := d.left(pid, sleep); len(l.containers) == 0 || len(l.tasks) == 0 || len(l.netns) == 0 || len(l.ipam) == 0 || len(l.bridges) == 0 || len(l.leases) == 0 || len(l.rules) == 0 {
		t.Fatalf("a killed build left nothing to clean up, so this test proves nothing: %+v", l)
	}
	d.must(dir, "builder", "prune")
	if l := d.left(pid, sleep); !l.empty() {
		t.Errorf("left after builder prune: %+v", l)
	}

	// A running build is not touched by prune; killed, the next build
	// removes what it left.
	cmd := d.command(dir, "build", "--no-cache")
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() }) //nolint:errcheck // killed by the test already
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "| started") {
		if time.Now().After(deadline) {
			t.Fatalf("the RUN step did not start:\n%s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	running := d.left(cmd.Process.Pid, sleep)
	d.must(dir, "builder", "prune")
	if l := d.left(cmd.Process.Pid, sleep); len(l.containers) != len(running.containers) || len(l.tasks) != len(running.tasks) || len(l.netns) != len(running.netns) || len(l.containers) == 0 {
		t.Errorf("builder prune took from a running build: before %+v\nafter %+v", running, l)
	}
	cmd.Process.Signal(syscall.SIGKILL) //nolint:errcheck // checked by what is left
	cmd.Wait()                          //nolint:errcheck // killed
	pid = cmd.Process.Pid
	write("FROM " + testImage + "\nRUN echo next\n")
	d.must(dir, "build")
	if l := d.left(pid, sleep); !l.empty() {
		t.Errorf("left after the next build: %+v", l)
	}
}
