//go:build e2e

package e2e

import (
	"strings"
	"testing"
)

// TestCreate: create makes the containers (and the network) without
// starting them; start then runs them; a second create leaves them alone,
// --force-recreate replaces them, --no-recreate keeps them despite a
// changed configuration, --remove-orphans drops a service's containers
// once it is gone from the file, and --pull never refuses a missing image.
func TestCreate(t *testing.T) {
	t.Parallel()
	const twoServices = `
services:
  app:
    image: ` + testImage + `
    command: ["sleep", "600"]
    stop_signal: SIGKILL
  side:
    image: ` + testImage + `
    command: ["sleep", "600"]
    stop_signal: SIGKILL
`
	p := newProject(t, twoServices, nil)
	ids := func() map[string]string {
		out := map[string]string{}
		for _, e := range p.ps(true) {
			out[e.Service] = e.ID + " " + e.State
		}
		return out
	}

	p.must("create", "app")
	first := ids()
	if len(first) != 1 || !strings.HasSuffix(first["app"], " created") {
		t.Fatalf("after create app: %v, want app created only", first)
	}
	if len(p.ps(false)) != 0 {
		t.Errorf("create started a container: %v", p.ps(false))
	}
	p.must("create")
	if second := ids(); second["app"] != first["app"] || !strings.HasSuffix(second["side"], " created") {
		t.Fatalf("after create: %v, want app kept as %s and side created", second, first["app"])
	}
	p.must("start")
	if got := ids(); !strings.HasSuffix(got["app"], " running") || !strings.HasSuffix(got["side"], " running") {
		t.Fatalf("after start: %v, want both running", got)
	}
	// A file in app's own layer tells whether app is still the same container.
	p.must("exec", "-T", "app", "touch", "/marker")
	same := func() bool { return p.berth("cp", "app:/marker", "-").code == 0 }

	p.must("create", "--force-recreate", "app")
	if got := ids(); !strings.HasSuffix(got["app"], " created") || !strings.HasSuffix(got["side"], " running") || same() {
		t.Errorf("create --force-recreate app: %v (marker kept: %v), want a new created app and side running", got, same())
	}
	p.must("exec", "-T", "side", "true") // side untouched
	p.must("start", "app")
	p.must("exec", "-T", "app", "touch", "/marker")

	p.write("compose.yaml", strings.Replace(twoServices, `["sleep", "600"]`, `["sleep", "601"]`, 1))
	p.must("create", "--no-recreate", "app")
	if !same() {
		t.Errorf("create --no-recreate after a change replaced app")
	}
	p.must("create", "app")
	if got := ids(); same() || !strings.HasSuffix(got["app"], " created") {
		t.Errorf("create after a change: %v (marker kept: %v), want app replaced, created", got, same())
	}

	p.must("create", "--scale", "app=2", "--quiet-pull", "app")
	n := 0
	for _, e := range p.ps(true) {
		if e.Service == "app" && e.State == "created" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("create --scale app=2: %d app containers created, want 2: %v", n, p.ps(true))
	}

	p.write("compose.yaml", `
services:
  app:
    image: `+testImage+`
    command: ["sleep", "601"]
    stop_signal: SIGKILL
`)
	p.must("create", "--remove-orphans")
	if got := ids(); len(got) != 1 || got["side"] != "" {
		t.Errorf("create --remove-orphans: %v, want app only", got)
	}

	p.write("compose.yaml", `
services:
  absent:
    image: berth-e2e.local/absent:1
`)
	r := p.berth("create", "--pull", "never")
	if r.code == 0 || !strings.Contains(r.stderr, "pull_policy is never") {
		t.Errorf("create --pull never of a missing image: %s", r)
	}
}
