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
// compose does (without asking: no data is lost), with the containers on
// it; the other services' containers are left alone.
func TestNetworkConfigChange(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  web:
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
	p.must("up", "-d")
	if a := addr(); !strings.Contains(a, "inet 10.89.241.") {
		t.Fatalf("web's address is not in the network's subnet 10.89.241.0/24: %s", a)
	}
	p.mark("web", "1")
	p.mark("other", "1")

	two := []string{"TIER=two"}
	r := p.mustEnv(two, "--progress", "plain", "up", "-d")
	for _, want := range []string{"Network " + p.name + "_front", "Removed", p.name + "-web-1"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("up after a label change of network front does not mention %q:\n%s", want, r)
		}
	}
	if r := p.berth("exec", "web", "test", "-f", "/kept"); r.code == 0 {
		t.Errorf("web-1 is on the changed network but was not recreated")
	}
	p.wantMarked("other", "1")
	if r := p.mustEnv(two, "up", "-d"); !strings.Contains(r.stderr, "Nothing to do") {
		t.Errorf("a second up with the same configuration changed something:\n%s", r)
	}

	// A new subnet: the network is made again in it (berth used to refuse
	// the change until the project was taken down).
	p.mustEnv(append(two, "SUBNET=10.89.242.0/24"), "up", "-d")
	if a := addr(); !strings.Contains(a, "inet 10.89.242.") {
		t.Errorf("web's address is not in the network's new subnet 10.89.242.0/24: %s", a)
	}
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
