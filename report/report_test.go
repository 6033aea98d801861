package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/scheduler"
)

// fakeClock is set by the script: each step happens at its own time.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

var t0 = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// step is one event or mark of a script, at a time in ms after t0.
type step struct {
	ms int
	ev *scheduler.Event
	mk *scheduler.Mark
}

func ev(ms int, kind scheduler.Kind, name string, st scheduler.Status, text string) step {
	return step{ms: ms, ev: &scheduler.Event{Kind: kind, Name: name, Status: st, Text: text}}
}

func mk(ms int, m scheduler.Mark) step { return step{ms: ms, mk: &m} }

// bringUp is the events of a container created, then started.
func bringUp(name string, create, start int) []step {
	return []step{
		ev(create, scheduler.KindContainer, name, scheduler.StatusWorking, "Creating"),
		ev(create+5, scheduler.KindContainer, name, scheduler.StatusDone, "Created"),
		ev(start, scheduler.KindContainer, name, scheduler.StatusWorking, "Starting"),
		ev(start+5, scheduler.KindContainer, name, scheduler.StatusDone, "Started"),
	}
}

func waitOn(service, dep string, cond compose.DependencyCondition, from, to int, err string) []step {
	return []step{
		mk(from, scheduler.Mark{Kind: scheduler.MarkWaitBegin, Service: service, Dependency: dep, Condition: cond}),
		mk(to, scheduler.Mark{Kind: scheduler.MarkWaitEnd, Service: service, Dependency: dep, Condition: cond, Err: err}),
	}
}

func ready(ms int, service string) step {
	return mk(ms, scheduler.Mark{Kind: scheduler.MarkReady, Service: service, Condition: compose.ConditionHealthy})
}

// probe is a healthcheck run from ms to ms+5.
func probe(ms, exit int, out string) scheduler.ProbeResult {
	return scheduler.ProbeResult{Start: at(ms), End: at(ms + 5), ExitCode: exit, Output: out}
}

// listed is a container of the final listing, started at ms, with its
// health log.
func listed(service string, start int, status scheduler.HealthStatus, log ...scheduler.ProbeResult) scheduler.Container {
	h, _ := json.Marshal(scheduler.Health{Status: status, Log: log})
	return scheduler.Container{Name: "p-" + service + "-1", State: scheduler.StateRunning, StartedAt: at(start + 5),
		Labels: compose.Labels{compose.LabelService: service, compose.LabelHealth: string(h), compose.LabelHealthcheck: `{"Test":["CMD","true"]}`}}
}

// record plays a script into a Recorder on a fake clock.
func record(steps []step) []Entry {
	clock := &fakeClock{}
	r := NewRecorder(clock)
	for _, s := range steps {
		clock.now = at(s.ms)
		if s.ev != nil {
			r.Emit(*s.ev)
		}
		if s.mk != nil {
			r.Mark(*s.mk)
		}
	}
	return r.Entries()
}

