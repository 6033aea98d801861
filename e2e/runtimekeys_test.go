//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLifecycleHooks checks post_start and pre_stop: they run in the
// container with their user, working directory and environment, and a
// failing post_start fails up.
func TestLifecycleHooks(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  app:
    image: `+testImage+`
    stop_signal: SIGKILL
    user: "1000"
    volumes: ["./out:/out"]
    command: ["sh", "-c", "sleep 600"]
    post_start:
      - command: ["sh", "-c", "echo \"$$(id -u) $$(pwd) $$GREETING\" > /out/started"]
        user: root
        working_dir: /tmp
        environment: {GREETING: hello}
    pre_stop:
      - command: ["sh", "-c", "echo stopping > /out/stopped"]
        user: root
`, map[string]string{"out/.keep": ""})
	p.must("up", "-d")
	if got := strings.TrimSpace(readFile(t, filepath.Join(p.dir, "out", "started"))); got != "0 /tmp hello" {
		t.Errorf("post_start wrote %q, want \"0 /tmp hello\" (root, working_dir, environment)", got)
	}
	if _, err := os.Stat(filepath.Join(p.dir, "out", "stopped")); err == nil {
		t.Fatal("pre_stop ran before any stop")
	}
	p.must("stop")
	if got := strings.TrimSpace(readFile(t, filepath.Join(p.dir, "out", "stopped"))); got != "stopping" {
		t.Errorf("pre_stop wrote %q, want stopping", got)
	}

	// A restart by the restart policy runs no post_start (docker compose
	// runs hooks from its commands, never on the engine's restarts); a
	// restart command does.
	policy := newProject(t, `
services:
  app:
    image: `+testImage+`
    stop_signal: SIGKILL
    restart: always
    volumes: ["./out:/out"]
    command: ["sleep", "600"]
    post_start:
      - command: ["sh", "-c", "echo started >> /out/log"]
`, map[string]string{"out/.keep": ""})
	policy.must("up", "-d")
	name := policy.name + "-app-1"
	syscall.Kill(taskPid(t, name), syscall.SIGKILL)
	policy.waitFor("app to be restarted by its policy", 15*time.Second, func() bool {
		e := policy.entry(name)
		return e.State == "running" && e.RestartCount == 1
	})
	if got := readFile(t, filepath.Join(policy.dir, "out", "log")); got != "started\n" {
		t.Errorf("after up and a policy restart, post_start wrote %q, want one line", got)
	}
	policy.must("restart")
	if got := readFile(t, filepath.Join(policy.dir, "out", "log")); got != "started\nstarted\n" {
		t.Errorf("after berth restart, post_start wrote %q, want a second line", got)
	}

	bad := newProject(t, `
services:
  app:
    image: `+testImage+`
    stop_signal: SIGKILL
    command: ["sleep", "600"]
    post_start:
      - command: ["sh", "-c", "echo hook-broke >&2; exit 3"]
`, nil)
	r := bad.berth("up", "-d")
	if r.code == 0 {
		t.Fatalf("up with a failing post_start succeeded:\n%s", r)
	}
	for _, want := range []string{"app hook exited with status 3", "post_start[0]", "hook-broke"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("up's error lacks %q:\n%s", want, r.stderr)
		}
	}
	for _, c := range bad.ps(true) {
		if c.State == "running" {
			t.Errorf("container %s still runs after its post_start failed", c.Name)
		}
	}
}

// TestPreStopHooksOfTheFile: stop and down with a compose file run the
// pre_stop hooks of that file, as docker compose does, not those the
// container was created with; by project name alone, its own.
func TestPreStopHooksOfTheFile(t *testing.T) {
	t.Parallel()
	const file = `
services:
  app:
    image: %s
    stop_signal: SIGKILL
    volumes: ["./out:/out"]
    command: ["sleep", "600"]
    pre_stop:
      - command: ["sh", "-c", "%s"]
`
	p := newProject(t, fmt.Sprintf(file, testImage, "exit 3"), map[string]string{"out/.keep": ""})
	p.must("up", "-d")
	if r := p.byName("stop"); r.code == 0 || !strings.Contains(r.stderr, "app hook exited with status 3") {
		t.Errorf("stop by project name = %s, want the failure of the hook app was created with", r)
	}
	p.write("compose.yaml", fmt.Sprintf(file, testImage, "echo from the file > /out/stopped"))
	p.must("down")
	if got := strings.TrimSpace(readFile(t, filepath.Join(p.dir, "out", "stopped"))); got != "from the file" {
		t.Errorf("down with the fixed file: its pre_stop wrote %q, want \"from the file\"", got)
	}
}

// TestPostStartHooksOfTheFile: start and restart with a compose file run
// the post_start hooks of that file, as docker compose does, not those the
// container was created with; by project name alone, its own.
func TestPostStartHooksOfTheFile(t *testing.T) {
	t.Parallel()
	const file = `
services:
  app:
    image: %s
    stop_signal: SIGKILL
    volumes: ["./out:/out"]
    command: ["sleep", "600"]
    post_start:
      - command: ["sh", "-c", "echo %s >> /out/started"]
`
	p := newProject(t, fmt.Sprintf(file, testImage, "created"), map[string]string{"out/.keep": ""})
	started := func() string {
		t.Helper()
		return strings.Join(strings.Fields(readFile(t, filepath.Join(p.dir, "out", "started"))), " ")
	}
	p.must("up", "-d")
	p.must("stop")
	p.write("compose.yaml", fmt.Sprintf(file, testImage, "edited"))
	p.must("start")
	p.must("restart")
	if got := started(); got != "created edited edited" {
		t.Errorf("start and restart with the edited file: the hooks wrote %q, want \"created edited edited\"", got)
	}
	p.must("stop")
	if r := p.byName("start"); r.code != 0 {
		t.Fatalf("start by project name: %s", r)
	}
	if got := started(); got != "created edited edited created" {
		t.Errorf("start by project name: the hooks wrote %q, want the container's own (created) last", got)
	}
}

// TestIpcModes checks ipc: service:NAME shares the namespace (and
// /dev/shm) of the other service's container, host the host's, and that
// a container of its own is the default.
func TestIpcModes(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  owner:
    image: `+testImage+`
    ipc: shareable
    stop_signal: SIGKILL
    command: ["sh", "-c", "echo shared > /dev/shm/marker; sleep 600"]
  guest:
    image: `+testImage+`
    ipc: service:owner
    depends_on: [owner]
    stop_signal: SIGKILL
    command: ["sleep", "600"]
  host:
    image: `+testImage+`
    ipc: host
    stop_signal: SIGKILL
    command: ["sleep", "600"]
  alone:
    image: `+testImage+`
    stop_signal: SIGKILL
    command: ["sleep", "600"]
`, nil)
	p.must("up", "-d")
	ns := func(service string) string {
		return strings.TrimSpace(p.must("exec", "-T", service, "readlink", "/proc/self/ns/ipc").stdout)
	}
	hostNS, err := os.Readlink("/proc/self/ns/ipc")
	if err != nil {
		t.Fatal(err)
	}
	owner, guest, host, alone := ns("owner"), ns("guest"), ns("host"), ns("alone")
	if owner != guest {
		t.Errorf("guest's ipc namespace %s, owner's %s: want the same", guest, owner)
	}
	if host != hostNS {
		t.Errorf("host's ipc namespace %s, want the host's %s", host, hostNS)
	}
	if alone == owner || alone == hostNS {
		t.Errorf("alone's ipc namespace %s is not its own", alone)
	}
	p.waitFor("the owner's marker", 10*time.Second, func() bool {
		return strings.TrimSpace(p.berth("exec", "-T", "guest", "cat", "/dev/shm/marker").stdout) == "shared"
	})

	// The owner's restart gives it a new process: the guest, restarted,
	// joins that one's namespace, not the gone one's.
	p.must("restart", "owner")
	p.must("restart", "guest")
	if owner, guest := ns("owner"), ns("guest"); owner != guest {
		t.Errorf("after restarts: guest's ipc namespace %s, owner's %s: want the same", guest, owner)
	}
}

