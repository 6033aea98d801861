//go:build e2e

package e2e

import (
	"sort"
	"strings"
	"testing"
)

// replicas lists the project's containers of a service, by name.
func (p *project) replicas(service string) []string {
	p.t.Helper()
	var out []string
	for _, c := range p.ps(true) {
		if c.Service == service {
			out = append(out, c.Name)
		}
	}
	sort.Strings(out)
	return out
}

// wantReplicas checks that service has exactly the containers numbered ns.
func (p *project) wantReplicas(service string, ns ...string) {
	p.t.Helper()
	var want []string
	for _, n := range ns {
		want = append(want, p.name+"-"+service+"-"+n)
	}
	if got := p.replicas(service); strings.Join(got, ",") != strings.Join(want, ",") {
		p.t.Errorf("containers of %s = %v, want %v", service, got, want)
	}
}

// mark leaves a file in replica n's own file system: it is there as long
// as the container is not recreated.
func (p *project) mark(service, n string) {
	p.t.Helper()
	p.must("exec", "--index", n, service, "touch", "/kept")
}

func (p *project) wantMarked(service, n string) {
	p.t.Helper()
	if r := p.berth("exec", "--index", n, service, "test", "-f", "/kept"); r.code != 0 {
		p.t.Errorf("%s-%s was recreated (or is not running): %s", service, n, r)
	}
}

func TestScaleUpDown(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  web:
    image: `+testImage+`
    command: [sleep, "600"]
    stop_signal: SIGKILL
    deploy:
      replicas: 2
  other:
    image: `+testImage+`
    command: [sleep, "600"]
    stop_signal: SIGKILL
`, nil)
	p.must("up", "-d", "--scale", "web=3")
	p.wantReplicas("web", "1", "2", "3")
	p.wantReplicas("other", "1")
	p.mark("web", "1")
	p.mark("other", "1")

	// Down to 1: the highest numbers go, replica 1 stays as it is.
	p.must("up", "-d", "--scale", "web=1")
	p.wantReplicas("web", "1")
	p.wantMarked("web", "1")

	// Up again: 2 and 3 come back next to the same replica 1; the last
	// --scale of a service wins.
	p.must("up", "-d", "--scale", "web=5", "--scale", "web=3")
	p.wantReplicas("web", "1", "2", "3")
	p.wantMarked("web", "1")

	// Without --scale the file's deploy.replicas holds again.
	p.must("up", "-d")
	p.wantReplicas("web", "1", "2")
	p.wantMarked("web", "1")

	// Scale 0 removes the service's containers, and nothing else.
	p.must("up", "-d", "--scale", "web=0")
	p.wantReplicas("web")
	p.wantReplicas("other", "1")
	p.wantMarked("other", "1")
}

func TestScaleCommand(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  db:
    image: `+testImage+`
    command: [sleep, "600"]
    stop_signal: SIGKILL
  web:
    image: `+testImage+`
    command: [sleep, "600"]
    stop_signal: SIGKILL
    depends_on: [db]
  other:
    image: `+testImage+`
    command: [sleep, "600"]
    stop_signal: SIGKILL
    ports: ["127.0.0.1:18392:80"]
`, nil)
	p.must("up", "-d")
	p.mark("web", "1")
	p.mark("other", "1")
	p.mark("db", "1")

	p.must("scale", "web=3")
	p.wantReplicas("web", "1", "2", "3")
	p.wantMarked("web", "1")
	p.wantMarked("db", "1")
	p.wantMarked("other", "1")

	p.must("scale", "web=1")
	p.wantReplicas("web", "1")
	p.wantMarked("web", "1")

	// other publishes a fixed host port: a second replica cannot have it.
	r := p.berth("scale", "other=2")
	if r.code == 0 || !strings.Contains(r.stderr, `service "other" cannot be scaled to 2`) || !strings.Contains(r.stderr, "18392") {
		t.Errorf("scale other=2 with a fixed host port: want an error naming the service and the port, got %s", r)
	}
	p.wantReplicas("other", "1")

	// --no-deps scales the service without starting what it depends on.
	p.must("down", "-t", "0")
	p.must("scale", "--no-deps", "web=2")
	p.wantReplicas("web", "1", "2")
	p.wantReplicas("db")
	p.wantReplicas("other")

	p.must("scale", "web=0")
	p.wantReplicas("web")
}
