//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// hostAddress is an IPv4 address of this machine that is not loopback and
// not on a bridge berth made: where "the host's primary address" answers.
func hostAddress(t *testing.T) string {
	t.Helper()
	ifaces, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifaces {
		if i.Flags&net.FlagLoopback != 0 || i.Flags&net.FlagUp == 0 || strings.HasPrefix(i.Name, "br-") || strings.HasPrefix(i.Name, "vb") {
			continue
		}
		addrs, _ := i.Addrs()
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
				return ipn.IP.String()
			}
		}
	}
	t.Skip("this machine has no non-loopback IPv4 address")
	return ""
}

func fetch(url string) (string, error) {
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestPublishedPorts(t *testing.T) {
	t.Parallel()
	host := hostAddress(t)
	p := newProject(t, `
services:
  web:
    image: `+testImage+`
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    stop_signal: SIGKILL
    ports: ["127.0.0.1::8080", "8080"]
`, nil)
	p.must("up", "-d")
	loopback := strings.TrimSpace(p.must("port", "web", "8080").stdout)
	if !strings.HasPrefix(loopback, "127.0.0.1:") {
		t.Fatalf("port web 8080 = %q, want 127.0.0.1:<random>", loopback)
	}
	var all string
	for _, e := range p.ps(false) {
		for _, part := range strings.Split(e.Ports, ", ") {
			if strings.HasPrefix(part, "0.0.0.0:") {
				all = strings.TrimSuffix(strings.TrimPrefix(part, "0.0.0.0:"), "->8080/tcp")
			}
		}
	}
	if all == "" {
		t.Fatalf("ps shows no 0.0.0.0 port: %+v", p.ps(false))
	}
	for _, url := range []string{"http://" + loopback + "/", "http://" + host + ":" + all + "/", "http://127.0.0.1:" + all + "/"} {
		var body string
		var err error
		p.waitFor("a page from "+url, 10*time.Second, func() bool {
			body, err = fetch(url)
			return err == nil
		})
		if !strings.Contains(body, "hello from berth") {
			t.Errorf("GET %s = %q, %v", url, body, err)
		}
	}

	// Another container reaches the published port through the host's address (hairpin).
	c := newProject(t, fmt.Sprintf(`
services:
  client:
    image: %s
    stop_signal: SIGKILL
    command: ["sh", "-c", "for i in $$(seq 30); do wget -qO- http://%s:%s/ && break; sleep 0.2; done; echo finished; sleep 600"]
`, testImage, host, all), nil)
	c.must("up", "-d")
	c.waitFor("the client's fetch", 15*time.Second, func() bool {
		return strings.Contains(c.must("logs", "client").stdout, "finished")
	})
	if out := c.must("logs", "client").stdout; !strings.Contains(out, "hello from berth") {
		t.Errorf("hairpin fetch through %s:%s failed:\n%s", host, all, out)
	}

	p.must("down")
	// The host port is free again.
	if l, err := net.Listen("tcp4", loopback); err != nil {
		t.Errorf("after down, %s is still taken: %v", loopback, err)
	} else {
		l.Close()
	}
}

func TestPortConflict(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	p := newProject(t, fmt.Sprintf(`
services:
  first:
    image: %s
    command: [sleep, "600"]
  web:
    image: %s
    command: [sleep, "600"]
    ports: ["127.0.0.1:%d:80"]
`, testImage, testImage, port), nil)
	r := p.berth("up", "-d")
	if r.code == 0 {
		t.Fatalf("up with a taken port succeeded:\n%s", r)
	}
	want := fmt.Sprintf(`service "web": port 127.0.0.1:%d:80/tcp is already in use on the host (by e2e.test`, port)
	if !strings.Contains(r.stderr, want) {
		t.Errorf("error does not say %q:\n%s", want, r.stderr)
	}
	if ps := p.ps(true); len(ps) != 0 {
		t.Errorf("containers were started before the port check: %+v", ps)
	}
	p.assertNothingLeft()
}

func TestPublishedUDPPort(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "udpecho"), "./testdata/udpecho")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build udpecho: %v: %s", err, out)
	}
	p := newProject(t, `
services:
  echo:
    image: `+testImage+`
    stop_signal: SIGKILL
    ports: ["127.0.0.1::5353/udp"]
    volumes: ["`+dir+`:/opt/udpecho:ro"]
    command: ["/opt/udpecho/udpecho"]
`, nil)
	p.must("up", "-d")
	addr := strings.TrimSpace(p.must("port", "--protocol", "udp", "echo", "5353").stdout)
	conn, err := net.Dial("udp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	buf := make([]byte, 100)
	var got string
	p.waitFor("an echo through "+addr+"/udp", 10*time.Second, func() bool {
		conn.Write([]byte("ping"))
		conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, err := conn.Read(buf)
		got = string(buf[:n])
		return err == nil
	})
	if got != "echo: ping" {
		t.Errorf("udp reply = %q, want %q", got, "echo: ping")
	}
}

