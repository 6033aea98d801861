//go:build e2e

package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestCompatibilityNames checks that --compatibility (and
// COMPOSE_COMPATIBILITY) names containers as compose v1 did, with
// underscores, and that the other commands find them by their labels.
func TestCompatibilityNames(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  web:
    image: `+testImage+`
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done"]
  api:
    image: `+testImage+`
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done"]
`, nil)
	p.must("--compatibility", "up", "-d", "web")
	if r := p.berthEnv([]string{"COMPOSE_COMPATIBILITY=true"}, "up", "-d", "api"); r.code != 0 {
		t.Fatalf("%s", r)
	}
	names := map[string]bool{}
	for _, c := range p.ps(false) {
		names[c.Name] = true
	}
	for _, want := range []string{p.name + "_web_1", p.name + "_api_1"} {
		if !names[want] {
			t.Errorf("ps names %v, want %s", names, want)
		}
	}
	// Without the flag the project's containers are still found (by
	// label), and the changed names do not recreate them.
	r := p.must("--compatibility", "up", "-d")
	if !strings.Contains(r.stderr, "Nothing to do") {
		t.Errorf("up --compatibility again did not say it had nothing to do:\n%s", r.stderr)
	}
	if out := p.must("exec", "-T", "web", "hostname").stdout; strings.TrimSpace(out) == "" {
		t.Errorf("exec into %s_web_1 printed nothing", p.name)
	}
	p.must("down", "-t", "0")
	if ps := p.ps(true); len(ps) != 0 {
		t.Errorf("down left %+v", ps)
	}
}

// TestProgressAfterSubcommand checks that --progress is read after the
// subcommand as well as before it.
func TestProgressAfterSubcommand(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  web:
    image: `+testImage+`
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done"]
`, nil)
	r := p.must("up", "-d", "--progress", "json")
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if len(lines) == 0 || lines[0] == "" {
		t.Fatalf("up --progress json printed nothing on stderr")
	}
	for _, l := range lines {
		var ev map[string]any
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Errorf("up --progress json: line %q is not JSON: %v", l, err)
		}
	}
	if r := p.must("stop", "--progress", "quiet"); r.stderr != "" {
		t.Errorf("stop --progress quiet printed %q", r.stderr)
	}
	if r := p.must("up", "-d", "--progress", "plain"); !strings.Contains(r.stderr, "Container "+p.name+"-web-1  Started") {
		t.Errorf("up --progress plain:\n%s", r.stderr)
	}
	if r := p.berth("up", "-d", "--progress", "fancy"); r.code == 0 || !strings.Contains(r.stderr, `--progress "fancy"`) {
		t.Errorf("up --progress fancy: want an error naming the value\n%s", r)
	}
	if r := p.berth("--ansi", "never", "up", "-d", "--progress", "tty"); r.code == 0 || !strings.Contains(r.stderr, "can't use --progress tty while ANSI support is disabled") {
		t.Errorf("--ansi never up --progress tty: want compose's refusal\n%s", r)
	}
}

