//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readiness is the part of up --report's JSON the tests read.
type readiness struct {
	Version    int     `json:"version"`
	Status     string  `json:"status"`
	DurationMs float64 `json:"durationMs"`
	Failure    *struct {
		Service   string `json:"service"`
		Container string `json:"container"`
		Condition string `json:"condition"`
		Waiter    string `json:"waiter"`
		Reason    string `json:"reason"`
		Probes    []struct {
			ExitCode int    `json:"exitCode"`
			Output   string `json:"output"`
		} `json:"probes"`
		Logs []string `json:"logs"`
	} `json:"failure"`
	Services []struct {
		Name   string `json:"name"`
		Status string `json:"status"`
		Waits  []struct {
			Dependency string `json:"dependency"`
			Condition  string `json:"condition"`
		} `json:"waits"`
		Containers []struct {
			Name       string          `json:"name"`
			Created    json.RawMessage `json:"created"`
			Started    json.RawMessage `json:"started"`
			FirstProbe json.RawMessage `json:"firstProbe"`
			Healthy    json.RawMessage `json:"healthy"`
		} `json:"containers"`
	} `json:"services"`
	CriticalPath []struct {
		Service    string  `json:"service"`
		Step       string  `json:"step"`
		Dependency string  `json:"dependency"`
		DurationMs float64 `json:"durationMs"`
	} `json:"criticalPath"`
}

func parseReadiness(t *testing.T, b []byte) readiness {
	t.Helper()
	var r readiness
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, b)
	}
	if r.Version != 1 {
		t.Fatalf("report version %d, want 1:\n%s", r.Version, b)
	}
	return r
}

// TestReportHealthyChain: up --wait --report - of 10 services, each
// waiting for the one before to be healthy, names every link of the chain
// on the critical path, in order, and the links add up to the total.
func TestReportHealthyChain(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("services:\n")
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&sb, "  s%02d:\n    image: %s\n    command: [sleep, \"600\"]\n    stop_signal: SIGKILL\n    healthcheck:\n      test: [CMD, \"true\"]\n      interval: 1s\n", i, testImage)
		if i > 1 {
			fmt.Fprintf(&sb, "    depends_on:\n      s%02d: {condition: service_healthy}\n", i-1)
		}
	}
	p := newProject(t, sb.String(), nil)
	r := p.must("up", "--wait", "--report", "-", "--summary")
	rep := parseReadiness(t, []byte(r.stdout))
	if rep.Status != "ready" || rep.Failure != nil {
		t.Fatalf("status %q, failure %+v, want ready\n%s", rep.Status, rep.Failure, r.stdout)
	}
	var services, waits []string
	var sum float64
	for _, l := range rep.CriticalPath {
		sum += l.DurationMs
		if l.Service != "" && (len(services) == 0 || services[len(services)-1] != l.Service) {
			services = append(services, l.Service)
		}
		if l.Step == "wait" {
			waits = append(waits, l.Dependency+">"+l.Service)
		}
	}
	var wantServices, wantWaits []string
	for i := 1; i <= 10; i++ {
		wantServices = append(wantServices, fmt.Sprintf("s%02d", i))
		if i > 1 {
			wantWaits = append(wantWaits, fmt.Sprintf("s%02d>s%02d", i-1, i))
		}
	}
	if strings.Join(services, " ") != strings.Join(wantServices, " ") || strings.Join(waits, " ") != strings.Join(wantWaits, " ") {
		t.Errorf("critical path services %v, waits %v; want %v and %v\n%s", services, waits, wantServices, wantWaits, r.stdout)
	}
	if math.Abs(sum-rep.DurationMs) > 1 {
		t.Errorf("critical path sums to %g ms, want the total %g ms", sum, rep.DurationMs)
	}
	if len(rep.Services) != 10 {
		t.Fatalf("%d services in the report, want 10", len(rep.Services))
	}
	for i, s := range rep.Services {
		if s.Status != "ready" || len(s.Containers) != 1 {
			t.Errorf("service %s: status %q, %d containers; want ready, 1", s.Name, s.Status, len(s.Containers))
			continue
		}
		c := s.Containers[0]
		for what, v := range map[string]json.RawMessage{"created": c.Created, "started": c.Started, "firstProbe": c.FirstProbe, "healthy": c.Healthy} {
			if len(v) == 0 {
				t.Errorf("container %s has no %s time\n%s", c.Name, what, r.stdout)
			}
		}
		if i > 0 && (len(s.Waits) != 1 || s.Waits[0].Dependency != rep.Services[i-1].Name || s.Waits[0].Condition != "service_healthy") {
			t.Errorf("service %s waits %+v, want one on %s (service_healthy)", s.Name, s.Waits, rep.Services[i-1].Name)
		}
	}
	if !strings.Contains(r.stderr, "Critical path:") || !strings.Contains(r.stderr, "s10 became healthy") {
		t.Errorf("--summary missing on standard error:\n%s", r.stderr)
	}
}