// TestEgressAndInternal: a container on a normal network reaches a server
// on the host's own address; one on an internal network does not.
func TestEgressAndInternal(t *testing.T) {
	t.Parallel()
	host := hostAddress(t)
	l, err := net.Listen("tcp4", host+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "from-the-host") }))
	url := "http://" + l.Addr().String() + "/"
	p := newProject(t, `
services:
  out:
    image: `+testImage+`
    stop_signal: SIGKILL
    command: ["sh", "-c", "for i in $$(seq 20); do wget -qO- `+url+` && break; sleep 0.2; done; echo; echo finished; sleep 600"]
  in:
    image: `+testImage+`
    stop_signal: SIGKILL
    networks: [back]
    command: ["sh", "-c", "wget -qO- `+url+` || echo unreachable; ip route; echo finished; sleep 600"]
networks:
  back:
    internal: true
`, nil)
	p.must("up", "-d")
	for _, svc := range []string{"out", "in"} {
		p.waitFor(svc+" to finish", 15*time.Second, func() bool {
			return strings.Contains(p.must("logs", svc).stdout, "finished")
		})
	}
	if out := p.must("logs", "out").stdout; !strings.Contains(out, "from-the-host") {
		t.Errorf("a container could not reach the host's address %s:\n%s", url, out)
	}
	in := p.must("logs", "in").stdout
	if strings.Contains(in, "from-the-host") || !strings.Contains(in, "unreachable") || strings.Contains(in, "default via") {
		t.Errorf("a container on an internal network reached the host or has a default route:\n%s", in)
	}
}

// A published port is held on the host only while its container runs, as
// Docker's proxy is: berth stop (or an exit of its own) frees it, start
// takes it again, and a start while another program has it fails naming
// the port and that program.
func TestPortsHeldWhileRunning(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	p := newProject(t, fmt.Sprintf(`
services:
  web:
    image: %s
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    stop_signal: SIGKILL
    ports: ["127.0.0.1:%d:8080"]
`, testImage, port), nil)
	free := func() bool {
		l, err := net.Listen("tcp4", addr)
		if err != nil {
			return false
		}
		l.Close()
		return true
	}
	serves := func(when string) {
		t.Helper()
		var body string
		p.waitFor("a page from "+addr+" "+when, 10*time.Second, func() bool {
			body, err = fetch("http://" + addr + "/")
			return err == nil
		})
		if !strings.Contains(body, "hello from berth") {
			t.Errorf("GET %s %s = %q, %v", addr, when, body, err)
		}
	}
	p.must("up", "-d")
	serves("after up")
	if free() {
		t.Fatalf("%s is free while web runs: its port is not held", addr)
	}

	p.must("stop", "web")
	if !free() {
		t.Fatalf("%s is still taken after stop", addr)
	}
	if ports := p.ps(true)[0].Ports; ports != "" {
		t.Errorf("ps -a shows ports %q for a stopped container", ports)
	}
	p.must("start", "web")
	serves("after start")
	if free() {
		t.Errorf("%s is free after start: its port is not held again", addr)
	}

	// An exit of its own frees the port too.
	p.must("kill", "web")
	p.waitFor(addr+" freed after web exited", 10*time.Second, free)

	// Another program takes it: start fails, naming the port and it.
	taker, err := net.Listen("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	r := p.berth("start", "web")
	want := fmt.Sprintf("port 127.0.0.1:%d->8080/tcp is already in use on the host (by e2e.test", port)
	if r.code == 0 || !strings.Contains(r.stderr, want) {
		t.Errorf("start while %s is taken: want a failure saying %q:\n%s", addr, want, r)
	}
	if st := p.ps(true)[0].State; st == "running" {
		t.Errorf("web runs although its port is taken")
	}
	taker.Close()
	p.must("start", "web")
	serves("after the port was given back")

	// Stopped, its port is free for another project's container too, as
	// in Docker; starting it again then names that container.
	p.must("stop", "web")
	other := newProject(t, fmt.Sprintf(`
services:
  web:
    image: %s
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    ports: ["127.0.0.1:%d:8080"]
`, testImage, port), nil)
	other.must("up", "-d")
	r = p.berth("start", "web")
	want = fmt.Sprintf("port 127.0.0.1:%d:8080/tcp is already published by container %s-web-1", port, other.name)
	if r.code == 0 || !strings.Contains(r.stderr, want) {
		t.Errorf("start while another project publishes the port: want a failure saying %q:\n%s", want, r)
	}
	other.must("down")
	p.must("start", "web")
	serves("after the other project went")
}
