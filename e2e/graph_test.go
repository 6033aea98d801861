//go:build e2e

package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestGraph runs berth graph on examples/edge-stack, as a user would in its
// directory: no container is made, the text tree and the JSON say each
// depends_on condition, and the named services narrow it.
func TestGraph(t *testing.T) {
	dir := filepath.Join(repoRoot, "examples", "edge-stack")
	r := runBerth(t, dir, nil, nil, 0, "graph")
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	want := `api
├── db (service_healthy)
└── migrate (service_completed_successfully)
    └── db (service_healthy)
worker
├── db (service_healthy)
└── migrate (service_completed_successfully, see above)

networks:
  default: api, db, migrate, worker

volumes:
  db-data: db
`
	if r.stdout != want {
		t.Errorf("berth graph printed:\n%s\nwant:\n%s", r.stdout, want)
	}

	r = runBerth(t, dir, nil, nil, 0, "graph", "--format", "json", "worker")
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	var v struct {
		Project  string
		Services []struct {
			Name      string
			DependsOn []struct {
				Service, Condition string
				Required           bool
			} `json:"depends_on"`
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("graph --format json: %v\n%s", err, r.stdout)
	}
	var got []string
	for _, s := range v.Services {
		for _, d := range s.DependsOn {
			got = append(got, s.Name+"->"+d.Service+":"+d.Condition)
		}
	}
	wantEdges := "migrate->db:service_healthy worker->db:service_healthy worker->migrate:service_completed_successfully"
	if v.Project != "edge-stack" || strings.Join(got, " ") != wantEdges {
		t.Errorf("graph --format json worker: project %q, edges %v; want edge-stack, %s", v.Project, got, wantEdges)
	}

	r = runBerth(t, dir, nil, nil, 0, "graph", "--format", "dot")
	if r.code != 0 || !strings.HasPrefix(r.stdout, `digraph "edge-stack" {`) ||
		!strings.Contains(r.stdout, `"worker" -> "migrate" [label="service_completed_successfully"];`) {
		t.Errorf("graph --format dot: %s", r)
	}
}

// TestGraphBadInput checks that a cycle fails as up does, with its path,
// after the graph is printed with the cycle marked, and that an unknown
// service or format fails with a one-line error; nothing is made.
func TestGraphBadInput(t *testing.T) {
	p := newBareProject(t, `services:
  a:
    image: `+testImage+`
    depends_on: [b]
  b:
    image: `+testImage+`
    depends_on:
      a:
        condition: service_healthy
`, nil)
	up := p.berth("up", "-d")
	r := p.berth("graph")
	const cycle = "dependency cycle detected: a -> b -> a"
	if r.code == 0 || !strings.Contains(r.stderr, cycle) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("graph of a cycle: want a non-zero exit and the one-line error %q: %s", cycle, r)
	}
	if up.code == 0 || up.stderr != r.stderr {
		t.Errorf("graph's error %q is not up's: %s", r.stderr, up)
	}
	wantTree := "a\n└── b (service_started, cycle)\n    └── a (service_healthy, cycle)\n"
	if !strings.HasPrefix(r.stdout, wantTree) {
		t.Errorf("graph of a cycle printed:\n%s\nwant it to start with:\n%s", r.stdout, wantTree)
	}

	p.assertNothingLeft()

	p = newBareProject(t, `services:
  web:
    image: `+testImage+`
    depends_on: [db]
  db:
    image: `+testImage+`
`, nil)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"graph", "nope"}, "no such service: nope: the project's services are db, web"},
		{[]string{"graph", "--format", "svg"}, `graph --format "svg": use text, dot or json`},
	} {
		r := p.berth(tt.args...)
		if r.code == 0 || !strings.Contains(r.stderr, tt.want) || r.stdout != "" {
			t.Errorf("want a non-zero exit, nothing printed and the error %q: %s", tt.want, r)
		}
	}
	p.assertNothingLeft()
}
