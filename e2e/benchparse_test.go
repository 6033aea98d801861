//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The readers of /proc and of `ctr events` that BenchmarkStacks relies on:
// a wrong field would give wrong figures without failing the benchmark.

func TestBenchParseProcStat(t *testing.T) {
	tests := []struct {
		name, stat string
		want       proc
		wantErr    bool
	}{
		{"plain", "42 (containerd) S 1 42 42 0 -1 4194560 1 0 0 0 150 50 7 3 20 0 12 0 100 0 0",
			proc{pid: 42, ppid: 1, comm: "containerd", ticks: 210}, false},
		{"comm with spaces and parentheses", "7 (a (b) c) R 6 7 7 0 -1 0 0 0 0 0 1 2 3 4 20 0",
			proc{pid: 7, ppid: 6, comm: "a (b) c", ticks: 10}, false},
		{"too short", "7 (x) R 6 7", proc{}, true},
		{"no comm", "7 x R 6", proc{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseProcStat([]byte(tt.stat))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("parseProcStat(%q) = %+v, %v; want %+v, error %v", tt.stat, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestBenchParsePss(t *testing.T) {
	rollup := "00400000-7ffd5098c000 ---p 00000000 00:00 0 [rollup]\nRss:   33568 kB\nPss:   15947 kB\nPss_Dirty: 15947 kB\n"
	if got, err := parsePss([]byte(rollup)); err != nil || got != 15947 {
		t.Errorf("parsePss = %d, %v; want 15947", got, err)
	}
	if _, err := parsePss([]byte("Rss: 1 kB\n")); err == nil {
		t.Error("parsePss without a Pss line: no error")
	}
}

func TestBenchParseCPUTimes(t *testing.T) {
	from, err := parseCPUTimes([]byte("cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n"))
	if err != nil {
		t.Fatal(err)
	}
	to, err := parseCPUTimes([]byte("cpu  250 10 140 750 100 0 0 0 5 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	if from != (cpuTimes{busy: 200, total: 1000}) {
		t.Errorf("parseCPUTimes = %+v, want busy 200 of 1000", from)
	}
	if got := busyShare(from, to); got != 0.8 { // 200 busy of 250 (guest 5 is in user already)
		t.Errorf("busyShare = %v, want 0.8", got)
	}
	if _, err := parseCPUTimes([]byte("intr 1 2 3\n")); err == nil {
		t.Error("parseCPUTimes of a file without the cpu line: no error")
	}
}

// chainEvents are the `ctr events` lines of a two-link chain: a waits for
// nothing, b waits for a; b's first probe fails, its second passes.
func chainEvents() []string {
	at := func(ms int) string {
		return time.Date(2026, 12, 6, 8, 0, 0, ms*int(time.Millisecond), time.UTC).Format(ctrEventLayout)
	}
	healthy := `{"id":"%s","labels":{"berth.health":"{\"Status\":\"healthy\",\"FailingStreak\":0}"}}`
	return []string{
		`time="2026-12-06T08:00:00Z" level=warning msg="DEPRECATION: cgroup v1"`,
		at(0) + ` berth /containers/create {"id":"p-a-1","image":"x"}`,
		at(10) + ` berth /tasks/create {"container_id":"p-a-1","pid":1}`,
		at(20) + ` berth /tasks/start {"container_id":"p-a-1","pid":1}`,
		at(30) + ` berth /tasks/exec-added {"container_id":"p-a-1","exec_id":"health-1"}`,
		at(80) + ` berth /tasks/exec-started {"container_id":"p-a-1","exec_id":"health-1","pid":9}`,
		at(90) + ` berth /tasks/exit {"container_id":"p-a-1","id":"health-1","pid":9}`,
		at(100) + " berth /containers/update " + fmt.Sprintf(healthy, "p-a-1"),
		at(5) + ` berth /containers/create {"id":"p-b-1"}`,
		at(120) + ` berth /tasks/start {"container_id":"p-b-1","pid":2}`,
		at(130) + ` berth /tasks/exec-added {"container_id":"p-b-1","exec_id":"health-2"}`,
		at(170) + ` berth /tasks/exec-started {"container_id":"p-b-1","exec_id":"health-2","pid":10}`,
		at(180) + ` berth /tasks/exit {"container_id":"p-b-1","id":"health-2","pid":10}`,
		at(230) + ` berth /tasks/exec-added {"container_id":"p-b-1","exec_id":"health-3"}`,
		at(290) + ` berth /tasks/exec-started {"container_id":"p-b-1","exec_id":"health-3","pid":11}`,
		at(300) + ` berth /tasks/exit {"container_id":"p-b-1","id":"health-3","pid":11}`,
		at(320) + " berth /containers/update " + fmt.Sprintf(healthy, "p-b-1"),
		at(900) + ` berth /tasks/exit {"container_id":"p-b-1","id":"p-b-1","pid":2}`,
		at(950) + " berth /containers/update " + fmt.Sprintf(healthy, "p-b-1"),
	}
}

func TestBenchChainBreakdown(t *testing.T) {
	var events []ctrEvent
	for _, line := range chainEvents() {
		if ev, ok := parseCtrEvent(line); ok {
			events = append(events, ev)
		}
	}
	if got, want := len(events), len(chainEvents())-1; got != want {
		t.Fatalf("parsed %d events, want %d (all but the warning)", got, want)
	}
	traces := traceContainers(events)
	if n := len(traces["p-b-1"].execs); n != 2 {
		t.Errorf("p-b-1 has %d execs, want 2 (its task's own exit is not an exec)", n)
	}
	steps, probes := chainBreakdown(traces, []string{"p-a-1", "p-b-1"})
	want := map[string]float64{
		"dependency healthy → task started":                     0.020,
		"task started → first probe's exec added":               0.010,
		"passing probe: exec added → started (runc exec)":       0.060,
		"passing probe: started → exited (the probe's command)": 0.010,
		"passing probe: exited → healthy recorded":              0.020,
		"whole link: dependency healthy → healthy":              0.220,
	}
	for _, s := range linkSteps {
		got := steps[s.what]
		if len(got) != 1 || got[0] < want[s.what]-1e-9 || got[0] > want[s.what]+1e-9 {
			t.Errorf("step %q = %v, want [%v]", s.what, got, want[s.what])
		}
	}
	if len(probes) != 1 || probes[0] != 2 {
		t.Errorf("probes until healthy = %v, want [2]", probes)
	}
}

func TestBenchPercentile(t *testing.T) {
	v := []float64{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	for _, tt := range []struct{ p, want float64 }{{50, 5}, {90, 9}, {100, 10}, {1, 1}} {
		if got := percentile(v, tt.p); got != tt.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", v, tt.p, got, tt.want)
		}
	}
}

// TestWideStack: the generator of BenchmarkStacks's scaling stacks makes,
// for 30 services, the shared wide30 stack (stacks/gen.py's file) but for
// its first comment line; and withTrueProbes replaces every test of it.
func TestWideStack(t *testing.T) {
	dir := os.Getenv("BENCH_STACKS")
	if dir == "" {
		dir = filepath.Join(repoRoot, "..", "shared", "bench")
	}
	shared, err := os.ReadFile(filepath.Join(dir, "stacks", "wide30", "compose.yaml"))
	if err != nil {
		t.Skipf("the shared stacks are not there (set BENCH_STACKS): %v", err)
	}
	body := func(b []byte) string { _, rest, _ := strings.Cut(string(b), "\n"); return rest }
	if got, want := body(wideStack(30)), body(shared); got != want {
		t.Errorf("wideStack(30) =\n%s\nwant the shared wide30:\n%s", got, want)
	}
	if got := string(wideStack(100)); !strings.Contains(got, "  w100:\n") || !strings.Contains(got, "http://w001/") {
		t.Errorf("wideStack(100) has no w100 whose ring closes on w001:\n%s", got)
	}
	out, err := withTrueProbes(shared)
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	if n := strings.Count(got, `test: ["CMD", "true"]`); n != 30 || strings.Contains(got, "CMD-SHELL") {
		t.Errorf("withTrueProbes: %d tests of true, want 30, and no other:\n%s", n, got)
	}
}
