package watch

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/compose"
)

// fakeActions records the actions, one line each: "web sync /app/a.txt,/app/b".
type fakeActions struct {
	calls []string
	fail  map[string]error // by "service action"
	done  chan string      // when not nil, told of each call
}

func (f *fakeActions) record(service, action string, args ...string) error {
	line := service + " " + action
	if len(args) > 0 {
		line += " " + strings.Join(args, ",")
	}
	f.calls = append(f.calls, line)
	if f.done != nil {
		f.done <- line
	}
	return f.fail[service+" "+action]
}

func (f *fakeActions) Sync(_ context.Context, service string, files []File) error {
	var ts []string
	for _, fl := range files {
		ts = append(ts, fl.Container)
	}
	return f.record(service, "sync", ts...)
}
func (f *fakeActions) Restart(_ context.Context, service string) error {
	return f.record(service, "restart")
}
func (f *fakeActions) Exec(_ context.Context, service string, h compose.Hook) error {
	return f.record(service, "exec", h.Command...)
}
func (f *fakeActions) Rebuild(_ context.Context, service string) error {
	return f.record(service, "rebuild")
}

// fakeClock is a clock the test moves; After hands each timer to the
// test on timers, which fires it when it wants.
type fakeClock struct {
	now    time.Time
	timers chan fakeTimer
}

type fakeTimer struct {
	d time.Duration
	c chan time.Time
}

func (c *fakeClock) Now() time.Time { return c.now }
func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	t := fakeTimer{d: d, c: make(chan time.Time, 1)}
	if c.timers != nil {
		c.timers <- t
	}
	return t.c
}

var t0 = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

// testProject is a project in dir with service web (sync of src with an
// ignore, sync+restart of conf, sync+exec of hooks, rebuild of
// package.json, a .dockerignore'd secret) and service worker (restart).
func testProject(t *testing.T, dir string) *compose.Project {
	t.Helper()
	for _, d := range []string{"src", "conf", "hooks", "lib"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte("**/*.secret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return &compose.Project{Name: "w", WorkingDir: dir, Services: []*compose.Service{
		{Name: "web", Build: &compose.Build{Context: dir}, HasBuild: true, Watch: []compose.WatchRule{
			{Path: filepath.Join(dir, "src"), Action: compose.WatchSync, Target: "/app", Ignore: []string{"node_modules/"}},
			{Path: filepath.Join(dir, "conf"), Action: compose.WatchSyncRestart, Target: "/etc/web", Include: []string{"*.conf"}},
			{Path: filepath.Join(dir, "hooks"), Action: compose.WatchSyncExec, Target: "/hooks", Exec: &compose.Hook{Command: []string{"reload"}}},
			{Path: filepath.Join(dir, "package.json"), Action: compose.WatchRebuild},
		}},
		{Name: "worker", Watch: []compose.WatchRule{
			{Path: filepath.Join(dir, "lib"), Action: compose.WatchRestart},
		}},
		{Name: "db"},
	}}
}

func TestMatch(t *testing.T) {
	dir := t.TempDir()
	w, err := New(testProject(t, dir), nil, &fakeActions{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		want []string // rules matched: "service[index]"
	}{
		{"src/main.go", []string{"web[0]"}},
		{"src/a/b/c.txt", []string{"web[0]"}},
		{"src", []string{"web[0]"}},
		{"src/node_modules/x/index.js", nil},
		{"src/node_modules", nil},
		{"src/key.secret", nil},   // .dockerignore
		{"src/.main.go.swp", nil}, // an editor's
		{"src/.git/HEAD", nil},
		{"srcfoo/main.go", nil},
		{"conf/app.conf", []string{"web[1]"}},
		{"conf/app.bak", nil}, // not included
		{"hooks/x", []string{"web[2]"}},
		{"package.json", []string{"web[3]"}},
		{"package.json.lock", nil},
		{"lib/util.py", []string{"worker[0]"}},
		{"elsewhere", nil},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			p := filepath.Join(dir, tt.path)
			var got []string
			for _, r := range w.rules {
				if r.match(p) {
					got = append(got, r.service+"["+string(rune('0'+r.index))+"]")
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("match(%s) = %v, want %v", tt.path, got, tt.want)
			}
		})
	}
	if !w.SkipDir(filepath.Join(dir, "src", "node_modules")) || w.SkipDir(filepath.Join(dir, "src", "pkg")) {
		t.Errorf("SkipDir: want node_modules skipped and src/pkg followed")
	}
	if got := strings.Join(w.Services(), ","); got != "web,worker" {
		t.Errorf("Services() = %q, want web,worker", got)
	}
}

