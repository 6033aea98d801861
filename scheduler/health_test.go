package scheduler

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/berth/berth/compose"
)

func dur(d time.Duration) *time.Duration { return &d }
func num(n int) *int                     { return &n }

func TestEffectiveHealth(t *testing.T) {
	image := &compose.Healthcheck{Test: []string{"CMD-SHELL", "pg_isready"}, Interval: dur(2 * time.Second), Retries: num(5)}
	tests := []struct {
		name       string
		svc, image *compose.Healthcheck
		want       *HealthConfig
	}{
		{"none", nil, nil, nil},
		{"image's, with defaults", nil, image, &HealthConfig{Test: []string{"CMD-SHELL", "pg_isready"}, Interval: 2 * time.Second, Timeout: 30 * time.Second, StartInterval: 5 * time.Second, Retries: 5}},
		{"service overrides some fields", &compose.Healthcheck{Interval: dur(time.Second), StartPeriod: dur(10 * time.Second)}, image,
			&HealthConfig{Test: []string{"CMD-SHELL", "pg_isready"}, Interval: time.Second, Timeout: 30 * time.Second, StartPeriod: 10 * time.Second, StartInterval: 5 * time.Second, Retries: 5}},
		{"service test", &compose.Healthcheck{Test: []string{"CMD", "true"}}, nil, &HealthConfig{Test: []string{"CMD", "true"}, Interval: 30 * time.Second, Timeout: 30 * time.Second, StartInterval: 5 * time.Second, Retries: 3}},
		{"disable", &compose.Healthcheck{Disable: true}, image, nil},
		{"NONE", &compose.Healthcheck{Test: []string{"NONE"}}, image, nil},
	}
	for _, tt := range tests {
		if got := EffectiveHealth(tt.svc, tt.image); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: EffectiveHealth = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

// probeAt feeds results to a prober: each probe starts when it is due and
// takes 5 ms; ok says whether it passes.
func probeRun(p *Prober, ok []bool) (times []time.Duration, statuses []HealthStatus) {
	for _, pass := range ok {
		start := p.Next()
		code := 1
		if pass {
			code = 0
		}
		p.Record(ProbeResult{Start: start, End: start.Add(5 * time.Millisecond), ExitCode: code})
		times = append(times, start.Sub(p.started))
		statuses = append(statuses, p.Health().Status)
	}
	return times, statuses
}

// checkProbeRun runs p's probes (see probeRun) and checks when they came
// and the health after each.
func checkProbeRun(t *testing.T, p *Prober, ok []bool, wantTimes []time.Duration, want []HealthStatus) {
	t.Helper()
	times, statuses := probeRun(p, ok)
	if !reflect.DeepEqual(times, wantTimes) {
		t.Errorf("probe times %v, want %v", times, wantTimes)
	}
	if !reflect.DeepEqual(statuses, want) {
		t.Errorf("statuses %v, want %v", statuses, want)
	}
}

func TestProberEagerThenDocker(t *testing.T) {
	cfg := HealthConfig{Test: []string{"CMD", "x"}, Interval: time.Second, Timeout: time.Second, StartInterval: 5 * time.Second, Retries: 2}
	p := NewProber(cfg, time.Unix(100, 0), PaceEager, 0)
	times, statuses := probeRun(p, []bool{false, false, false, false, false, false, false, false})
	ms := time.Millisecond
	// Eager: 0, then gaps of 50, 100, 200, 400 ms after each 5 ms probe,
	// capped at Docker's first probe (1 s); then every interval after the
	// previous probe's end.
	wantTimes := []time.Duration{0, 55 * ms, 160 * ms, 365 * ms, 770 * ms, 1000 * ms, 2005 * ms, 3010 * ms}
	if !reflect.DeepEqual(times, wantTimes) {
		t.Errorf("probe times %v, want %v", times, wantTimes)
	}
	// Eager failures count for nothing; Docker's first and second probes
	// fail: unhealthy after 2 (Retries), no earlier than Docker.
	want := []HealthStatus{HealthStarting, HealthStarting, HealthStarting, HealthStarting, HealthStarting, HealthStarting, HealthUnhealthy, HealthUnhealthy}
	if !reflect.DeepEqual(statuses, want) {
		t.Errorf("statuses %v, want %v", statuses, want)
	}
	if h := p.Health(); len(h.Log) != 5 || h.FailingStreak != 3 {
		t.Errorf("log %d entries (want the last 5), streak %d (want 3)", len(h.Log), h.FailingStreak)
	}
}

func TestProberHealthyAtOnce(t *testing.T) {
	cfg := HealthConfig{Test: []string{"CMD", "x"}, Interval: 30 * time.Second, Timeout: time.Second, StartInterval: 5 * time.Second, Retries: 3}
	p := NewProber(cfg, time.Unix(100, 0), PaceEager, 0)
	times, statuses := probeRun(p, []bool{false, false, true, false})
	if statuses[2] != HealthHealthy || times[2] != 160*time.Millisecond {
		t.Errorf("third probe at %v: %v; want healthy at 160ms", times[2], statuses[2])
	}
	// Once healthy, the next probe comes one interval later, and a single
	// failure does not make it unhealthy.
	if times[3] != 160*time.Millisecond+5*time.Millisecond+30*time.Second || statuses[3] != HealthHealthy {
		t.Errorf("after healthy: probe at %v, status %v", times[3], statuses[3])
	}
}

func TestProberStartPeriod(t *testing.T) {
	cfg := HealthConfig{Test: []string{"CMD", "x"}, Interval: 10 * time.Second, Timeout: time.Second, StartPeriod: 3 * time.Second, StartInterval: time.Second, Retries: 1}
	p := NewProber(cfg, time.Unix(100, 0), PaceEager, 0)
	// Eager until 1 s (the start interval), then every start interval
	// until the start period ends, failures not counting; then counting.
	times, statuses := probeRun(p, []bool{false, false, false, false, false, false, false, false, false})
	ms := time.Millisecond
	want := []time.Duration{0, 55 * ms, 160 * ms, 365 * ms, 770 * ms, 1000 * ms, 2005 * ms, 3010 * ms, 13015 * ms}
	if !reflect.DeepEqual(times, want) {
		t.Errorf("times %v, want %v", times, want)
	}
	for i, s := range statuses {
		wantS := HealthStarting
		if i >= 7 {
			wantS = HealthUnhealthy
		}
		if s != wantS {
			t.Errorf("probe %d at %v: %s, want %s", i, times[i], s, wantS)
		}
	}
}

func TestRestarter(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tests := []struct {
		name   string
		policy compose.RestartPolicy
		exits  []int // exit codes, each after running 1 s
		manual bool
		want   []time.Duration // -1: no restart
	}{
		{"no", compose.RestartPolicy{Condition: "no"}, []int{1}, false, []time.Duration{-1}},
		{"always backs off", compose.RestartPolicy{Condition: "always"}, []int{0, 0, 1, 0}, false,
			[]time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}},
		{"on-failure:2", compose.RestartPolicy{Condition: "on-failure", MaxAttempts: 2}, []int{1, 0, 1, 1}, false,
			[]time.Duration{100 * time.Millisecond, -1, 200 * time.Millisecond, -1}},
		{"manual stop", compose.RestartPolicy{Condition: "always"}, []int{0}, true, []time.Duration{-1}},
		{"unless-stopped", compose.RestartPolicy{Condition: "unless-stopped"}, []int{137}, false, []time.Duration{100 * time.Millisecond}},
		{"fixed delay", compose.RestartPolicy{Condition: "always", Delay: 2 * time.Second}, []int{0, 0}, false, []time.Duration{2 * time.Second, 2 * time.Second}},
	}
	for _, tt := range tests {
		r := NewRestarter(tt.policy, 0)
		now := t0
		for i, code := range tt.exits {
			wait, ok := r.Exited(code, now, now.Add(time.Second), tt.manual)
			got := time.Duration(-1)
			if ok {
				got = wait
				r.Restarted()
			}
			if got != tt.want[i] {
				t.Errorf("%s: exit %d (#%d): wait %v, want %v", tt.name, code, i, got, tt.want[i])
			}
			now = now.Add(time.Second)
		}
	}
	// Backoff starts over once a container stayed up long enough, and is capped.
	r := NewRestarter(compose.RestartPolicy{Condition: "always"}, 0)
	for i := 0; i < 12; i++ {
		r.Exited(1, t0, t0.Add(time.Second), false)
		r.Restarted()
	}
	if wait, _ := r.Exited(1, t0, t0.Add(time.Second), false); wait != 30*time.Second {
		t.Errorf("capped backoff = %v, want 30s", wait)
	}
	if wait, _ := r.Exited(1, t0, t0.Add(11*time.Second), false); wait != 100*time.Millisecond {
		t.Errorf("backoff after 11 s up = %v, want 100ms", wait)
	}
	if r.Count != 12 {
		t.Errorf("count %d, want 12", r.Count)
	}
}

func TestShownHealth(t *testing.T) {
	start := time.Unix(1000, 0)
	cfg := HealthConfig{Test: []string{"CMD", "ok"}, Interval: 10 * time.Second, Timeout: 2 * time.Second, StartInterval: time.Second, Retries: 1}
	cfgJSON, _ := json.Marshal(cfg)
	healthy := Health{Status: HealthHealthy, Log: []ProbeResult{{Start: start.Add(time.Second), End: start.Add(2 * time.Second)}}}
	healthyJSON, _ := json.Marshal(healthy)
	starting, _ := json.Marshal(Health{Status: HealthStarting})
	container := func(health []byte) Container {
		l := compose.Labels{compose.LabelHealthcheck: string(cfgJSON)}
		if health != nil {
			l[compose.LabelHealth] = string(health)
		}
		return Container{State: StateRunning, StartedAt: start, Labels: l}
	}
	tests := []struct {
		name        string
		c           Container
		supervising bool
		at          time.Duration // after start
		want        HealthStatus
		wantOK      bool
	}{
		{"none recorded", container(nil), true, time.Second, "", false},
		{"fresh", container(healthyJSON), true, 3 * time.Second, HealthHealthy, true},
		// last probe ended at 2s: the next one ends by 2+2*10+2 s (an
		// interval, and its phase once), 5 s of slack.
		{"just in time", container(healthyJSON), true, 29 * time.Second, HealthHealthy, true},
		{"stale", container(healthyJSON), true, 30 * time.Second, HealthUnknown, true},
		{"not supervised", container(healthyJSON), false, 3 * time.Second, HealthUnknown, true},
		{"starting, not probed yet", container(starting), true, 5 * time.Second, HealthStarting, true},
		{"starting, never probed", container(starting), true, time.Minute, HealthUnknown, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, ok := ShownHealth(tt.c, tt.supervising, start.Add(tt.at))
			if ok != tt.wantOK || h.Status != tt.want {
				t.Errorf("ShownHealth = %q, %v; want %q, %v", h.Status, ok, tt.want, tt.wantOK)
			}
		})
	}
}

