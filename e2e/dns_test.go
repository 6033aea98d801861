//go:build e2e

package e2e

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestServiceNamesInDNS(t *testing.T) {
	t.Parallel()
	a := newProject(t, `
services:
  web:
    image: `+testImage+`
    deploy: {replicas: 2}
    stop_signal: SIGKILL
    networks:
      default:
        aliases: [www]
    # Each replica serves its own hostname, so answers tell them apart.
    command: ["sh", "-c", "hostname > /www/index.html; exec httpd -f -p 8080 -h /www"]
  client:
    image: `+testImage+`
    depends_on: [web]
    stop_signal: SIGKILL
    command:
      - sh
      - -c
      - |
        cat /etc/resolv.conf
        echo "by-name $$(wget -qO- http://web:8080/)"
        echo "by-alias $$(wget -qO- http://www:8080/)"
        echo "by-container $$(wget -qO- http://$${COMPOSE_PROJECT}-web-2:8080/)"
        for i in $$(seq 20); do echo "round $$(wget -qO- http://web:8080/)"; done
        time -p nslookup no-such-name.invalid >/dev/null 2>/tmp/t; grep real /tmp/t
        echo done
        sleep 600
    environment:
      COMPOSE_PROJECT: ${COMPOSE_PROJECT_NAME}
`, nil)
	a.must("up", "-d")
	var out string
	a.waitFor("the client's lookups", 20*time.Second, func() bool {
		out = a.must("logs", "--no-log-prefix", "client").stdout
		return strings.Contains(out, "\ndone")
	})
	web1, web2 := a.name+"-web-1", a.name+"-web-2"
	for _, want := range []string{"nameserver 10.89.", "by-name " + a.name + "-web-", "by-alias " + a.name + "-web-", "by-container " + web2} {
		if !strings.Contains(out, want) {
			t.Errorf("client output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "round "+web1) || !strings.Contains(out, "round "+web2) {
		t.Errorf("20 fetches of http://web did not reach both replicas:\n%s", out)
	}
	if m := regexp.MustCompile(`real ([0-9.]+)`).FindStringSubmatch(out); m == nil {
		t.Errorf("no timing of the unknown name:\n%s", out)
	} else if secs, _ := strconv.ParseFloat(m[1], 64); secs > 2.5 {
		t.Errorf("an unknown name took %.2f s to fail with no upstream answering; want well under the resolver's 5 s retries", secs)
	}

	// Another project sees none of these names.
	b := newProject(t, `
services:
  probe:
    image: `+testImage+`
    stop_signal: SIGKILL
    command: ["sh", "-c", "nslookup web >/dev/null 2>&1 && echo resolved || echo not-resolved; ip -o -4 addr show eth0; sleep 600"]
`, nil)
	b.must("up", "-d")
	var probe string
	b.waitFor("the probe's lookup", 15*time.Second, func() bool {
		probe = b.must("logs", "--no-log-prefix", "probe").stdout
		return strings.Contains(probe, "resolved")
	})
	if !strings.Contains(probe, "not-resolved") {
		t.Errorf("project %s resolved project %s's service name:\n%s", b.name, a.name, probe)
	}
	aSubnet := regexp.MustCompile(`nameserver (10\.89\.\d+)\.1`).FindStringSubmatch(out)
	if aSubnet != nil && strings.Contains(probe, "inet "+aSubnet[1]+".") {
		t.Errorf("both projects got subnet %s.0/24:\n%s\n%s", aSubnet[1], out, probe)
	}

	// A killed DNS daemon is started again by the next up, which changes
	// nothing else.
	pidFile := berthRunDir() + "/projects/" + a.name + "/dns.pid"
	old, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("no DNS daemon pid file: %v", err)
	}
	oldPid, _ := strconv.Atoi(strings.TrimSpace(string(old)))
	if r := a.must("ps"); !strings.Contains(r.stderr, "DNS server of project "+a.name+": running (pid "+strconv.Itoa(oldPid)+")") {
		t.Errorf("ps does not show the DNS server running:\n%s", r.stderr)
	}
	if err := syscall.Kill(oldPid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill the DNS daemon: %v", err)
	}
	a.waitFor("ps to see the DNS server gone", 5*time.Second, func() bool {
		return strings.Contains(a.must("ps").stderr, "DNS server of project "+a.name+": not running")
	})
	if r := a.must("up", "-d"); !strings.Contains(r.stderr, "Nothing to do") {
		t.Errorf("up after the daemon died changed containers:\n%s", r.stderr)
	}
	if now, err := os.ReadFile(pidFile); err != nil || strings.TrimSpace(string(now)) == strconv.Itoa(oldPid) {
		t.Errorf("the DNS daemon was not started again (pid file %q, %v)", now, err)
	}
	if sys := a.must("logs", "--system").stdout; !strings.Contains(sys, "serving network "+a.name+"_default on 10.89.") {
		t.Errorf("logs --system = %q, want the DNS daemon's log", sys)
	}
	a.must("down")
	a.assertNothingLeft()
}