func TestNewErrors(t *testing.T) {
	p := testProject(t, t.TempDir())
	if _, err := New(p, []string{"db"}, &fakeActions{}); err == nil || !strings.Contains(err.Error(), `service "db" has no develop.watch rules`) {
		t.Errorf("New(db) error = %v, want db has no rules", err)
	}
	if _, err := New(&compose.Project{Services: []*compose.Service{{Name: "db"}}}, nil, &fakeActions{}); err == nil || !strings.Contains(err.Error(), "none of the services") {
		t.Errorf("New(no rules) error = %v, want none of the services", err)
	}
}

func TestBatcher(t *testing.T) {
	r1, r2 := &rule{service: "a", index: 0}, &rule{service: "a", index: 1}
	b := newBatcher(50*time.Millisecond, time.Second)
	if _, ok := b.deadline(); ok {
		t.Fatal("deadline of an empty batcher")
	}
	b.add(t0, r2, "/x/2")
	b.add(t0.Add(30*time.Millisecond), r1, "/x/1")
	b.add(t0.Add(40*time.Millisecond), r1, "/x/1") // the same path again
	if d, _ := b.deadline(); !d.Equal(t0.Add(90 * time.Millisecond)) {
		t.Errorf("deadline = %v, want 90ms after the first event (50ms after the last)", d.Sub(t0))
	}
	if got := b.take(t0.Add(89 * time.Millisecond)); got != nil {
		t.Errorf("take before the deadline = %v, want nothing", got)
	}
	got := b.take(t0.Add(90 * time.Millisecond))
	if len(got) != 2 || got[0].rule != r1 || got[1].rule != r2 || !slices.Equal(got[0].paths, []string{"/x/1"}) {
		t.Errorf("take = %+v, want rule 0 with /x/1 once, then rule 1", got)
	}
	if _, ok := b.deadline(); ok {
		t.Error("changes left after take")
	}

	// Changes that never stop are acted on after maxWait.
	for i := 0; i < 100; i++ {
		b.add(t0.Add(time.Duration(i)*20*time.Millisecond), r1, "/x/log")
	}
	if d, _ := b.deadline(); !d.Equal(t0.Add(time.Second)) {
		t.Errorf("deadline of a steady stream = %v, want capped at 1s", d.Sub(t0))
	}
}