// TestProberPace: where probes fall with each pace and phase. Each probe
// starts when due and takes 5 ms.
func TestProberPace(t *testing.T) {
	ms := time.Millisecond
	second := HealthConfig{Test: []string{"CMD", "x"}, Interval: time.Second, Timeout: time.Second, StartInterval: 5 * time.Second, Retries: 2}
	startPeriod := HealthConfig{Test: []string{"CMD", "x"}, Interval: 10 * time.Second, Timeout: time.Second, StartPeriod: 3 * time.Second, StartInterval: time.Second, Retries: 1}
	S, H, U := HealthStarting, HealthHealthy, HealthUnhealthy
	tests := []struct {
		name      string
		cfg       HealthConfig
		pace      Pace
		phase     float64
		ok        []bool
		wantTimes []time.Duration
		want      []HealthStatus
	}{
		// Nobody waits: the first probe at the phase of the first interval
		// (its failure not counting: Docker has not probed yet), then one
		// interval after each; unhealthy no earlier than Docker (2.005 s).
		{"spread, failing", second, PaceSpread, 0.5, []bool{false, false, false},
			[]time.Duration{500 * ms, 1505 * ms, 2510 * ms}, []HealthStatus{S, S, U}},
		{"spread, healthy at its first probe", second, PaceSpread, 0.25, []bool{true, true},
			[]time.Duration{250 * ms, 1255 * ms}, []HealthStatus{H, H}},
		{"spread, no phase: as Docker but for a probe at the start", second, PaceSpread, 0, []bool{false, false, false},
			[]time.Duration{0, 1005 * ms, 2010 * ms}, []HealthStatus{S, S, U}},
		// With a start period, the phase falls in the start interval;
		// failures count once the start period is over.
		{"spread, start period", startPeriod, PaceSpread, 0.5, []bool{false, false, false, false, false},
			[]time.Duration{500 * ms, 1505 * ms, 2510 * ms, 3515 * ms, 13520 * ms}, []HealthStatus{S, S, S, U, U}},
		// Waited on: eager until healthy, then the first probe on the
		// interval moved by the phase, once.
		{"eager, then phased", second, PaceEager, 0.5, []bool{false, true, true, true},
			[]time.Duration{0, 55 * ms, 1560 * ms, 2565 * ms}, []HealthStatus{S, H, H, H}},
		// Eager failures until Docker's first probe, then the phase once:
		// later than Docker, never earlier.
		{"eager, failing, phased", second, PaceEager, 0.5, []bool{false, false, false, false, false, false, false},
			[]time.Duration{0, 55 * ms, 160 * ms, 365 * ms, 770 * ms, 1000 * ms, 2505 * ms}, []HealthStatus{S, S, S, S, S, S, U}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkProbeRun(t, NewProber(tt.cfg, time.Unix(100, 0), tt.pace, tt.phase), tt.ok, tt.wantTimes, tt.want)
		})
	}
}