// TestUpAttachDependencies checks that attached up shows only the named
// services' output by default, and their dependencies' too with
// --attach-dependencies.
func TestUpAttachDependencies(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  db:
    image: `+testImage+`
    command: ["sh", "-c", "trap 'exit 0' TERM; echo hello from db; while true; do sleep 1 & wait $$!; done"]
  app:
    image: `+testImage+`
    depends_on: [db]
    command: ["sh", "-c", "echo hello from app; sleep 1"]
`, nil)
	r := p.must("up", "--abort-on-container-exit", "--no-color", "app")
	if !strings.Contains(r.stdout, "hello from app") || strings.Contains(r.stdout, "hello from db") {
		t.Errorf("up app: want app's output only\n%s", r)
	}
	// As in compose, up SERVICE stops only SERVICE when it ends: db runs
	// on, so its greeting would come before the next attach. Stopped, it
	// starts again and greets the attached up.
	if s := p.states(); s[p.name+"-db-1"] != "running" {
		t.Errorf("after up app ended: %v, want db still running", s)
	}
	p.must("stop", "db")
	r = p.must("up", "--abort-on-container-exit", "--no-color", "--attach-dependencies", "app")
	if !strings.Contains(r.stdout, "hello from app") || !strings.Contains(r.stdout, "hello from db") {
		t.Errorf("up --attach-dependencies app: want app's and db's output\n%s", r)
	}
	if r := p.berth("up", "--attach", "db", "--attach-dependencies", "app"); r.code == 0 || !strings.Contains(r.stderr, "cannot combine --attach and --attach-dependencies") {
		t.Errorf("up --attach --attach-dependencies: want a refusal\n%s", r)
	}
}

// TestUpAlwaysRecreateDeps checks that --always-recreate-deps recreates
// the named services' dependencies, unchanged as they are, and leaves the
// named services alone when they are up to date.
func TestUpAlwaysRecreateDeps(t *testing.T) {
	t.Parallel()
	p := newProject(t, chain, nil)
	p.must("up", "-d")
	started := map[string]string{}
	for _, c := range p.ps(false) {
		started[c.Service] = c.label("berth.started-at")
	}
	r := p.must("--verbose", "up", "-d", "--always-recreate-deps", "api")
	if !strings.Contains(r.stderr, "DEBUG plan: db: recreate "+p.name+"-db-1 (--always-recreate-deps)") {
		t.Errorf("--verbose up did not print db's recreation with its reason:\n%s", r.stderr)
	}
	for _, c := range p.ps(false) {
		changed := c.label("berth.started-at") != started[c.Service]
		if changed != (c.Service == "db") {
			t.Errorf("up --always-recreate-deps api: %s recreated = %v, want %v", c.Name, changed, c.Service == "db")
		}
		started[c.Service] = c.label("berth.started-at")
	}
	// With no service named, every service is named: nothing to recreate.
	if r := p.must("up", "-d", "--always-recreate-deps"); !strings.Contains(r.stderr, "Nothing to do") {
		t.Errorf("up --always-recreate-deps with no services changed something:\n%s", r.stderr)
	}
	if r := p.berth("up", "-d", "--always-recreate-deps", "--no-recreate"); r.code == 0 || !strings.Contains(r.stderr, "incompatible") {
		t.Errorf("--always-recreate-deps --no-recreate: want a refusal\n%s", r)
	}
}

// TestUpPullPolicyFlag checks up --pull against a loopback registry:
// always pulls a present image, the default (missing) does not, never
// refuses a missing image without trying, and --quiet-pull leaves out
// the layers.
func TestUpPullPolicyFlag(t *testing.T) {
	t.Parallel()
	registry := startRegistry(t)
	pushTestImage(t, registry, "e2e/upflags:1")
	image := registry + "/e2e/upflags:1"
	p := newProject(t, `
services:
  web:
    image: `+image+`
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done"]
`, nil)
	r := p.must("up", "-d", "--progress", "plain")
	if !strings.Contains(r.stderr, "Image "+image+"  Pulled") {
		t.Fatalf("first up did not pull %s:\n%s", image, r.stderr)
	}
	if r := p.must("up", "-d", "--progress", "plain"); strings.Contains(r.stderr, "Pulling") {
		t.Errorf("up with the image present pulled it again:\n%s", r.stderr)
	}
	r = p.must("up", "-d", "--pull", "always", "--quiet-pull", "--progress", "plain")
	if !strings.Contains(r.stderr, "Image "+image+"  Pulled") {
		t.Errorf("up --pull always did not pull the present image:\n%s", r.stderr)
	}
	if strings.Contains(r.stderr, "Layer ") {
		t.Errorf("up --quiet-pull showed layers:\n%s", r.stderr)
	}
	if r := p.berth("up", "-d", "--pull", "sometimes"); r.code == 0 || !strings.Contains(r.stderr, `invalid --pull option "sometimes"`) {
		t.Errorf("up --pull sometimes: want compose's refusal\n%s", r)
	}

	absent := newProject(t, `
services:
  web:
    image: `+registry+`/e2e/absent:1
`, nil)
	r = absent.berth("up", "-d", "--pull", "never", "--progress", "plain")
	if r.code == 0 || !strings.Contains(r.stderr, "pull_policy is never") || strings.Contains(r.stderr, "Pulling") {
		t.Errorf("up --pull never with a missing image: want a refusal without a pull\n%s", r)
	}
}

// TestUpAllResources checks that --all-resources makes the networks and
// volumes no service uses, and that down removes them again.
func TestUpAllResources(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  web:
    image: `+testImage+`
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done"]
networks:
  spare: {}
volumes:
  unused: {}
`, nil)
	p.must("up", "-d")
	if out := p.must("volume", "ls", "-q").stdout; strings.Contains(out, p.name+"_unused") {
		t.Errorf("up without --all-resources made the unused volume: %q", out)
	}
	p.must("--all-resources", "up", "-d")
	if out := p.must("volume", "ls", "-q").stdout; !strings.Contains(out, p.name+"_unused\n") {
		t.Errorf("up --all-resources did not make the unused volume: %q", out)
	}
	if got := ipamEntries(p.name); !strings.Contains(strings.Join(got, " "), p.name+"_spare") {
		t.Errorf("up --all-resources did not make the unused network: %v", got)
	}
	p.must("down", "-v", "-t", "0")
	if out := p.must("volume", "ls", "-q").stdout; strings.Contains(out, p.name+"_unused") {
		t.Errorf("down -v left the unused volume: %q", out)
	}
}