// TestReportFailingHealthcheck: a service whose healthcheck fails is in
// the report written by a failing up --wait --report FILE, with its
// probes' output and exit code and its last log lines; up exits non-zero.
func TestReportFailingHealthcheck(t *testing.T) {
	p := newProject(t, `services:
  db:
    image: `+testImage+`
    command: ["sh", "-c", "echo db-log-marker; exec sleep 600"]
    stop_signal: SIGKILL
    healthcheck:
      test: ["CMD-SHELL", "echo probe-says-no; exit 3"]
      interval: 500ms
      retries: 2
  api:
    image: `+testImage+`
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    depends_on:
      db: {condition: service_healthy}
`, nil)
	if r := p.berth("up", "--report", "r.json"); r.code == 0 || !strings.Contains(r.stderr, "--report and --summary need --wait") {
		t.Fatalf("up --report without --wait: want refused\n%s", r)
	}
	// A report that cannot be written is refused before anything starts.
	if r := p.berth("up", "--wait", "--report", "no-such-dir/r.json"); r.code == 0 || !strings.Contains(r.stderr, "--report: open no-such-dir/r.json") {
		t.Fatalf("up --report into a missing directory: want refused naming the file\n%s", r)
	}
	if ps := p.ps(true); len(ps) != 0 {
		t.Fatalf("up refused for its report made containers: %+v", ps)
	}
	p.assertNothingLeft()
	r := p.berth("up", "--wait", "--report", "r.json", "--summary")
	if r.code == 0 {
		t.Fatalf("up --wait with an unhealthy dependency succeeded\n%s", r)
	}
	b, err := os.ReadFile(filepath.Join(p.dir, "r.json"))
	if err != nil {
		t.Fatalf("no report after a failed up: %v\n%s", err, r)
	}
	rep := parseReadiness(t, b)
	f := rep.Failure
	if rep.Status != "failed" || f == nil {
		t.Fatalf("status %q, failure %v, want failed\n%s", rep.Status, f, b)
	}
	if f.Service != "db" || f.Condition != "service_healthy" || f.Waiter != "api" || !strings.Contains(f.Reason, "unhealthy") {
		t.Errorf("failure %+v, want db unhealthy (service_healthy) while api waited\n%s", *f, b)
	}
	if len(f.Probes) == 0 || f.Probes[len(f.Probes)-1].ExitCode != 3 || f.Probes[len(f.Probes)-1].Output != "probe-says-no" {
		t.Errorf("failure probes %+v, want the last exit 3 saying probe-says-no", f.Probes)
	}
	if !strings.Contains(strings.Join(f.Logs, "\n"), "db-log-marker") {
		t.Errorf("failure logs %q, want db's line db-log-marker", f.Logs)
	}
	last := rep.CriticalPath[len(rep.CriticalPath)-2]
	if last.Service != "db" || last.Step != "failed" {
		t.Errorf("critical path ends with %+v, want db failed", last)
	}
	if !strings.Contains(r.stderr, "Failed: service db (service_healthy)") {
		t.Errorf("--summary missing the failure:\n%s", r.stderr)
	}
}

// TestReportUnhealthyWait: a service nothing depends on turns unhealthy
// while up --wait waits for it: the report written on standard output
// blames it with its probes, and up exits non-zero.
func TestReportUnhealthyWait(t *testing.T) {
	p := newProject(t, `services:
  web:
    image: `+testImage+`
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    healthcheck:
      test: ["CMD-SHELL", "echo web-probe-fails >&2; exit 4"]
      interval: 500ms
      retries: 2
`, nil)
	r := p.berth("up", "--wait", "--report", "-")
	if r.code == 0 {
		t.Fatalf("up --wait with an unhealthy service succeeded\n%s", r)
	}
	rep := parseReadiness(t, []byte(r.stdout))
	f := rep.Failure
	if rep.Status != "failed" || f == nil || f.Service != "web" || f.Condition != "service_healthy" || f.Waiter != "" {
		t.Fatalf("status %q, failure %+v: want web failed service_healthy\n%s", rep.Status, f, r.stdout)
	}
	if n := len(f.Probes); n == 0 || f.Probes[n-1].ExitCode != 4 || f.Probes[n-1].Output != "web-probe-fails" {
		t.Errorf("failure probes %+v, want the last exit 4 saying web-probe-fails", f.Probes)
	}
}
