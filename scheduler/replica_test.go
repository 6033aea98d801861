package scheduler

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/berth/berth/compose"
)

// replicas puts containers in a fake runtime: "service/number/state", with
// a trailing "/run" for a one-off.
func replicas(specs ...string) *fakeRuntime {
	f := newFakeRuntime()
	for _, spec := range specs {
		parts := strings.Split(spec, "/")
		name := "demo-" + parts[0] + "-" + parts[1]
		labels := compose.Labels{compose.LabelProject: "demo", compose.LabelService: parts[0], compose.LabelNumber: parts[1]}
		if len(parts) > 3 {
			labels[compose.LabelOneOff] = "True"
			name += "-run"
		}
		f.containers[name] = Container{ID: name, Name: name, State: State(parts[2]), Labels: labels}
	}
	return f
}

func TestServiceReplica(t *testing.T) {
	f := replicas("web/1/exited", "web/2/running", "web/1/running/run", "db/1/created")
	p := project("web", "db", "idle")
	tests := []struct {
		service string
		index   int
		want    string // the container's name, or an error's start
	}{
		{"web", 1, "demo-web-1"},
		{"web", 2, "demo-web-2"},
		{"db", 1, "demo-db-1"},
		{"web", 3, `service "web" has no container 3: run berth up -d web first`},
		{"idle", 1, `service "idle" has no container 1`},
		{"nope", 1, `no such service: nope`},
	}
	for _, tt := range tests {
		c, err := ServiceReplica(context.Background(), f, p, tt.service, tt.index)
		got := c.Name
		if err != nil {
			got = err.Error()
		}
		if !strings.HasPrefix(got, tt.want) {
			t.Errorf("ServiceReplica(%s, %d) = %q, want %q", tt.service, tt.index, got, tt.want)
		}
	}
	// Known by name only (-p, no compose file): the labels decide.
	byName := &compose.Project{Name: "demo"}
	if c, err := ServiceReplica(context.Background(), f, byName, "web", 2); err != nil || c.Name != "demo-web-2" {
		t.Errorf("ServiceReplica(web, 2) of a project known by name = %q, %v", c.Name, err)
	}
	if _, err := ServiceReplica(context.Background(), f, byName, "nope", 1); err == nil || !strings.Contains(err.Error(), `service "nope" has no container 1`) {
		t.Errorf("ServiceReplica(nope, 1) of a project known by name = %v", err)
	}
	if _, err := ServiceContainer(context.Background(), f, p, "web", 1); err == nil || !strings.Contains(err.Error(), `service "web" is not running container #1 (container demo-web-1 is exited)`) {
		t.Errorf("ServiceContainer(web, 1) on an exited container = %v", err)
	}
}

func TestRunningContainers(t *testing.T) {
	f := replicas("web/2/running", "web/1/paused", "web/3/exited", "web/1/running/run", "db/1/running", "cache/1/created")
	cs, _ := f.Containers(context.Background(), "demo")
	names := func(cs []Container) string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Name+":"+strconv.Itoa(c.Labels.Number()))
		}
		return strings.Join(out, " ")
	}
	if got, want := names(RunningContainers(cs, nil)), "demo-db-1:1 demo-web-1:1 demo-web-2:2"; got != want {
		t.Errorf("RunningContainers(all) = %s, want %s", got, want)
	}
	if got, want := names(RunningContainers(cs, []string{"web", "cache"})), "demo-web-1:1 demo-web-2:2"; got != want {
		t.Errorf("RunningContainers(web, cache) = %s, want %s", got, want)
	}
}