// TestProberHurry: a spread prober turns eager when something starts
// waiting on it, only while its probes would not count yet.
func TestProberHurry(t *testing.T) {
	ms := time.Millisecond
	cfg := HealthConfig{Test: []string{"CMD", "x"}, Interval: time.Second, Timeout: time.Second, StartInterval: 5 * time.Second, Retries: 2}
	start := time.Unix(100, 0)

	p := NewProber(cfg, start, PaceSpread, 0.9)
	if got := p.Next().Sub(start); got != 900*ms {
		t.Fatalf("first probe at %v, want 900ms", got)
	}
	if !p.Hurry(start.Add(100 * ms)) {
		t.Fatal("Hurry at 100ms: false, want true")
	}
	if got := p.Next().Sub(start); got != 100*ms || p.Pace() != PaceEager {
		t.Errorf("after Hurry: next probe at %v (%s), want 100ms (eager)", got, p.Pace())
	}
	if p.Hurry(start.Add(150 * ms)) {
		t.Error("Hurry of an eager prober: true, want false")
	}
	times, _ := probeRun(p, []bool{false, false})
	if want := []time.Duration{100 * ms, 155 * ms}; !reflect.DeepEqual(times, want) {
		t.Errorf("probe times %v, want %v", times, want)
	}

	for _, tt := range []struct {
		name string
		ok   []bool
		at   time.Duration
	}{
		{"once Docker's first probe has come", nil, time.Second},
		{"once healthy", []bool{true}, 300 * ms},
	} {
		p := NewProber(cfg, start, PaceSpread, 0.2)
		probeRun(p, tt.ok)
		next := p.Next()
		if p.Hurry(start.Add(tt.at)) || p.Next() != next || p.Pace() != PaceSpread {
			t.Errorf("%s: Hurry changed the schedule (next %v, was %v; %s)", tt.name, p.Next().Sub(start), next.Sub(start), p.Pace())
		}
	}
}

