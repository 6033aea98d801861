//go:build e2e

package e2e

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/netbridge"
)

func TestDependencyOrder(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  a:
    image: `+testImage+`
    command: [sleep, "600"]
    stop_signal: SIGKILL
  b:
    image: `+testImage+`
    depends_on: [a]
    command: [sleep, "600"]
    stop_signal: SIGKILL
  c:
    image: `+testImage+`
    depends_on: [a]
    command: [sleep, "600"]
    stop_signal: SIGKILL
  d:
    image: `+testImage+`
    depends_on: [b, c]
    command: [sleep, "600"]
    stop_signal: SIGKILL
`, nil)
	p.must("up", "-d")
	started := map[string]time.Time{}
	for _, c := range p.ps(false) {
		ts, err := time.Parse(time.RFC3339Nano, c.label("berth.started-at"))
		if err != nil {
			t.Fatalf("%s: started-at %q: %v", c.Name, c.label("berth.started-at"), err)
		}
		started[c.Service] = ts
	}
	for _, edge := range [][2]string{{"a", "b"}, {"a", "c"}, {"b", "d"}, {"c", "d"}} {
		if !started[edge[0]].Before(started[edge[1]]) {
			t.Errorf("%s started at %v, not before its dependent %s at %v", edge[0], started[edge[0]], edge[1], started[edge[1]])
		}
	}
}

func TestReplicasAndNames(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  worker:
    image: `+testImage+`
    command: [sleep, "600"]
    stop_signal: SIGKILL
    deploy:
      replicas: 2
  fixed:
    image: `+testImage+`
    container_name: ${NAME}
    command: [sleep, "600"]
    stop_signal: SIGKILL
`, nil)
	fixed := "e2e-fixed-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	r := p.berthEnv([]string{"NAME=" + fixed}, "up", "-d")
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	var names []string
	for _, c := range p.ps(false) {
		names = append(names, c.Name)
	}
	sort.Strings(names)
	want := []string{fixed, p.name + "-worker-1", p.name + "-worker-2"}
	sort.Strings(want)
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("containers = %v, want %v", names, want)
	}
	// Scale down through the file: the highest replica goes.
	p.write("compose.yaml", strings.Replace(readFile(t, p.dir+"/compose.yaml"), "replicas: 2", "replicas: 1", 1))
	if r := p.berthEnv([]string{"NAME=" + fixed}, "up", "-d"); r.code != 0 {
		t.Fatalf("%s", r)
	}
	for _, c := range p.ps(true) {
		if c.Name == p.name+"-worker-2" {
			t.Errorf("worker-2 still there after scaling down to 1")
		}
	}
	if r := p.berthEnv([]string{"NAME=" + fixed}, "down"); r.code != 0 {
		t.Fatalf("%s", r)
	}
}

