//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/netbridge"
)

// buildLoopProbe builds testdata/loopprobe (a crafted TCP SYN to
// 127.0.0.1 through the default gateway) into a directory to mount.
func buildLoopProbe(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "loopprobe"), "./testdata/loopprobe")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build loopprobe: %v: %s", err, out)
	}
	return dir
}

// httpdService is a busybox service serving its hostname on :8080.
func httpdService(name, extra string) string {
	return fmt.Sprintf(`
  %s:
    image: %s
    stop_signal: SIGKILL
    command: ["sh", "-c", "hostname > /www/index.html; exec httpd -f -p 8080 -h /www"]
%s`, name, testImage, extra)
}

// inContainer runs a shell script in a service's container.
func (p *project) inContainer(service, script string) result {
	p.t.Helper()
	return p.berth("exec", "-T", service, "sh", "-c", script)
}

var inetRE = regexp.MustCompile(`inet (\d+\.\d+\.\d+\.\d+)/`)

// addrOf is a service's address on its eth0.
func (p *project) addrOf(service string) string {
	p.t.Helper()
	out := p.must("exec", "-T", service, "ip", "-o", "-4", "addr", "show", "eth0").stdout
	m := inetRE.FindStringSubmatch(out)
	if m == nil {
		p.t.Fatalf("no IPv4 address on %s's eth0: %s", service, out)
	}
	return m[1]
}

// reaches waits until from fetches url with a page containing want.
func (p *project) reaches(from, url, want string) {
	p.t.Helper()
	var out string
	p.waitFor(from+" to fetch "+url, 15*time.Second, func() bool {
		out = p.inContainer(from, "timeout 3 wget -qO- "+url).stdout
		return strings.Contains(out, want)
	})
}

// blocked checks that from cannot fetch url (one try, 3 s; busybox wget -T crashes in the test image).
func (p *project) blocked(from, url, why string) {
	p.t.Helper()
	r := p.inContainer(from, "timeout 3 wget -qO- "+url+" && echo REACHED || echo BLOCKED")
	if !strings.Contains(r.stdout, "BLOCKED") {
		p.t.Errorf("%s: %s fetched %s:\n%s", why, from, url, r)
	}
}

// TestNetworkIsolation: a container reaches its own network's peers, and
// no container of another network of its project, nor of another project,
// in either direction.
func TestNetworkIsolation(t *testing.T) {
	t.Parallel()
	a := newProject(t, `
services:`+
		httpdService("front1", "    networks: [front]")+
		httpdService("front2", "    networks: [front]")+
		httpdService("back1", "    networks: [back]")+
		httpdService("back2", "    networks: [back]")+`
networks:
  front: {}
  back: {}
`, nil)
	b := newProject(t, `
services:`+httpdService("web1", "")+httpdService("web2", ""), nil)
	a.must("up", "-d")
	b.must("up", "-d")

	// Peers on one network reach each other (by name, so through DNS too).
	a.reaches("front1", "http://front2:8080/", a.name+"-front2-1")
	a.reaches("back1", "http://back2:8080/", a.name+"-back2-1")
	b.reaches("web1", "http://web2:8080/", b.name+"-web2-1")

	front2, back2, web2 := a.addrOf("front2"), a.addrOf("back2"), b.addrOf("web2")
	// Between the networks of one project, both ways.
	a.blocked("front1", "http://"+back2+":8080/", "network front reached network back")
	a.blocked("back1", "http://"+front2+":8080/", "network back reached network front")
	// Between projects, both ways.
	a.blocked("front1", "http://"+web2+":8080/", "project "+a.name+" reached project "+b.name)
	b.blocked("web1", "http://"+front2+":8080/", "project "+b.name+" reached project "+a.name)
	b.blocked("web1", "http://"+back2+":8080/", "project "+b.name+" reached project "+a.name)
	// What stays allowed still works after the blocked tries.
	a.reaches("front1", "http://"+front2+":8080/", a.name+"-front2-1")
}