// TestPidUtsModes checks pid: service:, pid: host and uts: host.
func TestPidUtsModes(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  main:
    image: `+testImage+`
    stop_signal: SIGKILL
    command: ["sh", "-c", "exec sleep 601"]
  side:
    image: `+testImage+`
    pid: service:main
    depends_on: [main]
    stop_signal: SIGKILL
    command: ["sleep", "600"]
  hostpid:
    image: `+testImage+`
    pid: host
    uts: host
    stop_signal: SIGKILL
    command: ["sleep", "600"]
`, nil)
	p.must("up", "-d")
	if out := p.must("exec", "-T", "side", "ps", "-o", "args").stdout; !strings.Contains(out, "sleep 601") {
		t.Errorf("side does not see main's processes:\n%s", out)
	}
	hostPid, _ := os.Readlink("/proc/self/ns/pid")
	if got := strings.TrimSpace(p.must("exec", "-T", "hostpid", "readlink", "/proc/self/ns/pid").stdout); got != hostPid {
		t.Errorf("pid: host namespace %s, want the host's %s", got, hostPid)
	}
	hostname, _ := os.Hostname()
	if got := strings.TrimSpace(p.must("exec", "-T", "hostpid", "hostname").stdout); got != hostname {
		t.Errorf("uts: host hostname %q, want the host's %q", got, hostname)
	}
}

// TestLinksAliases checks links: [db:database]: database resolves to db
// for the linking service only.
func TestLinksAliases(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  db:
    image: `+testImage+`
    stop_signal: SIGKILL
    command: ["sleep", "600"]
  web:
    image: `+testImage+`
    links: ["db:database"]
    stop_signal: SIGKILL
    command: ["sleep", "600"]
  other:
    image: `+testImage+`
    stop_signal: SIGKILL
    command: ["sleep", "600"]
`, nil)
	p.must("up", "-d")
	dbAddr := strings.Fields(p.must("exec", "-T", "db", "sh", "-c", "ip -o -4 addr show eth0 | awk '{print $4}'").stdout)
	if len(dbAddr) != 1 {
		t.Fatalf("db's address: %q", dbAddr)
	}
	want := strings.Split(dbAddr[0], "/")[0]
	out := p.must("exec", "-T", "web", "nslookup", "database").stdout
	if !strings.Contains(out, want) {
		t.Errorf("web: nslookup database = %s, want db's %s", out, want)
	}
	if r := p.berth("exec", "-T", "other", "nslookup", "database"); r.code == 0 && strings.Contains(r.stdout, want) {
		t.Errorf("other resolves web's link alias:\n%s", r.stdout)
	}
}