func TestStopGracePeriod(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  polite:
    image: `+testImage+`
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1 & wait $$!; done"]
  stubborn:
    image: `+testImage+`
    command: ["sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"]
    stop_grace_period: 1s
`, nil)
	p.must("up", "-d")
	begin := time.Now()
	p.must("down")
	// The stubborn one is killed after its 1 s grace period, not Docker's 10 s default.
	if took := time.Since(begin); took > 8*time.Second {
		t.Errorf("down took %s; stop_grace_period 1s was not honoured", took)
	}
	if ps := p.ps(true); len(ps) != 0 {
		t.Errorf("containers left after down: %+v", ps)
	}
}

func TestProjectNetworks(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  web:
    image: `+testImage+`
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    stop_signal: SIGKILL
    networks:
      front:
        ipv4_address: 10.89.250.10
  client:
    image: `+testImage+`
    depends_on: [web]
    stop_signal: SIGKILL
    networks: [front, default]
    extra_hosts: ["host.docker.internal:host-gateway", "fixed.test:10.89.250.77"]
    dns_search: [corp.test]
    command:
      - sh
      - -c
      - |
        cat /etc/hosts /etc/resolv.conf
        ip -o -4 addr show | grep -v ' lo '
        ip route | grep default | grep -v 10.89.250
        echo hostname=$$(hostname)
        for i in $$(seq 50); do wget -qO- http://10.89.250.10:8080/ && break; sleep 0.1; done
        wget -qO- http://web:8080/ >/dev/null && echo web-by-name-ok
        sleep 600
  host:
    image: `+testImage+`
    network_mode: host
    command: [sleep, "600"]
    stop_signal: SIGKILL
networks:
  front:
    ipam:
      config:
        - subnet: 10.89.250.0/24
`, nil)
	p.must("up", "-d")
	var out string
	p.waitFor("client to fetch web's page", 15*time.Second, func() bool {
		out = p.must("logs", "--no-log-prefix", "client").stdout
		return strings.Contains(out, "hello from berth")
	})
	// web is on front only; client asks the DNS server of its first
	// network (default), which answers for all of client's networks.
	p.waitFor("client to fetch web by name", 10*time.Second, func() bool {
		out = p.must("logs", "--no-log-prefix", "client").stdout
		return strings.Contains(out, "web-by-name-ok")
	})
	for _, want := range []string{"eth0    inet 10.89.", "eth1    inet 10.89.250.", "hostname=" + p.name + "-client-1"} {
		if !strings.Contains(out, want) {
			t.Errorf("client output lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`(?m)^10\.89\.\d+\.1\thost\.docker\.internal$`).MatchString(out) ||
		!strings.Contains(out, "10.89.250.77\tfixed.test") || !strings.Contains(out, "search corp.test") {
		t.Errorf("extra_hosts (with host-gateway) or dns_search missing:\n%s", out)
	}
	if !regexp.MustCompile(`(?m)^default via 10\.89\.\d+\.1 dev eth0`).MatchString(out) {
		t.Errorf("the default route is not through eth0 (the default network):\n%s", out)
	}
	for _, n := range []string{p.name + "_front", p.name + "_default"} {
		if _, err := os.Stat("/sys/class/net/" + netbridge.BridgeName(n)); err != nil {
			t.Errorf("bridge of %s missing while up: %v", n, err)
		}
	}
	if _, err := statNetns("berth-" + p.name + "-host-1"); err == nil {
		t.Errorf("network_mode: host got its own namespace")
	}
	p.must("down")
	p.assertNothingLeft()
}

// cgroupValue reads a container's cgroup setting from the host: cgroup v1
// (controller/berth/<id>/file) or v2 (berth/<id>/file).
func cgroupValue(t *testing.T, id, v1, v2 string) string {
	t.Helper()
	for _, p := range []string{"/sys/fs/cgroup/" + v1[:strings.Index(v1, ".")] + "/berth/" + id + "/" + v1, "/sys/fs/cgroup/berth/" + id + "/" + v2} {
		if b, err := os.ReadFile(p); err == nil {
			return strings.TrimSpace(string(b))
		}
	}
	t.Fatalf("no cgroup file %s or %s for %s", v1, v2, id)
	return ""
}

// TestResourceLimits: memory, pids, ulimits and shm_size reach the
// container.
func TestResourceLimits(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  app:
    image: `+testImage+`
    command: ["sh", "-c", "ulimit -n; df -k /dev/shm | tail -1 | awk '{print $2}'; exec sleep 600"]
    stop_signal: SIGKILL
    mem_limit: 64m
    pids_limit: 50
    shm_size: 16m
    ulimits:
      nofile: {soft: 1000, hard: 2000}
`, nil)
	p.must("up", "-d")
	id := p.name + "-app-1"
	if v := cgroupValue(t, id, "memory.limit_in_bytes", "memory.max"); v != "67108864" {
		t.Errorf("memory limit %s, want 67108864", v)
	}
	if v := cgroupValue(t, id, "pids.max", "pids.max"); v != "50" {
		t.Errorf("pids limit %s, want 50", v)
	}
	p.waitFor("the output", 10*time.Second, func() bool {
		return p.must("logs", "--no-log-prefix", "app").stdout == "1000\n16384\n"
	})
}

// TestSecretsAndConfigs: file, environment and content secrets and configs
// are read-only files at the compose-spec paths, with mode and owner.
func TestSecretsAndConfigs(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  app:
    image: `+testImage+`
    command: ["sh", "-c", "cat /run/secrets/pw /run/secrets/token /app.conf; ls -ln /run/secrets/token | awk '{print $1, $3}'; (echo x > /run/secrets/pw) 2>/dev/null || echo read-only"]
    secrets:
      - pw
      - source: token
        mode: 0400
        uid: "65534"
    configs:
      - source: conf
        target: /app.conf
secrets:
  pw:
    file: ./pw.txt
  token:
    environment: E2E_TOKEN
configs:
  conf:
    content: |
      listen = 8080
`, map[string]string{"pw.txt": "s3cret\n"})
	if r := p.berthEnv([]string{"E2E_TOKEN=tok123"}, "up"); r.code != 0 {
		t.Fatalf("%s", r)
	}
	want := "s3cret\ntok123listen = 8080\n-r-------- 65534\nread-only\n"
	if got := p.must("logs", "--no-log-prefix", "app").stdout; got != want {
		t.Errorf("in the container:\n%q\nwant\n%q", got, want)
	}
}

// TestInit: with init: true berth itself is pid 1 (as docker-init): the
// orphans the command leaves are reaped, and a stop's SIGTERM reaches the
// command (sleep as pid 1 would ignore it and be killed after the grace
// period, exit 137).
func TestInit(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  app:
    image: `+testImage+`
    init: true
    stop_grace_period: 60s
    command: ["sh", "-c", "for i in 1 2 3 4 5; do (sleep 0.01 &); done; exec sleep 600"]
`, nil)
	p.must("up", "-d")
	r := p.must("exec", "-T", "app", "cat", "/proc/1/cmdline")
	if got := strings.ReplaceAll(r.stdout, "\x00", " "); !strings.HasPrefix(got, "/sbin/docker-init -- sh -c") {
		t.Errorf("pid 1 is %q, want /sbin/docker-init -- sh -c ...", got)
	}
	p.waitFor("the orphans to be reaped", 10*time.Second, func() bool {
		out := p.must("exec", "-T", "app", "sh", "-c", "cat /proc/[0-9]*/stat").stdout
		return !strings.Contains(out, ") Z ")
	})
	p.must("stop", "app")
	if e := p.entry(p.name + "-app-1"); e.ExitCode != 143 {
		t.Errorf("exit code after stop %d, want 143 (SIGTERM passed to the command)", e.ExitCode)
	}
}

// TestTTYAndStdinOpen: tty: true gives the process a terminal (and keeps
// an interactive shell running, as with Docker); stdin_open without a tty
// gives it a standard input that does not end.
func TestTTYAndStdinOpen(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  term:
    image: `+testImage+`
    command: ["sh", "-c", "[ -t 0 ] && [ -t 1 ] && echo is-a-tty; exec sleep 600"]
    stop_signal: SIGKILL
    tty: true
  shell:
    image: `+testImage+`
    command: ["sh"]
    stop_signal: SIGKILL
    tty: true
    stdin_open: true
  reader:
    image: `+testImage+`
    command: ["sh", "-c", "echo reading; cat; echo stdin ended"]
    stop_signal: SIGKILL
    stdin_open: true
`, nil)
	p.must("up", "-d")
	p.waitFor("term to see a terminal", 10*time.Second, func() bool {
		return strings.Contains(p.must("logs", "term").stdout, "is-a-tty")
	})
	p.waitFor("reader to read", 10*time.Second, func() bool {
		return strings.Contains(p.must("logs", "reader").stdout, "reading")
	})
	// Reading stdin, cat would have ended at once on EOF.
	p.must("exec", "-T", "reader", "true")
	if out := p.must("logs", "reader").stdout; strings.Contains(out, "stdin ended") {
		t.Errorf("reader's stdin ended:\n%s", out)
	}
	for _, name := range []string{"shell", "reader"} {
		if e := p.entry(p.name + "-" + name + "-1"); e.State != "running" {
			t.Errorf("%s is %s, want running", name, e.State)
		}
	}
}