// TestUpRenewAnonVolumes checks anonymous volumes: a recreated container
// keeps the data of the one it replaces, up -V gives it a new, empty
// volume, and down -v removes them all.
func TestUpRenewAnonVolumes(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  db:
    image: `+testImage+`
    volumes: ["/data"]
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1 & wait $$!; done"]
`, nil)
	r := p.must("up", "-d")
	if strings.Contains(r.stderr, "not supported") {
		t.Errorf("up warned about the anonymous volume:\n%s", r.stderr)
	}
	p.must("exec", "-T", "db", "sh", "-c", "echo kept > /data/f")
	anon := func() []string {
		var out []string
		for _, c := range p.ps(true) {
			out = append(out, c.label("berth.anon-volumes"))
		}
		return out
	}
	first := anon()
	if len(first) != 1 || !strings.Contains(first[0], `"/data":"`) {
		t.Fatalf("container's anonymous volumes = %v, want one at /data", first)
	}

	p.must("up", "-d", "--force-recreate")
	if out := p.must("exec", "-T", "db", "cat", "/data/f").stdout; out != "kept\n" {
		t.Errorf("after a recreate /data/f = %q, want the previous container's data", out)
	}
	if again := anon(); len(again) != 1 || again[0] != first[0] {
		t.Errorf("recreated container's anonymous volumes = %v, want %v", again, first)
	}

	p.must("up", "-d", "--force-recreate", "-V")
	if r := p.berth("exec", "-T", "db", "cat", "/data/f"); r.code == 0 {
		t.Errorf("after up -V /data/f is still there: %s", r)
	}
	if renewed := anon(); len(renewed) != 1 || renewed[0] == first[0] {
		t.Errorf("after up -V the anonymous volumes are %v, want new ones (was %v)", renewed, first)
	}
	if r := p.berth("up", "-d", "-V", "--no-recreate"); r.code == 0 || !strings.Contains(r.stderr, "--no-recreate and --renew-anon-volumes are incompatible") {
		t.Errorf("up -V --no-recreate: want compose's refusal\n%s", r)
	}

	vols := p.must("volume", "ls", "-q").stdout
	if n := strings.Count(vols, "\n"); n != 2 {
		t.Errorf("volume ls = %q, want the two anonymous volumes (the replaced one stays, as Docker keeps it)", vols)
	}
	p.must("down", "-v", "-t", "0")
	if vols := p.must("volume", "ls", "-q").stdout; vols != "" {
		t.Errorf("down -v left volumes %q", vols)
	}
}