// TestMacAddress checks the service-level mac_address and interface_name.
func TestMacAddress(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  app:
    image: `+testImage+`
    mac_address: "02:42:ac:11:00:99"
    stop_signal: SIGKILL
    command: ["sleep", "600"]
`, nil)
	p.must("up", "-d")
	if got := strings.TrimSpace(p.must("exec", "-T", "app", "cat", "/sys/class/net/eth0/address").stdout); got != "02:42:ac:11:00:99" {
		t.Errorf("eth0's address = %q, want 02:42:ac:11:00:99", got)
	}
}

func TestInterfaceName(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  app:
    image: `+testImage+`
    stop_signal: SIGKILL
    command: ["sleep", "600"]
    networks:
      default: {}
      back:
        interface_name: backnet
        mac_address: "02:42:ac:11:00:98"
networks:
  back: {}
`, nil)
	p.must("up", "-d")
	out := p.must("exec", "-T", "app", "ls", "/sys/class/net").stdout
	if !strings.Contains(out, "backnet") || !strings.Contains(out, "eth0") {
		t.Errorf("interfaces = %q, want eth0 and backnet", out)
	}
	if got := strings.TrimSpace(p.must("exec", "-T", "app", "cat", "/sys/class/net/backnet/address").stdout); got != "02:42:ac:11:00:98" {
		t.Errorf("backnet's address = %q", got)
	}
}