// TestProberPressed: while a command waits, an eager prober also probes
// between its counted probes, at gaps from each counted one; only the
// counted probes' failures count, so it turns unhealthy when Docker
// would, and healthy at the first extra probe that passes.
func TestProberPressed(t *testing.T) {
	ms := time.Millisecond
	second := HealthConfig{Test: []string{"CMD", "x"}, Interval: time.Second, Timeout: time.Second, StartInterval: 5 * time.Second, Retries: 2}
	startPeriod := HealthConfig{Test: []string{"CMD", "x"}, Interval: 10 * time.Second, Timeout: time.Second, StartPeriod: 3 * time.Second, StartInterval: time.Second, Retries: 1}
	S, H, U := HealthStarting, HealthHealthy, HealthUnhealthy
	// Before Docker's first probe as when not pressed: 0, 55, 160, 365,
	// 770; the counted one at 1 s; then extras again from it.
	early := []time.Duration{0, 55 * ms, 160 * ms, 365 * ms, 770 * ms, 1000 * ms}
	tests := []struct {
		name      string
		cfg       HealthConfig
		pace      Pace
		ok        []bool
		wantTimes []time.Duration
		want      []HealthStatus
	}{
		{"failing: extras between the counted probes", second, PaceEager,
			[]bool{false, false, false, false, false, false, false, false, false, false, false, false},
			append(early, 1055*ms, 1160*ms, 1365*ms, 1770*ms, 2005*ms, 2060*ms),
			[]HealthStatus{S, S, S, S, S, S, S, S, S, S, U, U}},
		{"healthy at an extra after a counted failure", second, PaceEager,
			[]bool{false, false, false, false, false, false, false, true, true},
			append(early, 1055*ms, 1160*ms, 2165*ms),
			[]HealthStatus{S, S, S, S, S, S, S, H, H}},
		// In the start period the counted probes come every start
		// interval and their failures do not count; extras between them.
		{"start period", startPeriod, PaceEager,
			[]bool{false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false},
			append(early, 1055*ms, 1160*ms, 1365*ms, 1770*ms, 2005*ms, 2060*ms, 2165*ms, 2370*ms, 2775*ms, 3010*ms),
			[]HealthStatus{S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, U}},
		// A spread prober is not eager: pressing alone adds no probes.
		{"spread", second, PaceSpread, []bool{false, false, false},
			[]time.Duration{0, 1005 * ms, 2010 * ms}, []HealthStatus{S, S, U}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewProber(tt.cfg, time.Unix(100, 0), tt.pace, 0)
			p.Press(true)
			checkProbeRun(t, p, tt.ok, tt.wantTimes, tt.want)
		})
	}
}