func cat(parts ...[]step) []step {
	var out []step
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// pathText is the critical path one link a line: "120-125 api wait db".
func pathText(links []Link) string {
	var b strings.Builder
	for _, l := range links {
		fmt.Fprintf(&b, "%g-%g %s %s", l.From.OffsetMs, l.To.OffsetMs, l.Service, l.Step)
		if l.Dependency != "" {
			fmt.Fprintf(&b, " %s", l.Dependency)
		}
		b.WriteString("\n")
	}
	return b.String()
}

const healthy = compose.ConditionHealthy

// chainInput: db, then api waiting on db healthy, then web on api.
func chainInput() Input {
	steps := cat(
		bringUp("p-db-1", 10, 30),
		bringUp("p-api-1", 12, 126),
		bringUp("p-web-1", 14, 156),
		waitOn("api", "db", healthy, 30, 125, ""),
		waitOn("web", "api", healthy, 131, 155, ""),
		[]step{ready(182, "db"), ready(183, "api"), ready(184, "web")},
	)
	return Input{Project: "p", Start: t0, End: at(190), Entries: record(steps), Containers: []scheduler.Container{
		listed("db", 30, scheduler.HealthHealthy, probe(50, 1, "not yet"), probe(115, 0, "")),
		listed("api", 126, scheduler.HealthHealthy, probe(140, 0, "")),
		listed("web", 156, scheduler.HealthHealthy, probe(170, 0, "")),
	}}
}

func diamondInput(bSlower bool) Input {
	bReady, cReady := 200, 300
	if bSlower {
		bReady, cReady = 300, 200
	}
	steps := cat(
		bringUp("p-a-1", 10, 20),
		bringUp("p-b-1", 11, 101),
		bringUp("p-c-1", 12, 102),
		bringUp("p-d-1", 13, cReady+bReady-200+11), // after the later of b and c
		waitOn("b", "a", healthy, 20, 100, ""),
		waitOn("c", "a", healthy, 20, 101, ""),
		waitOn("d", "b", healthy, 104, bReady+8, ""),
		waitOn("d", "c", healthy, bReady+8, max(bReady, cReady)+9, ""),
		[]step{ready(400, "a"), ready(400, "b"), ready(400, "c"), ready(400, "d")},
	)
	return Input{Project: "p", Start: t0, End: at(410), Entries: record(steps), Containers: []scheduler.Container{
		listed("a", 20, scheduler.HealthHealthy, probe(90, 0, "")),
		listed("b", 101, scheduler.HealthHealthy, probe(bReady-5, 0, "")),
		listed("c", 102, scheduler.HealthHealthy, probe(cReady-5, 0, "")),
		listed("d", max(bReady, cReady)+11, scheduler.HealthHealthy, probe(390, 0, "")),
	}}
}

func failureInput() Input {
	steps := cat(
		bringUp("p-db-1", 10, 30),
		bringUp("p-api-1", 12, 0)[:2], // prepared, never started
		waitOn("api", "db", healthy, 30, 260, "container p-db-1 is unhealthy"),
		[]step{ev(262, scheduler.KindContainer, "p-db-1", scheduler.StatusError, "Error")},
	)
	cerr := &scheduler.ConditionError{Service: "db", Reason: "container p-db-1 is unhealthy",
		Detail: `the last healthcheck of container p-db-1 (service "db") said: connection refused`}
	return Input{Project: "p", Start: t0, End: at(270), Entries: record(steps),
		Err:  fmt.Errorf("dependency failed to start: %w", cerr),
		Logs: map[string][]string{"p-db-1": {"starting", "bad password"}},
		Containers: []scheduler.Container{
			listed("db", 30, scheduler.HealthUnhealthy, probe(50, 1, "connection refused"), probe(150, 1, "connection refused"), probe(250, 2, "connection refused\n")),
			{Name: "p-api-1", State: scheduler.StateCreated, Labels: compose.Labels{compose.LabelService: "api"}},
		}}
}

func TestCriticalPath(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   Input
		want string
	}{
		{"chain", chainInput(), `0-10  setup
10-15 db create
15-35 db start
35-120 db healthy
120-125 api wait db
125-131 api start
131-145 api healthy
145-155 web wait api
155-161 web start
161-175 web healthy
175-190  finish
`},
		{"diamond c slower", diamondInput(false), `0-10  setup
10-15 a create
15-25 a start
25-95 a healthy
95-101 c wait a
101-107 c start
107-300 c healthy
300-309 d wait c
309-316 d start
316-395 d healthy
395-410  finish
`},
		{"diamond b slower", diamondInput(true), `0-10  setup
10-15 a create
15-25 a start
25-95 a healthy
95-100 b wait a
100-106 b start
106-300 b healthy
300-309 d wait b
309-316 d start
316-395 d healthy
395-410  finish
`},
		{"dependency unhealthy", failureInput(), `0-10  setup
10-15 db create
15-35 db start
35-260 db failed
260-270  finish
`},
		{"wait judged unhealthy", waitFailureInput(), `0-10  setup
10-15 web create
15-35 web start
35-400 web failed
400-401  finish
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Build(tc.in)
			if got := pathText(r.CriticalPath); got != tc.want {
				t.Errorf("critical path:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// waitFailureInput: up --wait judged web unhealthy; nothing waited on it.
func waitFailureInput() Input {
	steps := cat(
		bringUp("p-web-1", 10, 30),
		[]step{mk(400, scheduler.Mark{Kind: scheduler.MarkReady, Service: "web", Condition: healthy, Err: "container p-web-1 is unhealthy"})},
	)
	return Input{Project: "p", Start: t0, End: at(401), Entries: record(steps),
		Err: &scheduler.ConditionError{Service: "web", Reason: "container p-web-1 is unhealthy"},
		Containers: []scheduler.Container{
			listed("web", 30, scheduler.HealthUnhealthy, probe(100, 7, "boom"), probe(200, 7, "boom"), probe(300, 7, "boom")),
		}}
}

func TestFailure(t *testing.T) {
	exit2 := 2
	for _, tc := range []struct {
		name string
		in   Input
		want Failure
	}{
		{"dependency unhealthy", failureInput(), Failure{Service: "db", Container: "p-db-1", Condition: healthy, Waiter: "api",
			Reason:  "container p-db-1 is unhealthy",
			Details: []string{`the last healthcheck of container p-db-1 (service "db") said: connection refused`},
			Logs:    []string{"starting", "bad password"}}},
		{"wait judged unhealthy", waitFailureInput(), Failure{Service: "web", Container: "p-web-1", Condition: healthy,
			Reason: "container p-web-1 is unhealthy"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Build(tc.in)
			f := r.Failure
			if r.Status != "failed" || f == nil {
				t.Fatalf("status %q, failure %v: want failed", r.Status, f)
			}
			if f.Service != tc.want.Service || f.Container != tc.want.Container || f.Condition != tc.want.Condition ||
				f.Waiter != tc.want.Waiter || f.Reason != tc.want.Reason ||
				fmt.Sprint(f.Details) != fmt.Sprint(tc.want.Details) || fmt.Sprint(f.Logs) != fmt.Sprint(tc.want.Logs) {
				t.Errorf("failure = %+v, want %+v", *f, tc.want)
			}
			if len(f.Probes) != 3 {
				t.Fatalf("probes = %+v, want the 3 of the health log", f.Probes)
			}
			for _, s := range r.Services {
				if s.Name == f.Service && s.Status != "failed" {
					t.Errorf("service %s status %q, want failed", s.Name, s.Status)
				}
			}
		})
	}
	f := Build(failureInput()).Failure
	if last := f.Probes[2]; last.ExitCode != exit2 || last.Output != "connection refused" || last.Start.OffsetMs != 250 || last.Ms != 5 {
		t.Errorf("last probe = %+v, want exit 2, \"connection refused\" at 250 ms for 5 ms", last)
	}
}

func TestServices(t *testing.T) {
	r := Build(chainInput())
	var api *Service
	for i := range r.Services {
		if r.Services[i].Name == "api" {
			api = &r.Services[i]
		}
	}
	if api == nil {
		t.Fatalf("services = %+v, want api", r.Services)
	}
	if api.Status != "ready" || api.Ready == nil || api.Ready.OffsetMs != 145 || api.Condition != healthy {
		t.Errorf("api = %+v, want ready (healthy) at 145 ms", api)
	}
	if len(api.Waits) != 1 || api.Waits[0].Dependency != "db" || api.Waits[0].DurationMs != 95 || api.Waits[0].From.OffsetMs != 30 {
		t.Errorf("api waits = %+v, want db from 30 ms for 95 ms", api.Waits)
	}
	c := api.Containers[0]
	if c.Created.OffsetMs != 17 || c.Started.OffsetMs != 131 || c.FirstProbe.OffsetMs != 140 || c.Healthy.OffsetMs != 145 {
		t.Errorf("api container = created %v started %v first probe %v healthy %v, want 17, 131, 140, 145 ms",
			c.Created, c.Started, c.FirstProbe, c.Healthy)
	}
	// The path adds up to the total.
	var sum float64
	for _, l := range r.CriticalPath {
		sum += l.DurationMs
	}
	if sum != r.DurationMs {
		t.Errorf("critical path sums to %g ms, want the total %g", sum, r.DurationMs)
	}
}

func TestPulls(t *testing.T) {
	steps := []step{
		ev(5, scheduler.KindImage, "alpine", scheduler.StatusWorking, "Pulling"),
		{ms: 6, ev: &scheduler.Event{Kind: scheduler.KindLayer, Name: "sha256:1", Parent: "alpine", Status: scheduler.StatusWorking, Text: "Downloading"}},
		ev(80, scheduler.KindImage, "alpine", scheduler.StatusDone, "Pulled"),
		mk(10, scheduler.Mark{Kind: scheduler.MarkBuildBegin, Service: "app"}),
		mk(90, scheduler.Mark{Kind: scheduler.MarkBuildEnd, Service: "app", Err: "step 3 failed"}),
	}
	entries := record(steps)
	if len(entries) != 4 {
		t.Errorf("recorded %d entries, want 4 (layer progress dropped)", len(entries))
	}
	r := Build(Input{Project: "p", Start: t0, End: at(100), Entries: entries})
	if len(r.Pulls) != 1 || r.Pulls[0].Image != "alpine" || r.Pulls[0].DurationMs != 75 {
		t.Errorf("pulls = %+v, want alpine for 75 ms", r.Pulls)
	}
	if len(r.Builds) != 1 || r.Builds[0].Service != "app" || r.Builds[0].DurationMs != 80 || r.Builds[0].Error != "step 3 failed" {
		t.Errorf("builds = %+v, want app for 80 ms, failed", r.Builds)
	}
}

func TestJSONAndSummary(t *testing.T) {
	for _, tc := range []struct {
		name       string
		in         Input
		status     string
		summaryHas []string
	}{
		{"ready", chainInput(), "ready", []string{"Project p ready in 190ms", "+120ms        5ms  api waited for db (service_healthy)", "web became healthy"}},
		{"failed", failureInput(), "failed", []string{"Project p failed after 270ms", "Failed: service db (service_healthy): container p-db-1 is unhealthy",
			"exit 2: connection refused", "last 2 log lines of p-db-1:", "    bad password"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Build(tc.in)
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			var back map[string]any
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if back["version"] != float64(1) || back["status"] != tc.status || back["started"] != "2026-12-06T12:00:00Z" {
				t.Errorf("report = %s, want version 1, status %s, started in RFC 3339", b, tc.status)
			}
			var buf bytes.Buffer
			if err := r.WriteSummary(&buf); err != nil {
				t.Fatal(err)
			}
			for _, want := range tc.summaryHas {
				if !strings.Contains(buf.String(), want) {
					t.Errorf("summary:\n%s\nwant a line with %q", buf.String(), want)
				}
			}
		})
	}
}