// TestImageVolume checks a volume of type image: the image's files, read
// only, with subpath; the service's other volumes are mounted too.
func TestImageVolume(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  app:
    image: `+testImage+`
    stop_signal: SIGKILL
    command: ["sleep", "600"]
    volumes:
      - ./data:/data
      - type: image
        source: `+testImage+`
        target: /img
      - type: image
        source: `+testImage+`
        target: /imgbin
        image: {subpath: bin}
`, map[string]string{"data/hello": "hi"})
	r := p.must("up", "-d")
	if strings.Contains(r.stderr, "not supported") {
		t.Errorf("up warns:\n%s", r.stderr)
	}
	if out := p.must("exec", "-T", "app", "cat", "/data/hello").stdout; out != "hi" {
		t.Errorf("/data/hello = %q: the bind mount beside the image volume is missing", out)
	}
	if r := p.berth("exec", "-T", "app", "test", "-x", "/img/bin/busybox"); r.code != 0 {
		t.Errorf("/img/bin/busybox is not there:\n%s", r)
	}
	if r := p.berth("exec", "-T", "app", "test", "-x", "/imgbin/busybox"); r.code != 0 {
		t.Errorf("subpath bin: /imgbin/busybox is not there:\n%s", r)
	}
	if r := p.berth("exec", "-T", "app", "touch", "/img/x"); r.code == 0 {
		t.Error("the image volume is writable")
	}
}

// TestLoggingDriver checks max-size/max-file rotation, driver none, and
// that another driver is refused by name.
func TestLoggingDriver(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  rotated:
    image: `+testImage+`
    stop_signal: SIGKILL
    logging:
      driver: json-file
      options: {max-size: 2k, max-file: "2"}
    command: ["sh", "-c", "for i in $$(seq 200); do echo line-$$i-padding-padding-padding; done; echo finished; sleep 600"]
  quiet:
    image: `+testImage+`
    stop_signal: SIGKILL
    logging: {driver: none}
    command: ["sh", "-c", "echo should-not-be-kept; sleep 600"]
`, nil)
	p.must("up", "-d")
	var out string
	p.waitFor("the rotated log", 15*time.Second, func() bool {
		out = p.must("logs", "--no-log-prefix", "rotated").stdout
		return strings.Contains(out, "finished")
	})
	if strings.Contains(out, "line-1-padding") {
		t.Errorf("the first lines are still in the log after rotation at 2k:\n%.300s", out)
	}
	if len(out) > 4096 {
		t.Errorf("logs show %d bytes, want at most about 2k", len(out))
	}
	if out := p.berth("logs", "quiet").stdout; strings.Contains(out, "should-not-be-kept") {
		t.Errorf("driver none kept output:\n%s", out)
	}

	bad := newBareProject(t, `
services:
  app:
    image: `+testImage+`
    logging: {driver: syslog}
`, nil)
	r := bad.berth("up", "-d")
	if r.code == 0 || !strings.Contains(r.stderr, `logging: driver "syslog" is not supported`) || !strings.Contains(r.stderr, `"app"`) {
		t.Errorf("up with driver syslog:\n%s", r)
	}
	bad.assertNothingLeft()
}

