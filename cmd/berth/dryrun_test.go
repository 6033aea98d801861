package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/scheduler"
)

func TestDryRunRefused(t *testing.T) {
	tests := [][]string{
		{"--dry-run", "exec", "web", "sh"},
		{"--dry-run", "run", "web"},
		{"--dry-run", "attach", "web"},
		{"--dry-run", "volume", "rm", "data"},
		{"--dry-run", "container", "rm", "x"},
		{"--dry-run", "cp", "web:/a", "b"},
	}
	for _, args := range tests {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			cmd := newRootCmd()
			cmd.SetArgs(args)
			var out strings.Builder
			cmd.SetOut(&out)
			cmd.SetErr(&out)
			err := cmd.Execute()
			if err == nil || !strings.Contains(err.Error(), "--dry-run is not supported by berth ") {
				t.Errorf("berth %v = %v, want --dry-run is not supported", args, err)
			}
		})
	}
	// A command that changes nothing runs as it is.
	for _, args := range [][]string{{"--dry-run", "version", "--short"}, {"--dry-run", "help", "up"}} {
		cmd := newRootCmd()
		cmd.SetArgs(args)
		var out strings.Builder
		cmd.SetOut(&out)
		if err := cmd.Execute(); err != nil {
			t.Errorf("berth %v: %v", args, err)
		}
	}
}

// TestDryRunCommandsExist keeps the lists of dryrun.go in step with the
// commands: a renamed command would otherwise be refused, or let through.
func TestDryRunCommandsExist(t *testing.T) {
	root := newRootCmd()
	for _, list := range []map[string]bool{dryRunCommands, readOnlyCommands} {
		for name := range list {
			if c, _, err := root.Find([]string{name}); err != nil || c == root || c.Name() != name {
				t.Errorf("--dry-run lists %q, which is not a berth command", name)
			}
		}
	}
}

func TestPrintDryRun(t *testing.T) {
	plan := &scheduler.Plan{
		Before:  []scheduler.Op{{Kind: scheduler.OpBuild, Service: "api", Name: "demo-api", Reason: "image missing"}},
		Prepare: []scheduler.Op{{Kind: scheduler.OpCreateNetwork, Name: "demo_default", Reason: "missing"}},
		Services: map[string][]scheduler.Op{
			"web": {{Kind: scheduler.OpRecreate, Service: "web", Name: "demo-web-1", Reason: "config changed (environment)"}},
			"db":  {{Kind: scheduler.OpPull, Service: "db", Name: "postgres:16", Reason: "missing, for new containers"}, {Kind: scheduler.OpCreate, Service: "db", Name: "demo-db-1", Reason: "missing"}},
			"api": {{Kind: scheduler.OpRunning, Service: "api", Name: "demo-api-1"}},
		},
		Extra:    []scheduler.Op{{Kind: scheduler.OpRemove, Service: "old", Name: "demo-old-1", Reason: "orphan"}, {Kind: scheduler.OpRemoveNetwork, Name: "demo_back"}},
		Warnings: []string{"found orphan containers"},
	}
	want := `DRY-RUN MODE - build api (image demo-api): image missing
DRY-RUN MODE - create network demo_default: missing
DRY-RUN MODE - keep demo-api-1: running, up to date
DRY-RUN MODE - pull postgres:16 (service db): missing, for new containers
DRY-RUN MODE - create demo-db-1: missing
DRY-RUN MODE - recreate demo-web-1: config changed (environment)
DRY-RUN MODE - remove orphan demo-old-1
DRY-RUN MODE - remove network demo_back
DRY-RUN MODE - warning: found orphan containers
`
	var out strings.Builder
	printDryRun(&out, &globalOptions{progress: "plain"}, "demo", planSteps(plan, nil), plan.Warnings)
	if out.String() != want {
		t.Errorf("printDryRun:\n%s\nwant:\n%s", out.String(), want)
	}

	out.Reset()
	printDryRun(&out, &globalOptions{progress: "json"}, "demo", planSteps(plan, nil), nil)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 8 {
		t.Fatalf("json dry run: %d lines, want 8:\n%s", len(lines), out.String())
	}
	var st dryRunStep
	if err := json.Unmarshal([]byte(lines[5]), &st); err != nil {
		t.Fatal(err)
	}
	if want := (dryRunStep{DryRun: true, Action: "recreate", Service: "web", Name: "demo-web-1", Reason: "config changed (environment)", Text: "recreate demo-web-1: config changed (environment)"}); st != want {
		t.Errorf("json line 6 = %+v, want %+v", st, want)
	}

	out.Reset()
	idle := &scheduler.Plan{Services: map[string][]scheduler.Op{"api": {{Kind: scheduler.OpRunning, Name: "demo-api-1"}}}}
	printDryRun(&out, &globalOptions{progress: "plain"}, "demo", planSteps(idle, nil), nil)
	if want := "DRY-RUN MODE - keep demo-api-1: running, up to date\nDRY-RUN MODE - nothing to do for project demo\n"; out.String() != want {
		t.Errorf("printDryRun of an up-to-date project:\n%s\nwant:\n%s", out.String(), want)
	}
}

// TestDryRunWalkOrder: the services' steps come in the order the plan
// walks them, dependencies first for up and dependents first for down.
func TestDryRunWalkOrder(t *testing.T) {
	p := &compose.Project{Name: "demo", Services: []*compose.Service{
		{Name: "api", Project: "demo", DependsOn: map[string]compose.Dependency{"db": {Condition: compose.ConditionStarted, Required: true}}},
		{Name: "db", Project: "demo"},
	}}
	graph, err := scheduler.NewGraph(p)
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string][]scheduler.Op{
		"api": {{Kind: scheduler.OpRemove, Service: "api", Name: "demo-api-1"}},
		"db":  {{Kind: scheduler.OpRemove, Service: "db", Name: "demo-db-1"}},
	}
	for _, tt := range []struct {
		order scheduler.Direction
		want  string
	}{{scheduler.DependenciesFirst, "demo-db-1,demo-api-1"}, {scheduler.DependentsFirst, "demo-api-1,demo-db-1"}} {
		var names []string
		for _, st := range planSteps(&scheduler.Plan{Services: ops, Order: tt.order}, graph) {
			names = append(names, st.Name)
		}
		if got := strings.Join(names, ","); got != tt.want {
			t.Errorf("planSteps(order %v) = %s, want %s", tt.order, got, tt.want)
		}
	}
}