// TestProberReleased: when the command waiting goes, the next probe is
// the counted one; extras before Docker's first probe stay.
func TestProberReleased(t *testing.T) {
	ms := time.Millisecond
	cfg := HealthConfig{Test: []string{"CMD", "x"}, Interval: time.Second, Timeout: time.Second, StartInterval: 5 * time.Second, Retries: 2}
	start := time.Unix(100, 0)

	p := NewProber(cfg, start, PaceEager, 0)
	p.Press(true)
	probeRun(p, []bool{false, false, false, false, false, false, false}) // ... 1000, 1055
	if got := p.Next().Sub(start); got != 1160*ms {
		t.Fatalf("pressed: next probe at %v, want 1.16s", got)
	}
	p.Press(false)
	if got := p.Next().Sub(start); got != 2005*ms {
		t.Errorf("released: next probe at %v, want the counted one at 2.005s", got)
	}
	times, _ := probeRun(p, []bool{false})
	if times[0] != 2005*ms || p.Next().Sub(start) != 3010*ms {
		t.Errorf("released: probe at %v, next at %v; want 2.005s, then 3.01s", times[0], p.Next().Sub(start))
	}

	p = NewProber(cfg, start, PaceEager, 0)
	p.Press(true)
	probeRun(p, []bool{false, false}) // 0, 55
	p.Press(false)
	if got := p.Next().Sub(start); got != 160*ms {
		t.Errorf("released before Docker's first probe: next at %v, want 160ms (still early)", got)
	}

	// Pressed, a spread prober past Docker's first probe can still be
	// hurried: a command waits on it.
	p = NewProber(cfg, start, PaceSpread, 0.5)
	probeRun(p, []bool{false, false}) // 500, 1505
	p.Press(true)
	if !p.Hurry(start.Add(1600*ms)) || p.Next().Sub(start) != 1600*ms {
		t.Errorf("pressed spread prober past its first counted probe: Hurry did not probe at once (next %v)", p.Next().Sub(start))
	}
}
