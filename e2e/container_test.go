//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// plainTest is a test's plain containers (berth container run): named
// <name>-<suffix>, so that the leak checks of a project called name see
// what they leave; the cleanup removes them all and checks that nothing
// is left.
func plainTest(t *testing.T) *project {
	t.Helper()
	p := newBareProject(t, "services: {}\n", nil)
	t.Cleanup(func() {
		for _, c := range p.plainNames() {
			p.berth("container", "rm", "-f", c)
		}
		p.assertNothingLeft()
	})
	return p
}

// plainNames are the test's plain containers, in any state.
func (p *project) plainNames() []string {
	p.t.Helper()
	r := p.berth("container", "ls", "-a", "--format", "{{.Names}}")
	if r.code != 0 {
		p.t.Fatalf("%s", r)
	}
	var out []string
	for _, n := range strings.Fields(r.stdout) {
		if strings.HasPrefix(n, p.name+"-") {
			out = append(out, n)
		}
	}
	return out
}

// lsEntry is a row of container ls --format json (docker's keys).
type lsEntry struct {
	Command, CreatedAt, ID, Image, Labels, LocalVolumes, Mounts, Names, Networks, Ports, RunningFor, Size, State, Status string
}

// lsRow is the row of container ls -a --format json of the named container.
func (p *project) lsRow(name string) (lsEntry, bool) {
	p.t.Helper()
	r := p.must("container", "ls", "-a", "--format", "json")
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	for sc.Scan() {
		var e lsEntry
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			p.t.Fatalf("container ls json %q: %v", sc.Text(), err)
		}
		if e.Names == name {
			return e, true
		}
	}
	return lsEntry{}, false
}

// inspected is the part of container inspect the tests read.
type inspected struct {
	ID      string `json:"Id"`
	Name    string
	Created string
	State   struct {
		Status                      string
		Running, Paused, Restarting bool
		ExitCode, Pid               int
		StartedAt, FinishedAt       string
		Health                      *struct{ Status string }
	}
	RestartCount int
	Config       struct {
		Image      string
		Env, Cmd   []string
		Entrypoint []string
		Labels     map[string]string
		Hostname   string
	}
	HostConfig struct {
		RestartPolicy struct {
			Name              string
			MaximumRetryCount int
		}
		PortBindings map[string][]struct{ HostIp, HostPort string }
		Memory       int64
		NanoCpus     int64
	}
	NetworkSettings struct {
		IPAddress string
		Ports     map[string][]struct{ HostIp, HostPort string }
		Networks  map[string]struct{ IPAddress string }
	}
	Mounts []struct{ Type, Source, Destination string }
}

func (p *project) inspect(name string) inspected {
	p.t.Helper()
	r := p.must("container", "inspect", name)
	var out []inspected
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out) != 1 {
		p.t.Fatalf("container inspect %s: %v\n%s", name, err, r.stdout)
	}
	return out[0]
}

// freePort is a TCP port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	var lastErr error
	for i := 0; i < 50; i++ {
		resp, err := client.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp.StatusCode, string(b)
		}
		lastErr = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("GET %s: %v", url, lastErr)
	return 0, ""
}