// TestCgroupKeys checks cgroup_parent, cpuset and device_cgroup_rules on
// a running container, userns_mode: host, and storage_opt refused.
func TestCgroupKeys(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  app:
    image: `+testImage+`
    stop_signal: SIGKILL
    cgroup_parent: berth-e2e-parent
    cpuset: "0"
    userns_mode: host
    cgroup: host
    device_cgroup_rules: ["c 1:9 rwm"]
    command: ["sleep", "600"]
`, nil)
	p.must("up", "-d")
	cg := p.must("exec", "-T", "app", "cat", "/proc/self/cgroup").stdout
	if !strings.Contains(cg, "/berth-e2e-parent/") {
		t.Errorf("/proc/self/cgroup lacks the parent:\n%s", cg)
	}
	if got := p.must("exec", "-T", "app", "sh", "-c", "grep Cpus_allowed_list /proc/self/status").stdout; !strings.Contains(got, "\t0\n") {
		t.Errorf("cpuset 0: %q", got)
	}
	// c 1:9 is /dev/urandom's numbers: mknod works where the rule allows it.
	if r := p.berth("exec", "-T", "app", "mknod", "/tmp/urnd", "c", "1", "9"); r.code != 0 {
		t.Errorf("mknod of an allowed device failed:\n%s", r)
	}
	if r := p.berth("exec", "-T", "app", "sh", "-c", "head -c 4 /tmp/urnd | wc -c"); strings.TrimSpace(r.stdout) != "4" {
		t.Errorf("reading the allowed device:\n%s", r)
	}

	blkio(t)

	bad := newBareProject(t, `
services:
  app:
    image: `+testImage+`
    command: ["sleep", "600"]
    storage_opt: {size: 1G}
`, nil)
	r := bad.berth("up", "-d")
	if r.code == 0 || !strings.Contains(r.stderr, "storage_opt is not supported") {
		t.Errorf("up with storage_opt:\n%s", r)
	}
	bad.byName("down", "-t", "0")
	bad.assertNothingLeft()
}

// blkio checks blkio_config: a read throttle on a block device of the
// host is in the container's cgroup; a weight is refused by name where the
// kernel's block I/O controller has none (this machine's cgroup v1 with
// the none scheduler), and set where it has.
func blkio(t *testing.T) {
	dev := ""
	for _, name := range []string{"vda", "sda", "nvme0n1", "xvda", "loop0"} {
		if st, err := os.Stat("/dev/" + name); err == nil && st.Mode()&os.ModeDevice != 0 && st.Mode()&os.ModeCharDevice == 0 {
			dev = "/dev/" + name
			break
		}
	}
	if dev == "" {
		t.Log("no block device to throttle: blkio_config not checked")
		return
	}
	numbers := strings.TrimSpace(readFile(t, filepath.Join("/sys/block", filepath.Base(dev), "dev")))
	p := newProject(t, `
services:
  app:
    image: `+testImage+`
    stop_signal: SIGKILL
    command: ["sleep", "600"]
    blkio_config:
      device_read_bps: [{path: `+dev+`, rate: 1mb}]
`, nil)
	p.must("up", "-d")
	// The container's cgroup, seen from the host: /<namespace>/<container>.
	name := p.name + "-app-1"
	v1, _ := filepath.Glob("/sys/fs/cgroup/blkio/*/" + name + "/blkio.throttle.read_bps_device")
	v2, _ := filepath.Glob("/sys/fs/cgroup/*/" + name + "/io.max")
	var out string
	for _, f := range append(v1, v2...) {
		out += readFile(t, f)
	}
	if !strings.Contains(out, numbers+" 1048576") && !strings.Contains(out, numbers+" rbps=1048576") {
		t.Errorf("the cgroup of %s lacks the read throttle %s 1048576 (files %q):\n%s", name, numbers, append(v1, v2...), out)
	}

	_, v1err := os.Stat("/sys/fs/cgroup/blkio/blkio.weight")
	_, bfqErr := os.Stat("/sys/fs/cgroup/blkio/blkio.bfq.weight")
	if _, v2 := os.Stat("/sys/fs/cgroup/cgroup.controllers"); v2 == nil || v1err == nil || bfqErr == nil {
		return // weights may work here: the refusal is not checked
	}
	w := newProject(t, `
services:
  app:
    image: `+testImage+`
    command: ["sleep", "600"]
    blkio_config: {weight: 300}
`, nil)
	r := w.berth("up", "-d")
	if r.code == 0 || !strings.Contains(r.stderr, `service "app": blkio_config weights`) {
		t.Errorf("up with a blkio weight on a kernel without weights:\n%s", r)
	}
}
