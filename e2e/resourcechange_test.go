//go:build e2e

package e2e

import (
	"strings"
	"testing"
)

// mustEnv runs berth with extra environment variables and fails the test
// when it fails.
func (p *project) mustEnv(env []string, args ...string) result {
	p.t.Helper()
	r := p.berthEnv(env, args...)
	if r.code != 0 {
		p.t.Fatalf("%s", r)
	}
	return r
}

// A network whose configuration changed is made again at up, as docker
// compose does (without asking: no data is lost): the containers on it
// are stopped, taken off it, put back on the new network and started
// again, the same containers (not recreated); the other services'
// containers are left alone.
func TestNetworkConfigChange(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  web:
    image: `+testImage+`
    command: [sleep, "600"]
    stop_signal: SIGKILL
    networks: [front]
  api:
    image: `+testImage+`
    command: [sleep, "600"]
    stop_signal: SIGKILL
    networks: [front]
  other:
    image: `+testImage+`
    command: [sleep, "600"]
    stop_signal: SIGKILL
networks:
  front:
    labels:
      tier: ${TIER:-one}
    ipam:
      config:
        - subnet: ${SUBNET:-10.89.241.0/24}
`, nil)
	addr := func() string {
		t.Helper()
		return p.must("exec", "web", "ip", "-4", "-o", "addr", "show", "eth0").stdout
	}
	ids := func() map[string]string {
		t.Helper()
		out := map[string]string{}
		for _, e := range p.ps(false) {
			out[e.Name] = e.ID
		}
		return out
	}
	p.must("up", "-d")
	if a := addr(); !strings.Contains(a, "inet 10.89.241.") {
		t.Fatalf("web's address is not in the network's subnet 10.89.241.0/24: %s", a)
	}
	p.mark("web", "1")
	p.mark("other", "1")
	before := ids()

	two := []string{"TIER=two"}
	r := p.mustEnv(two, "--progress", "plain", "up", "-d")
	web, api, front := p.name+"-web-1", p.name+"-api-1", p.name+"_front"
	// docker compose's plain lines, leading space included.
	want := strings.Join([]string{
		" Container " + api + "  Stopped",
		" Container " + web + "  Stopping",
		" Container " + web + "  Stopped",
		" Network " + front + "  Removed",
		" Network " + front + "  Creating",
		" Network " + front + "  Created",
	}, "\n")
	// berth's reasons follow compose's words in parentheses.
	var plain []string
	for _, l := range strings.Split(r.stderr, "\n") {
		l, _, _ = strings.Cut(l, " (")
		plain = append(plain, l)
	}
	if !strings.Contains(strings.Join(plain, "\n"), want) {
		t.Errorf("up after a label change of network front does not say, in docker compose's order:\n%s\n%s", want, r)
	}
	for _, c := range []string{web, api} {
		if !strings.Contains(r.stderr, "Container "+c+"  Started") || strings.Contains(r.stderr, "Container "+c+"  Recreate") {
			t.Errorf("%s is not started again (or was recreated):\n%s", c, r)
		}
	}
	if after := ids(); after[web] != before[web] || after[api] != before[api] || after[web] == "" {
		t.Errorf("the containers on the changed network were replaced: IDs %v, then %v", before, after)
	}
	p.wantMarked("web", "1")
	p.wantMarked("other", "1")
	if a := addr(); !strings.Contains(a, "inet 10.89.241.") {
		t.Errorf("web is not on the new network: %s", a)
	}
	if r := p.berth("exec", "-T", "web", "nslookup", "api"); r.code != 0 {
		t.Errorf("api's name does not resolve from web on the new network: %s", r)
	}
	if r := p.mustEnv(two, "up", "-d"); !strings.Contains(r.stderr, "Nothing to do") {
		t.Errorf("a second up with the same configuration changed something:\n%s", r)
	}

	// A new subnet: the network is made again in it, the containers kept
	// and their resolv.conf following the new gateway (berth's DNS).
	p.mustEnv(append(two, "SUBNET=10.89.242.0/24"), "up", "-d")
	if a := addr(); !strings.Contains(a, "inet 10.89.242.") {
		t.Errorf("web's address is not in the network's new subnet 10.89.242.0/24: %s", a)
	}
	if r := p.berth("exec", "-T", "web", "nslookup", "api"); r.code != 0 {
		t.Errorf("api's name does not resolve from web in the new subnet: %s", r)
	}
	p.wantMarked("web", "1")
	p.wantMarked("other", "1")
}

// A volume whose configuration changed is recreated (its data lost) only
// with -y, or when the user says yes on a terminal; without either up
// fails and changes nothing.
func TestVolumeConfigChange(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  db:
    image: `+testImage+`
    command: [sleep, "600"]
    stop_signal: SIGKILL
    volumes: [data:/data]
  other:
    image: `+testImage+`
    command: [sleep, "600"]
    stop_signal: SIGKILL
volumes:
  data:
    labels:
      gen: ${GEN:-one}
`, nil)
	p.must("up", "-d")
	p.must("exec", "db", "touch", "/data/old")
	p.mark("db", "1")
	p.mark("other", "1")
	label := func() string {
		t.Helper()
		return p.must("volume", "inspect", "data").stdout
	}
	if l := label(); !strings.Contains(l, `"gen": "one"`) {
		t.Fatalf("volume data lacks its label gen=one:\n%s", l)
	}

	two := []string{"GEN=two"}
	r := p.berthEnv(two, "up", "-d")
	if r.code == 0 || !strings.Contains(r.stderr, `volume "data" (`+p.name+`_data) exists with a different configuration`) || !strings.Contains(r.stderr, "-y") {
		t.Errorf("up after a label change of volume data without -y: want a failure naming the volume and -y, got %s", r)
	}
	p.wantMarked("db", "1")
	if r := p.berth("exec", "db", "test", "-f", "/data/old"); r.code != 0 {
		t.Errorf("the refused up lost the volume's data: %s", r)
	}

	p.mustEnv(two, "up", "-d", "-y")
	if l := label(); !strings.Contains(l, `"gen": "two"`) {
		t.Errorf("volume data was not recreated with its new label gen=two:\n%s", l)
	}
	if r := p.berth("exec", "db", "test", "-f", "/data/old"); r.code == 0 {
		t.Errorf("the recreated volume still has the old data")
	}
	if r := p.berth("exec", "db", "test", "-f", "/kept"); r.code == 0 {
		t.Errorf("db-1 mounts the recreated volume but was not recreated")
	}
	p.wantMarked("other", "1")
	if r := p.mustEnv(two, "up", "-d"); !strings.Contains(r.stderr, "Nothing to do") {
		t.Errorf("a second up with the same configuration changed something:\n%s", r)
	}

	// -y is a global flag too, as in docker compose.
	p.mustEnv([]string{"GEN=three"}, "-y", "up", "-d")
	if l := label(); !strings.Contains(l, `"gen": "three"`) {
		t.Errorf("berth -y up did not recreate volume data:\n%s", l)
	}
}