// TestContainerRunDetached: run -d prints the full ID; the published port
// answers on 127.0.0.1; ls, inspect, port, exec and logs show what docker's
// do; stop, start, restart, kill, wait and rm act as docker's.
func TestContainerRunDetached(t *testing.T) {
	p := plainTest(t)
	name := p.name + "-web"
	port := freePort(t)
	r := p.must("container", "run", "-d", "--name", name, "-p", fmt.Sprintf("127.0.0.1:%d:8080", port),
		"-e", "GREETING=hello", "--label", "team=core", "--memory", "64m", "--cpus", "0.5", "--restart", "on-failure:2",
		testImage, "sh", "-c", "echo started; exec httpd -f -p 8080 -h /etc")
	id := strings.TrimSpace(r.stdout)
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(id) {
		t.Fatalf("run -d printed %q, want a 64-digit ID", r.stdout)
	}
	code, body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/hostname", port))
	if code != 200 || strings.TrimSpace(body) != id[:12] {
		t.Errorf("GET /hostname = %d %q, want 200 %q (the short ID, docker's default hostname)", code, body, id[:12])
	}

	e, ok := p.lsRow(name)
	if !ok || e.ID != id[:12] || e.State != "running" || !strings.HasPrefix(e.Status, "Up") || e.Image != testImage ||
		e.Ports != fmt.Sprintf("127.0.0.1:%d->8080/tcp", port) || e.Networks != "bridge" || !strings.Contains(e.Labels, "team=core") {
		t.Errorf("container ls row = %+v", e)
	}
	table := p.must("container", "ls").stdout
	if !strings.HasPrefix(table, "CONTAINER ID   IMAGE") || !strings.Contains(table, "NAMES") || !strings.Contains(table, name) {
		t.Errorf("container ls table:\n%s", table)
	}
	if q := p.must("container", "ls", "-q").stdout; !strings.Contains(q, id[:12]+"\n") {
		t.Errorf("container ls -q:\n%s", q)
	}
	if q := p.must("container", "ls", "-q", "--filter", "name=^"+name+"$", "-f", "label=team=core").stdout; q != id[:12]+"\n" {
		t.Errorf("container ls -q --filter name= label=: %q", q)
	}

	in := p.inspect(id[:8]) // by ID prefix, as docker
	if in.ID != id || in.Name != "/"+name || in.State.Status != "running" || !in.State.Running || in.State.Pid == 0 ||
		in.Config.Image != testImage || in.Config.Labels["team"] != "core" || in.HostConfig.RestartPolicy.Name != "on-failure" ||
		in.HostConfig.RestartPolicy.MaximumRetryCount != 2 || in.HostConfig.Memory != 64<<20 || in.HostConfig.NanoCpus != 5e8 ||
		in.NetworkSettings.IPAddress == "" || in.NetworkSettings.Networks["bridge"].IPAddress != in.NetworkSettings.IPAddress {
		t.Errorf("inspect = %+v", in)
	}
	if !slices.Contains(in.Config.Env, "GREETING=hello") || strings.Join(in.Config.Cmd, " ") != "sh -c echo started; exec httpd -f -p 8080 -h /etc" {
		t.Errorf("inspect Config.Env %q Cmd %q", in.Config.Env, in.Config.Cmd)
	}
	if b := in.NetworkSettings.Ports["8080/tcp"]; len(b) != 1 || b[0].HostIp != "127.0.0.1" || b[0].HostPort != strconv.Itoa(port) {
		t.Errorf("inspect NetworkSettings.Ports = %+v", in.NetworkSettings.Ports)
	}
	if f := p.must("container", "inspect", "-f", "{{.State.Status}} {{.Name}}", name).stdout; f != "running /"+name+"\n" {
		t.Errorf("inspect -f = %q", f)
	}
	if out := p.must("container", "port", name).stdout; out != fmt.Sprintf("8080/tcp -> 127.0.0.1:%d\n", port) {
		t.Errorf("port = %q", out)
	}
	if out := p.must("container", "port", name, "8080/tcp").stdout; out != fmt.Sprintf("127.0.0.1:%d\n", port) {
		t.Errorf("port 8080/tcp = %q", out)
	}
	if r := p.berth("container", "port", name, "81"); r.code == 0 || !strings.Contains(r.stderr, "no public port '81/tcp'") {
		t.Errorf("port 81: %s", r)
	}
	if out := p.must("container", "exec", "-e", "X=1", name, "sh", "-c", "echo $GREETING $X").stdout; out != "hello 1\n" {
		t.Errorf("exec = %q", out)
	}
	if r := p.berth("container", "exec", name, "sh", "-c", "exit 7"); r.code != 7 {
		t.Errorf("exec exit 7: %s", r)
	}
	if r := p.berth("container", "exec", name, "nosuchcmd"); r.code != 127 {
		t.Errorf("exec of a missing command: %s, want exit 127", r)
	}
	if out := p.must("container", "logs", name).stdout; out != "started\n" {
		t.Errorf("logs = %q", out)
	}
	// Another container in its network namespace reaches it on localhost.
	if out := p.must("container", "run", "--rm", "--network", "container:"+id[:12], testImage, "wget", "-qO-", "http://localhost:8080/hostname").stdout; out != id[:12]+"\n" {
		t.Errorf("run --network container:ID: %q", out)
	}

	if out := p.must("container", "stop", "-t", "1", name).stdout; out != name+"\n" {
		t.Errorf("stop printed %q", out)
	}
	if e, _ := p.lsRow(name); e.State != "exited" || !strings.HasPrefix(e.Status, "Exited") {
		t.Errorf("after stop: %+v", e)
	}
	if ls := p.must("container", "ls").stdout; strings.Contains(ls, name) {
		t.Errorf("container ls (running only) lists the stopped container:\n%s", ls)
	}
	if q := p.must("container", "ls", "-q", "--filter", "status=exited", "--filter", "name="+name).stdout; q != id[:12]+"\n" {
		t.Errorf("container ls -q --filter status=exited: %q", q)
	}
	if out := p.must("container", "start", name).stdout; out != name+"\n" {
		t.Errorf("start printed %q", out)
	}
	httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/hostname", port))
	before := p.inspect(name).State.StartedAt
	p.must("container", "restart", "-t", "1", name)
	if after := p.inspect(name); after.State.StartedAt == before || after.State.Status != "running" {
		t.Errorf("restart: started at %s, then %s (%s)", before, after.State.StartedAt, after.State.Status)
	}
	if r := p.berth("container", "rm", name); r.code == 0 || !strings.Contains(r.stderr, "container is running") {
		t.Errorf("rm of a running container: %s", r)
	}
	p.must("container", "kill", name)
	if out := p.must("container", "wait", name).stdout; out != "137\n" {
		t.Errorf("wait after kill = %q, want 137", out)
	}
	if in := p.inspect(name); in.State.Status != "exited" || in.State.ExitCode != 137 || in.State.Running {
		t.Errorf("after kill: %+v", in.State)
	}
	p.must("container", "rm", name)
	if _, ok := p.lsRow(name); ok {
		t.Errorf("%s is still listed after rm", name)
	}
	if r := p.berth("container", "inspect", name); r.code == 0 || !strings.Contains(r.stderr, "No such container: "+name) {
		t.Errorf("inspect after rm: %s", r)
	}

	// -P publishes what is exposed on a free host port.
	all := p.name + "-all"
	allID := strings.TrimSpace(p.must("container", "run", "-d", "-P", "--expose", "8080", "--name", all, testImage, "httpd", "-f", "-p", "8080", "-h", "/etc").stdout)
	hostPort := strings.TrimSpace(p.must("container", "port", all, "8080").stdout)
	if _, port, ok := strings.Cut(hostPort, ":"); !ok || port == "0" {
		t.Fatalf("port of a -P container: %q", hostPort)
	} else if code, body := httpGet(t, "http://127.0.0.1:"+port+"/hostname"); code != 200 || strings.TrimSpace(body) != allID[:12] {
		t.Errorf("GET the -P port = %d %q", code, body)
	}
	p.must("container", "rm", "-f", all)
}