// TestLoopbackConfinement: a container with Docker's default capabilities
// (CAP_NET_RAW among them) cannot reach the host's 127.0.0.1 listeners
// through its gateway, with a crafted packet, nor another project's
// 127.0.0.1 publish by any address; the host still reaches that publish.
func TestLoopbackConfinement(t *testing.T) {
	t.Parallel()
	host := hostAddress(t)
	probeDir := buildLoopProbe(t)

	// A service of the host's, on loopback only.
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "host-loopback") }))
	hostPort := l.Addr().(*net.TCPAddr).Port

	pub := newProject(t, `
services:`+httpdService("web", `    ports: ["127.0.0.1::8080"]`), nil)
	pub.must("up", "-d")
	published := strings.TrimSpace(pub.must("port", "web", "8080").stdout)
	_, lport, err := net.SplitHostPort(published)
	if err != nil || !strings.HasPrefix(published, "127.0.0.1:") {
		t.Fatalf("port web 8080 = %q, want 127.0.0.1:<port>", published)
	}
	// The host reaches the 127.0.0.1 publish.
	var body string
	pub.waitFor("the host to fetch http://"+published, 10*time.Second, func() bool {
		body, err = fetch("http://" + published + "/")
		return err == nil
	})
	if !strings.Contains(body, pub.name+"-web-1") {
		t.Errorf("GET http://%s = %q", published, body)
	}

	c := newProject(t, `
services:`+httpdService("prober", `    volumes: ["`+probeDir+`:/opt/probe:ro"]`), nil)
	c.must("up", "-d")
	route := c.must("exec", "-T", "prober", "ip", "route").stdout
	m := regexp.MustCompile(`default via (\S+)`).FindStringSubmatch(route)
	if m == nil {
		t.Fatalf("prober has no default route:\n%s", route)
	}
	gateway := m[1]
	probe := func(port, addr string) result {
		return c.berth("exec", "-T", "prober", "/opt/probe/loopprobe", port, addr)
	}
	// The probe works: the gateway's DNS port (TCP) answers its SYN.
	var r result
	c.waitFor("the probe to be answered by the gateway's DNS port", 15*time.Second, func() bool {
		r = probe("53", gateway)
		return r.code == 0
	})
	if !strings.Contains(r.stdout, "answered SYN+ACK") {
		t.Fatalf("the probe is not answered by %s:53/tcp:\n%s", gateway, r)
	}
	// The crafted SYN to 127.0.0.1 through the gateway: no answer, neither
	// from the host's listener nor from the other project's publish.
	for _, port := range []string{strconv.Itoa(hostPort), lport} {
		if r := probe(port, "127.0.0.1"); r.code != 1 || !strings.Contains(r.stdout, "no answer") {
			t.Errorf("a crafted SYN to 127.0.0.1:%s through the gateway was answered (or the probe failed):\n%s", port, r)
		}
	}
	// Nor does the 127.0.0.1 publish answer on the host's other addresses.
	c.blocked("prober", "http://"+host+":"+lport+"/", "a 127.0.0.1 publish answered on the host's address")
	c.blocked("prober", "http://"+gateway+":"+lport+"/", "a 127.0.0.1 publish answered on the gateway")
}

// TestSubnetRefused: an ipam subnet in a reserved range, or on a route of
// the host, is refused with one line naming the network and its key, and
// nothing is made (not even the project's other, valid network).
func TestSubnetRefused(t *testing.T) {
	t.Parallel()
	host := netip.MustParseAddr(hostAddress(t))
	var hostRoute netip.Prefix
	routes, err := netbridge.HostRoutes()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routes {
		if r.Contains(host) && r.Bits() > 0 && r.Bits() < 31 && (!hostRoute.IsValid() || r.Bits() > hostRoute.Bits()) {
			hostRoute = r
		}
	}
	tests := []struct {
		name, subnet, want string
	}{
		{"loopback", "127.0.0.0/24", "is in the host's loopback range 127.0.0.0/8"},
		{"link-local", "169.254.7.0/24", "is in the link-local range 169.254.0.0/16"},
		{"multicast", "239.1.0.0/16", "is in the multicast range 224.0.0.0/4"},
		{"unspecified", "0.0.0.0/16", "is in the unspecified range 0.0.0.0/8"},
		{"host route", hostRoute.String(), "overlaps the host's route to " + hostRoute.String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !hostRoute.IsValid() && tt.name == "host route" {
				t.Skipf("no route of the host holds its address %s", host)
			}
			p := newProject(t, `
services:`+httpdService("ok", "    networks: [front]")+httpdService("bad", "    networks: [back]")+`
networks:
  front: {}
  back:
    ipam:
      config:
        - subnet: `+tt.subnet+`
`, nil)
			r := p.berth("up", "-d")
			want := fmt.Sprintf(`network "back": ipam subnet %s (networks.back.ipam.config in compose.yaml) %s`, tt.subnet, tt.want)
			if r.code == 0 || !strings.Contains(r.stderr, want) {
				t.Fatalf("up with ipam subnet %s: want a failure saying %q:\n%s", tt.subnet, want, r)
			}
			for _, line := range strings.Split(r.stderr, "\n") {
				if strings.Contains(line, "ipam subnet") && !strings.Contains(line, want) {
					t.Errorf("the error is not one line: %q", line)
				}
			}
			if ps := p.ps(true); len(ps) != 0 {
				t.Errorf("containers were made: %+v", ps)
			}
			assertNoIPAM(t, p.name)
			// assertNothingLeft (at cleanup) checks bridges, rules, namespaces.
		})
	}
}

// assertNoIPAM checks that berth's IPAM state holds no network of the
// project and no address of its containers.
func assertNoIPAM(t *testing.T, project string) {
	t.Helper()
	b, err := os.ReadFile(berthDataDir() + "/network/ipam.json")
	if os.IsNotExist(err) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Networks map[string]struct {
			Addresses map[string]string `json:"addresses"`
		} `json:"networks"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("ipam.json: %v", err)
	}
	for name, n := range st.Networks {
		if strings.HasPrefix(name, project+"_") {
			t.Errorf("left behind: IPAM network %s", name)
		}
		for c := range n.Addresses {
			if strings.HasPrefix(c, project+"-") {
				t.Errorf("left behind: IPAM address of %s on %s", c, name)
			}
		}
	}
}
