//go:build e2e

package e2e

import (
	"strings"
	"testing"
)

// TestNetworkProgressLines: up and down report each network they make or
// remove as docker compose does ("Network P_back  Created"), say nothing
// of networks that exist unchanged, and --all-resources makes a network no
// service uses.
func TestNetworkProgressLines(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  web:
    image: `+testImage+`
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    networks: [back]
networks:
  back: {}
  spare: {}
`, nil)
	back, spare := "Network "+p.name+"_back  ", "Network "+p.name+"_spare  "
	r := p.must("up", "-d", "--progress", "plain")
	for _, want := range []string{back + "Creating\n", back + "Created\n"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("first up lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, spare) || strings.Contains(r.stderr, "_default  ") {
		t.Errorf("first up made a network no service uses:\n%s", r.stderr)
	}
	if r := p.must("up", "-d", "--progress", "plain"); strings.Contains(r.stderr, "Network ") {
		t.Errorf("second up, networks unchanged, printed network lines:\n%s", r.stderr)
	}
	r = p.must("--all-resources", "up", "-d", "--progress", "plain")
	if !strings.Contains(r.stderr, spare+"Created\n") || strings.Contains(r.stderr, back) {
		t.Errorf("up --all-resources should make %s_spare only:\n%s", p.name, r.stderr)
	}
	r = p.must("down", "--progress", "plain")
	for _, want := range []string{back + "Removing\n", back + "Removed\n", spare + "Removed\n"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("down lacks %q:\n%s", want, r.stderr)
		}
	}
}

// TestAttachedHookOutput: attached up shows a hook's output as docker
// compose does, "s2-1 ->  | line", here pre_stop's when up stops s2 after
// s1 exits (--abort-on-container-exit).
func TestAttachedHookOutput(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  s1:
    image: `+testImage+`
    command: ["true"]
  s2:
    image: `+testImage+`
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    pre_stop:
      - command: ["echo", "stop hook running..."]
`, nil)
	r := p.berth("up", "--abort-on-container-exit")
	if want := "s2-1 ->  | stop hook running...\n"; !strings.Contains(r.stdout, want) {
		t.Errorf("attached up lacks the hook's line %q:\n%s", want, r)
	}
}
