package stats

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/scheduler"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func TestCPUPercent(t *testing.T) {
	tests := []struct {
		name      string
		prev, cur Sample
		want      float64
	}{
		{"idle", Sample{At: t0, CPU: time.Second}, Sample{At: t0.Add(time.Second), CPU: time.Second}, 0},
		{"half a CPU", Sample{At: t0, CPU: 0}, Sample{At: t0.Add(2 * time.Second), CPU: time.Second}, 50},
		{"two CPUs", Sample{At: t0, CPU: 3 * time.Second}, Sample{At: t0.Add(time.Second), CPU: 5 * time.Second}, 200},
		{"counters restarted", Sample{At: t0, CPU: 5 * time.Second}, Sample{At: t0.Add(time.Second), CPU: time.Second}, 0},
		{"no time passed", Sample{At: t0, CPU: 0}, Sample{At: t0, CPU: time.Second}, 0},
	}
	for _, tt := range tests {
		if got := CPUPercent(tt.prev, tt.cur); got != tt.want {
			t.Errorf("%s: CPUPercent = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestMakeRow(t *testing.T) {
	const hostMem = 2 << 30
	prev := Sample{ID: "p-web-1", Name: "p-web-1", At: t0, CPU: time.Second}
	cur := Sample{ID: "p-web-1", Name: "p-web-1", At: t0.Add(time.Second), CPU: time.Second + 123456789,
		Mem: 1536 << 10, MemLimit: 64 << 20, NetRx: 1500, NetTx: 700, BlockRead: 4096, BlockWrite: 2_500_000, Pids: 3}
	got := MakeRow(&prev, cur, hostMem)
	want := Row{Container: "p-web-1", ID: "p-web-1", Name: "p-web-1", CPUPerc: "12.35%", MemUsage: "1.5MiB / 64MiB",
		MemPerc: "2.34%", NetIO: "1.5kB / 700B", BlockIO: "4.1kB / 2.5MB", PIDs: "3"}
	if got != want {
		t.Errorf("MakeRow =\n%+v, want\n%+v", got, want)
	}
	// No limit (cgroup v1 reports a huge one, v2 none): the host's memory.
	for _, limit := range []uint64{0, 1 << 62} {
		cur.MemLimit = limit
		if got := MakeRow(nil, cur, hostMem); got.MemUsage != "1.5MiB / 2GiB" || got.MemPerc != "0.07%" || got.CPUPerc != "0.00%" {
			t.Errorf("MakeRow(no previous, limit %d) = %+v, want 1.5MiB / 2GiB, 0.07%%, 0.00%%", limit, got)
		}
	}
}

// fakeClock moves on by exactly what is waited for, at once.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }
func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.now = c.now.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

// busySource is a container using a quarter of a CPU, and a second one
// that starts after the first sample.
func busySource() Source {
	n := 0
	return func(context.Context) ([]Sample, error) {
		n++
		out := []Sample{{ID: "a", Name: "a", CPU: time.Duration(n) * 250 * time.Millisecond, Pids: 1}}
		if n > 1 {
			out = append(out, Sample{ID: "b", Name: "b", CPU: time.Duration(n) * time.Second, Pids: 2})
		}
		return out, nil
	}
}

func TestWatcherOnce(t *testing.T) {
	w := Watcher{Clock: &fakeClock{now: t0}, Source: busySource(), Interval: time.Second, HostMem: 1 << 30, Once: true}
	var shown [][]Row
	err := w.Run(context.Background(), func(rows []Row) error { shown = append(shown, rows); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(shown) != 1 || len(shown[0]) != 2 {
		t.Fatalf("Run(Once) showed %v, want one set of two rows", shown)
	}
	if a, b := shown[0][0], shown[0][1]; a.CPUPerc != "25.00%" || b.CPUPerc != "0.00%" || b.PIDs != "2" {
		t.Errorf("rows %+v, %+v: want a at 25.00%%, b (new) at 0.00%% with 2 pids", a, b)
	}
}

func TestWatcherStreams(t *testing.T) {
	w := Watcher{Clock: &fakeClock{now: t0}, Source: busySource(), Interval: time.Second}
	stop := errors.New("enough")
	var cpuB []string
	err := w.Run(context.Background(), func(rows []Row) error {
		if len(rows) == 2 {
			cpuB = append(cpuB, rows[1].CPUPerc)
		}
		if len(cpuB) == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("Run = %v, want the error show returned", err)
	}
	if got := cpuB; got[0] != "0.00%" || got[1] != "100.00%" || got[2] != "100.00%" {
		t.Errorf("b's CPU over three rounds: %v, want 0.00%% (new), then 100.00%%", got)
	}
}

// stuckClock never delivers.
type stuckClock struct{}

func (stuckClock) Now() time.Time                       { return t0 }
func (stuckClock) After(time.Duration) <-chan time.Time { return nil }

func TestWatcherEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w := Watcher{Clock: stuckClock{}, Source: busySource(), Interval: time.Second}
	if err := w.Run(ctx, func([]Row) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("Run after cancel = %v, want context.Canceled", err)
	}
	failing := Watcher{Clock: stuckClock{}, Source: func(context.Context) ([]Sample, error) { return nil, errors.New("no containerd") }}
	if err := failing.Run(context.Background(), nil); err == nil || err.Error() != "no containerd" {
		t.Errorf("Run with a failing source = %v, want its error", err)
	}
}

// fakeRuntime has containers; those in gone stopped before being read.
type fakeRuntime struct {
	cs   []scheduler.Container
	gone map[string]bool
}

func (f fakeRuntime) Containers(context.Context, string) ([]scheduler.Container, error) {
	return f.cs, nil
}

func (f fakeRuntime) Stats(_ context.Context, cs []scheduler.Container) ([]Sample, error) {
	var out []Sample
	for _, c := range cs {
		if !f.gone[c.Name] {
			out = append(out, Sample{ID: c.ID, Name: c.Name})
		}
	}
	return out, nil
}

func TestMakeRowStopped(t *testing.T) {
	got := MakeRow(nil, Sample{ID: "p-old-1", Name: "p-old-1", Stopped: true}, 8<<30)
	want := Row{Container: "p-old-1", ID: "p-old-1", Name: "p-old-1", CPUPerc: "0.00%", MemUsage: "0B / 0B", MemPerc: "0.00%",
		NetIO: "0B / 0B", BlockIO: "0B / 0B", PIDs: "0"}
	if got != want {
		t.Errorf("MakeRow(stopped) =\n%+v, want\n%+v", got, want)
	}
}

func TestProjectSource(t *testing.T) {
	c := func(name, service string, st scheduler.State) scheduler.Container {
		return scheduler.Container{ID: name, Name: name, State: st, Labels: compose.Labels{compose.LabelService: service}}
	}
	rt := fakeRuntime{cs: []scheduler.Container{
		c("p-web-2", "web", scheduler.StateRunning), c("p-web-1", "web", scheduler.StatePaused),
		c("p-db-1", "db", scheduler.StateRunning), c("p-old-1", "old", scheduler.StateExited), c("p-gone-1", "web", scheduler.StateRunning),
	}, gone: map[string]bool{"p-gone-1": true}}
	for _, tt := range []struct {
		services []string
		all      bool
		want     string
	}{
		{nil, false, "p-db-1 p-web-1 p-web-2"},
		{[]string{"web"}, false, "p-web-1 p-web-2"},
		// --all: the exited one, and the one that stopped while read.
		{nil, true, "p-db-1 p-gone-1(stopped) p-old-1(stopped) p-web-1 p-web-2"},
		{[]string{"db"}, true, "p-db-1"},
	} {
		samples, err := ProjectSource(rt, "p", tt.services, tt.all)(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, s := range samples {
			if s.Stopped {
				s.Name += "(stopped)"
			}
			names = append(names, s.Name)
		}
		if got := strings.Join(names, " "); got != tt.want {
			t.Errorf("ProjectSource(%v, all %v) sampled %s, want %s", tt.services, tt.all, got, tt.want)
		}
	}
}