func TestFlush(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		changed []string
		fail    map[string]error
		want    []string // actions
		reports []string
	}{
		{"sync one rule, several files", []string{"src/a.txt", "src/d/b.txt", "src/a.txt"}, nil,
			[]string{"web sync /app/a.txt,/app/d/b.txt"}, []string{"web | synced 2 files in 0 ms"}},
		{"sync+restart", []string{"conf/app.conf"}, nil,
			[]string{"web sync /etc/web/app.conf", "web restart"}, []string{"web | synced 1 file and restarted in 0 ms"}},
		{"sync+exec", []string{"hooks/h"}, nil,
			[]string{"web sync /hooks/h", "web exec reload"}, []string{"web | synced 1 file and ran reload in 0 ms"}},
		{"restart", []string{"lib/x.py", "lib/y.py"}, nil, []string{"worker restart"}, []string{"worker | restarted in 0 ms"}},
		{"rebuild takes in the service's other rules", []string{"src/a.txt", "package.json", "lib/x.py"}, nil,
			[]string{"web rebuild", "worker restart"}, []string{"web | rebuilt and recreated in 0 ms", "worker | restarted in 0 ms"}},
		{"an error is reported, the rest goes on", []string{"src/a.txt", "lib/x.py"}, map[string]error{"web sync": errors.New("no running container")},
			[]string{"web sync /app/a.txt", "worker restart"}, []string{"web | sync failed: no running container", "worker | restarted in 0 ms"}},
		{"ignored changes do nothing", []string{"src/node_modules/x.js", "src/k.secret", "conf/x.bak"}, nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fa := &fakeActions{fail: tt.fail}
			var reports []string
			w, err := New(testProject(t, dir), nil, fa, WithClock(&fakeClock{now: t0}),
				WithReport(func(r Report) { reports = append(reports, r.Service+" | "+r.String()) }))
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range tt.changed {
				w.Changed(t0, filepath.Join(dir, c))
			}
			w.Flush(context.Background(), t0.Add(DefaultQuiet))
			if !slices.Equal(fa.calls, tt.want) {
				t.Errorf("actions = %q, want %q", fa.calls, tt.want)
			}
			if !slices.Equal(reports, tt.reports) {
				t.Errorf("reports = %q, want %q", reports, tt.reports)
			}
		})
	}
}

func TestRunDebounces(t *testing.T) {
	dir := t.TempDir()
	fc := &fakeClock{now: t0, timers: make(chan fakeTimer)}
	fa := &fakeActions{done: make(chan string, 10)}
	w, err := New(testProject(t, dir), []string{"web"}, fa, WithClock(fc))
	if err != nil {
		t.Fatal(err)
	}
	src := &chanSource{events: make(chan string), errs: make(chan error)}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error)
	go func() { ran <- w.Run(ctx, src) }()

	src.events <- filepath.Join(dir, "src/a.txt")
	tm := <-fc.timers
	if tm.d != DefaultQuiet {
		t.Errorf("first timer = %v, want the quiet period", tm.d)
	}
	fc.now = fc.now.Add(30 * time.Millisecond) // the second write comes before the quiet period is over
	src.events <- filepath.Join(dir, "src/b.txt")
	tm2 := <-fc.timers // replaces the first
	tm2.c <- fc.now    // fires early: nothing is due yet
	select {
	case call := <-fa.done:
		t.Fatalf("action %q before the quiet period ended", call)
	case tm3 := <-fc.timers:
		if tm3.d != 50*time.Millisecond {
			t.Errorf("timer rearmed for %v, want 50ms (the quiet period after the last write)", tm3.d)
		}
		fc.now = fc.now.Add(50 * time.Millisecond)
		tm3.c <- fc.now
	}
	if call := <-fa.done; call != "web sync /app/a.txt,/app/b.txt" {
		t.Errorf("action = %q, want one sync of both files", call)
	}
	cancel()
	if err := <-ran; err != nil {
		t.Errorf("Run = %v, want nil when cancelled", err)
	}
}

type chanSource struct {
	events chan string
	errs   chan error
}

func (s *chanSource) Events() <-chan string { return s.events }
func (s *chanSource) Errors() <-chan error  { return s.errs }

func TestInitialSync(t *testing.T) {
	dir := t.TempDir()
	p := testProject(t, dir)
	p.Services[0].Watch[0].InitialSync = true
	for _, f := range []string{"src/a.txt", "src/d/b.txt", "src/node_modules/m.js", "src/k.secret"} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fa := &fakeActions{}
	w, err := New(p, nil, fa, WithClock(&fakeClock{now: t0}))
	if err != nil {
		t.Fatal(err)
	}
	w.InitialSync(context.Background())
	if want := []string{"web sync /app,/app/a.txt,/app/d/b.txt"}; !slices.Equal(fa.calls, want) {
		t.Errorf("initial sync = %q, want %q", fa.calls, want)
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{12 * time.Millisecond: "12 ms", 1400 * time.Millisecond: "1.4 s"} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