// TestContainerRunAttached: the process's stdout and stderr are berth's,
// its exit code berth's; 127 and 126 as docker's for a command not found
// or not executable; --rm leaves nothing.
func TestContainerRunAttached(t *testing.T) {
	p := plainTest(t)
	r := p.berth("container", "run", "--rm", "--name", p.name+"-once", testImage, "sh", "-c", "echo out; echo err >&2; exit 3")
	if r.code != 3 || r.stdout != "out\n" || !strings.Contains(r.stderr, "err") {
		t.Errorf("attached run: %s, want exit 3, stdout out", r)
	}
	if got := p.plainNames(); len(got) != 0 {
		t.Errorf("--rm left %v", got)
	}
	in := strings.NewReader("from stdin\n")
	cmd := exec.Command(berthBin, append(globalArgs(), "container", "run", "-i", "--rm", "--name", p.name+"-cat", testImage, "cat")...)
	cmd.Stdin = in
	out, err := cmd.Output()
	if err != nil || string(out) != "from stdin\n" {
		t.Errorf("run -i cat: %q, %v", out, err)
	}
	if r := p.berth("container", "run", "--name", p.name+"-nf", testImage, "nosuchcmd"); r.code != 127 || !strings.Contains(r.stderr, "nosuchcmd") {
		t.Errorf("a command not found: %s, want exit 127", r)
	}
	if r := p.berth("container", "run", "--rm", "--name", p.name+"-nx", testImage, "/etc"); r.code != 126 {
		t.Errorf("a command not executable: %s, want exit 126", r)
	}
	// The one that failed without --rm stays, as docker keeps it.
	if e, ok := p.lsRow(p.name + "-nf"); !ok || e.State == "running" {
		t.Errorf("the container whose command was not found: %+v, %v", e, ok)
	}
	p.must("container", "rm", p.name+"-nf")
	// start -a: the output of the new run, and its exit code.
	again := p.name + "-again"
	if r := p.berth("container", "run", "--name", again, testImage, "sh", "-c", "echo run; exit 5"); r.code != 5 {
		t.Errorf("run: %s", r)
	}
	if out := p.must("container", "logs", again).stdout; out != "run\n" {
		t.Errorf("logs of an attached run = %q, want what it wrote", out)
	}
	if r := p.berth("container", "start", "-a", again); r.code != 5 || r.stdout != "run\n" {
		t.Errorf("start -a: %s, want exit 5 and the run's output once", r)
	}
	if out := p.must("container", "logs", again).stdout; out != "run\nrun\n" {
		t.Errorf("logs after start -a = %q, want both runs", out)
	}
	// Ctrl-C stops the container; berth exits with its exit code.
	cmd = exec.Command(berthBin, append(globalArgs(), "container", "run", "--rm", "--name", p.name+"-int", testImage,
		"sh", "-c", `trap "echo got-term; exit 9" TERM INT; echo ready; sleep 600 & wait`)...)
	var outBuf syncBuffer
	cmd.Stdout, cmd.Stderr = &outBuf, &outBuf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.waitFor("the attached container to start", 30*time.Second, func() bool { return strings.Contains(outBuf.String(), "ready") })
	cmd.Process.Signal(os.Interrupt) //nolint:errcheck // checked by the wait
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 9 || !strings.Contains(outBuf.String(), "got-term") {
		t.Errorf("Ctrl-C of an attached run: %v, output %q; want exit 9 after got-term", err, outBuf.String())
	}
	// The same name runs again at once, as a docker user re-runs after
	// Ctrl-C (the stop's task delete must have run to its end).
	if r := p.berth("container", "run", "--rm", "--name", p.name+"-int", testImage, "echo", "again"); r.code != 0 || r.stdout != "again\n" {
		t.Errorf("run again under the name of the interrupted run: %s", r)
	}
	p.must("container", "rm", again)
	if got := p.plainNames(); len(got) != 0 {
		t.Errorf("left %v", got)
	}
}

