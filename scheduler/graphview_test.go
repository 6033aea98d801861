package scheduler

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/berth/berth/compose"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// loadGraphProject loads testdata/graph/NAME/compose.yaml as berth graph
// does; consistency unchecked lets a cycle load.
func loadGraphProject(t *testing.T, name string, consistency bool) (*compose.Project, error) {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("testdata", "graph", name))
	if err != nil {
		t.Fatal(err)
	}
	return compose.Load(context.Background(), compose.Options{
		ProjectDir: dir, Files: []string{filepath.Join(dir, "compose.yaml")}, NoConsistency: !consistency,
	})
}

func TestGraphViewGolden(t *testing.T) {
	formats := []struct {
		ext   string
		write func(*GraphView, *bytes.Buffer) error
	}{
		{"txt", func(v *GraphView, b *bytes.Buffer) error { return v.WriteText(b) }},
		{"dot", func(v *GraphView, b *bytes.Buffer) error { return v.WriteDOT(b) }},
		{"json", func(v *GraphView, b *bytes.Buffer) error { return v.WriteJSON(b) }},
	}
	tests := []struct {
		name    string
		wantErr string
	}{
		{"chain10", ""},
		{"wide30", ""},
		{"conditions", ""},
		{"cycle", "dependency cycle: a -> b -> c -> a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := loadGraphProject(t, tt.name, tt.wantErr == "")
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			v, err := NewGraphView(p)
			if err != nil {
				t.Fatalf("NewGraphView: %v", err)
			}
			if err := v.Err(); (err == nil && tt.wantErr != "") || (err != nil && err.Error() != tt.wantErr) {
				t.Errorf("Err() = %v, want %q", err, tt.wantErr)
			}
			for _, f := range formats {
				var b bytes.Buffer
				if err := f.write(v, &b); err != nil {
					t.Fatalf("write %s: %v", f.ext, err)
				}
				golden := filepath.Join("testdata", "graph", tt.name+"."+f.ext)
				if *update {
					if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test ./scheduler -run TestGraphViewGolden -update)", err)
				}
				if got := b.String(); got != string(want) {
					t.Errorf("%s output differs from %s:\n%s", f.ext, golden, got)
				}
			}
		})
	}
}

// TestGraphViewCycleAsUp checks that graph finds the cycle up refuses,
// with the same path.
func TestGraphViewCycleAsUp(t *testing.T) {
	if _, err := loadGraphProject(t, "cycle", true); err == nil || !strings.Contains(err.Error(), "a -> b -> c -> a") {
		t.Errorf("Load(cycle) error = %v, want the cycle a -> b -> c -> a", err)
	}
	p, err := loadGraphProject(t, "cycle", false)
	if err != nil {
		t.Fatal(err)
	}
	_, upErr := NewGraph(p)
	v, err := NewGraphView(p)
	if err != nil {
		t.Fatal(err)
	}
	if upErr == nil || v.Err() == nil || v.Err().Error() != upErr.Error() {
		t.Errorf("GraphView.Err() = %v, want NewGraph's %v", v.Err(), upErr)
	}
	var marked []string
	for _, s := range v.Services {
		for _, e := range s.DependsOn {
			if e.InCycle {
				marked = append(marked, s.Name+"->"+e.Service)
			}
		}
	}
	if want := []string{"a->b", "b->c", "c->a"}; !reflect.DeepEqual(marked, want) {
		t.Errorf("edges in the cycle = %v, want %v", marked, want)
	}
}

func TestGraphViewModel(t *testing.T) {
	p, err := loadGraphProject(t, "conditions", true)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewGraphView(p)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := v.Roots(), []string{"sidecar", "web"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Roots() = %v, want %v", got, want)
	}
	web := v.service("web")
	if web == nil {
		t.Fatal("no service web")
	}
	want := []GraphEdge{
		{Service: "api", Via: []EdgeKind{EdgeDependsOn}, Condition: compose.ConditionHealthy, Required: true, Restart: true, Enabled: true},
		{Service: "cache", Via: []EdgeKind{EdgeDependsOn}, Condition: compose.ConditionStarted, Enabled: true},
		{Service: "debug", Via: []EdgeKind{EdgeDependsOn}, Condition: compose.ConditionStarted},
	}
	if !reflect.DeepEqual(web.DependsOn, want) {
		t.Errorf("web.DependsOn = %+v, want %+v", web.DependsOn, want)
	}
	if v.service("debug") != nil {
		t.Error("debug, outside the active profiles, is in the graph")
	}
	sidecar := v.service("sidecar")
	var kinds []string
	for _, e := range sidecar.DependsOn {
		kinds = append(kinds, fmt.Sprintf("%s %v", e.Service, e.Via))
	}
	// compose adds the depends_on entries of network_mode and volumes_from.
	if want := []string{"api [depends_on network_mode]", "db [depends_on volumes_from]"}; !reflect.DeepEqual(kinds, want) {
		t.Errorf("sidecar edges = %v, want %v", kinds, want)
	}
	if db := v.service("db"); !reflect.DeepEqual(db.Volumes, []string{"db-data"}) {
		t.Errorf("db.Volumes = %v, want [db-data] (no anonymous volume)", db.Volumes)
	}
	// A project known by its labels has no depends_on for them.
	bare, err := NewGraphView(&compose.Project{Services: []*compose.Service{
		{Name: "db"}, {Name: "side", NetworkMode: "service:db", VolumesFrom: []string{"db:ro", "container:x"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	wantBare := []GraphEdge{{Service: "db", Via: []EdgeKind{EdgeNetworkMode, EdgeVolumesFrom}, Condition: compose.ConditionStarted, Required: true, Enabled: true}}
	if got := bare.service("side").DependsOn; !reflect.DeepEqual(got, wantBare) {
		t.Errorf("side.DependsOn = %+v, want %+v", got, wantBare)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var back GraphView
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(&back, v) {
		t.Errorf("JSON round trip = %+v, %v; want %+v", back, err, v)
	}
}

func TestGraphViewErrors(t *testing.T) {
	svc := func(name string, deps map[string]compose.Dependency) *compose.Service {
		return &compose.Service{Name: name, DependsOn: deps}
	}
	tests := []struct {
		name string
		p    *compose.Project
		want string
	}{
		{"undefined", &compose.Project{Services: []*compose.Service{
			svc("web", map[string]compose.Dependency{"nope": {Condition: compose.ConditionStarted, Required: true}}),
		}}, `service "web" depends on service "nope", which is not defined`},
		{"required and not enabled", &compose.Project{DisabledServices: []string{"debug"}, Services: []*compose.Service{
			svc("web", map[string]compose.Dependency{"debug": {Condition: compose.ConditionStarted, Required: true}}),
		}}, `service "web" depends on service "debug", which is not enabled: enable its profile (--profile) or remove the reference`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewGraphView(tt.p)
			if err == nil || err.Error() != tt.want {
				t.Errorf("NewGraphView = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestGraphDOTValid has graphviz read the golden DOT files, where it is
// installed (apt-get install graphviz).
func TestGraphDOTValid(t *testing.T) {
	dot, err := exec.LookPath("dot")
	if err != nil {
		t.Skip("graphviz's dot is not installed")
	}
	files, err := filepath.Glob(filepath.Join("testdata", "graph", "*.dot"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden DOT files: %v", err)
	}
	for _, f := range files {
		if out, err := exec.Command(dot, "-Tsvg", "-o", os.DevNull, f).CombinedOutput(); err != nil || len(out) > 0 {
			t.Errorf("dot %s: %v: %s", f, err, out)
		}
	}
}