// openPTY opens a pseudo-terminal pair: the master and the slave's file.
func openPTY(t *testing.T) (*os.File, *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return master, slave
}

// TestContainerRunTTY: -it on a terminal gives the process a terminal and
// passes input on; -it without one is docker's refusal.
func TestContainerRunTTY(t *testing.T) {
	p := plainTest(t)
	if r := p.berth("container", "run", "-it", "--rm", testImage, "true"); r.code != 1 || !strings.Contains(r.stderr, "the input device is not a TTY") {
		t.Errorf("-it without a terminal: %s", r)
	}
	master, slave := openPTY(t)
	defer master.Close()
	cmd := exec.Command(berthBin, append(globalArgs(), "container", "run", "-it", "--rm", "--name", p.name+"-tty", testImage,
		"sh", "-c", "if [ -t 0 ]; then echo IS-A-TTY; fi; read line; echo got-$line; exit 4")...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	var out bytes.Buffer
	done := make(chan struct{})
	go func() { io.Copy(&out, master); close(done) }() //nolint:errcheck // EIO when the terminal closes

	if _, err := master.Write([]byte("ping\r")); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	<-done
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 4 {
		t.Errorf("run -it exit: %v, want 4\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "IS-A-TTY") || !strings.Contains(out.String(), "got-ping") {
		t.Errorf("run -it output %q, want a terminal and the input passed on", out.String())
	}
}

// TestContainerRmDetached: --rm -d is removed by the supervisor when it
// exits, with nothing left.
func TestContainerRmDetached(t *testing.T) {
	p := plainTest(t)
	p.must("container", "run", "-d", "--rm", "--name", p.name+"-brief", "-p", fmt.Sprintf("127.0.0.1:%d:80", freePort(t)), testImage, "sh", "-c", "sleep 1")
	p.waitFor("the --rm container to go", 30*time.Second, func() bool { return len(p.plainNames()) == 0 })
	p.assertNothingLeft()
}

// TestContainerRestartAlways: a --restart always container killed from
// the host comes back; a --health-cmd one becomes healthy in ls.
func TestContainerRestartAlways(t *testing.T) {
	p := plainTest(t)
	name := p.name + "-always"
	p.must("container", "run", "-d", "--name", name, "--restart", "always",
		"--health-cmd", "test -f /tmp/ready", "--health-interval", "1s", "--health-retries", "2",
		testImage, "sh", "-c", "touch /tmp/ready; exec sleep 600")
	p.waitFor("healthy in ls", 60*time.Second, func() bool {
		e, _ := p.lsRow(name)
		return strings.Contains(e.Status, "(healthy)")
	})
	if in := p.inspect(name); in.State.Health == nil || in.State.Health.Status != "healthy" {
		t.Errorf("inspect State.Health = %+v", in.State.Health)
	}
	pid := p.inspect(name).State.Pid
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill %d: %v", pid, err)
	}
	p.waitFor("the container back", 60*time.Second, func() bool {
		in := p.inspect(name)
		return in.State.Running && in.State.Pid != pid && in.RestartCount == 1
	})
	// A stop is not undone by the policy.
	p.must("container", "stop", "-t", "1", name)
	time.Sleep(2 * time.Second)
	if in := p.inspect(name); in.State.Running {
		t.Errorf("a stopped --restart always container runs again: %+v", in.State)
	}
}

// TestContainerLogsFollowAndCp: logs -f follows new lines; cp copies both
// ways.
func TestContainerLogsFollowAndCp(t *testing.T) {
	p := plainTest(t)
	name := p.name + "-talk"
	p.must("container", "run", "-d", "--name", name, testImage, "sh", "-c", "i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.2; done")
	p.follow([]string{"container", "logs", "-f", name}, 30*time.Second, func(line string) bool { return line == "tick-5" })
	// As docker logs -f, it ends when the container stops: a script's
	// logs -f of a job ends with the job, with nothing but its output.
	job := p.name + "-job"
	p.must("container", "run", "-d", "--name", job, testImage, "sh", "-c", "echo one; sleep 1; echo two")
	if r := p.must("container", "logs", "-f", job); r.stdout != "one\ntwo\n" {
		t.Errorf("logs -f of a job that ends = %q, want its two lines and no more", r.stdout)
	}
	if out := p.must("container", "logs", "--tail", "1", name).stdout; strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, "tick-") {
		t.Errorf("logs --tail 1 = %q", out)
	}
	if out := p.must("container", "logs", "-t", "--tail", "1", name).stdout; !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\S+ tick-`).MatchString(out) {
		t.Errorf("logs -t = %q", out)
	}
	host := filepath.Join(p.dir, "in.txt")
	p.write("in.txt", "to the container\n")
	p.must("container", "cp", host, name+":/tmp/in.txt")
	if out := p.must("container", "exec", name, "cat", "/tmp/in.txt").stdout; out != "to the container\n" {
		t.Errorf("cp into the container: %q", out)
	}
	p.must("container", "exec", name, "sh", "-c", "echo from the container > /tmp/out.txt")
	dst := filepath.Join(p.dir, "out.txt")
	p.must("container", "cp", name+":/tmp/out.txt", dst)
	if b, err := os.ReadFile(dst); err != nil || string(b) != "from the container\n" {
		t.Errorf("cp out of the container: %q, %v", b, err)
	}
}

// TestContainerIsolation: plain containers and compose projects do not
// see each other: ps and down of a project leave plain containers alone,
// the reserved project is refused to compose commands and not in ls, and
// container stop leaves a compose container to its project.
func TestContainerIsolation(t *testing.T) {
	p := newProject(t, fmt.Sprintf("services:\n  app:\n    image: %s\n    command: sleep 600\n", testImage), nil)
	plain := p.name + "-plain"
	t.Cleanup(func() {
		p.berth("container", "rm", "-f", plain)
		p.assertNothingLeft()
	})
	p.must("up", "-d")
	p.must("container", "run", "-d", "--name", plain, testImage, "sleep", "600")
	for _, e := range p.ps(true) {
		if e.Name == plain {
			t.Errorf("ps of project %s lists the plain container", p.name)
		}
	}
	if r := p.must("ls", "-a"); strings.Contains(r.stdout, "_containers") {
		t.Errorf("ls lists the plain containers' project:\n%s", r.stdout)
	}
	if r := p.run(t.TempDir(), nil, "-p", "_containers", "ps"); r.code == 0 || !strings.Contains(r.stderr, "reserved") {
		t.Errorf("ps of the reserved project: %s", r)
	}
	if r := p.run(t.TempDir(), nil, "-p", "_containers", "down"); r.code == 0 {
		t.Errorf("down of the reserved project: %s", r)
	}
	// docker shows every container: the compose one too.
	compose := p.name + "-app-1"
	if e, ok := p.lsRow(compose); !ok || e.State != "running" {
		t.Errorf("container ls does not show the compose container %s", compose)
	}
	if r := p.berth("container", "stop", compose); r.code == 0 || !strings.Contains(r.stderr, "compose project "+p.name) {
		t.Errorf("container stop of a compose container: %s", r)
	}
	if out := p.must("container", "exec", compose, "echo", "hi").stdout; out != "hi\n" {
		t.Errorf("container exec in a compose container: %q", out)
	}
	// A plain container can join the project's network, as docker allows.
	joined := p.name + "-joined"
	r := p.berth("container", "run", "--rm", "--name", joined, "--network", p.name+"_default", testImage, "nslookup", "app")
	if r.code != 0 || !strings.Contains(r.stdout, "Address") {
		t.Errorf("run on the project's network: %s", r)
	}
	if r := p.berth("container", "run", "--rm", "--network", p.name+"_nosuch", testImage, "true"); r.code != 125 || !strings.Contains(r.stderr, "could not be found") {
		t.Errorf("run on a missing network: %s", r)
	}
	p.must("down", "-t", "0")
	if e, ok := p.lsRow(plain); !ok || e.State != "running" {
		t.Errorf("down of project %s touched the plain container: %+v %v", p.name, e, ok)
	}
}

// TestContainerBadInput: each bad run gives one clear line, exit 125, and
// leaves nothing behind.
func TestContainerBadInput(t *testing.T) {
	p := plainTest(t)
	taken := p.name + "-taken"
	port := freePort(t)
	p.must("container", "run", "-d", "--name", taken, "-p", fmt.Sprintf("127.0.0.1:%d:80", port), testImage, "sleep", "600")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	held := l.Addr().(*net.TCPAddr).Port
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown image", []string{"--name", p.name + "-img", "127.0.0.1:1/nosuch:1", "true"}, "127.0.0.1:1/nosuch:1"},
		{"port published by another container", []string{"--name", p.name + "-port", "-p", fmt.Sprintf("127.0.0.1:%d:80", port), testImage, "true"}, "already published by container " + taken},
		{"port held on the host", []string{"--name", p.name + "-host", "-p", fmt.Sprintf("127.0.0.1:%d:80", held), testImage, "true"}, "already in use on the host"},
		{"bad restart", []string{"--name", p.name + "-rs", "--restart", "sometimes", testImage, "true"}, `invalid restart policy "sometimes"`},
		{"bad publish", []string{"--name", p.name + "-p", "-p", "80:http", testImage, "true"}, `invalid argument "80:http" for -p`},
		{"name in use", []string{"--name", taken, testImage, "true"}, `Conflict. The container name "/` + taken + `" is already in use`},
		{"bad name", []string{"--name", "-bad", testImage, "true"}, "invalid container name"},
		{"bad memory", []string{"--name", p.name + "-m", "--memory", "lots", testImage, "true"}, "--memory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, berthBin, append(append(globalArgs(), "container", "run", "-d"), tc.args...)...)
			cmd.Dir = p.dir
			cmd.Env = append(os.Environ(), "BERTH_DNS_UPSTREAM=127.0.0.1:9")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() != 125 {
				t.Errorf("run %v: %v, want exit 125\nstderr: %s", tc.args, err, stderr.String())
			}
			msg := strings.TrimSpace(stderr.String())
			lines := strings.Split(msg, "\n")
			if last := lines[len(lines)-1]; !strings.Contains(last, tc.want) {
				t.Errorf("run %v: error %q, want a line with %q", tc.args, msg, tc.want)
			}
			for _, l := range lines[:len(lines)-1] {
				// Before the error: docker's line, then the pull's progress.
				if !strings.HasPrefix(l, "Unable to find image") && !strings.HasPrefix(l, "Image ") {
					t.Errorf("run %v: more than one line of error: %q", tc.args, msg)
				}
			}
			if stdout.Len() != 0 {
				t.Errorf("run %v printed %q", tc.args, stdout.String())
			}
		})
	}
	if got := p.plainNames(); len(got) != 1 || got[0] != taken {
		t.Errorf("after the bad runs: %v, want only %s", got, taken)
	}
	p.must("container", "rm", "-f", taken)
	p.assertNothingLeft()
}
