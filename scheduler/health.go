package scheduler

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/berth/berth/compose"
)

// Docker's healthcheck defaults.
const (
	DefaultHealthInterval      = 30 * time.Second
	DefaultHealthTimeout       = 30 * time.Second
	DefaultHealthStartInterval = 5 * time.Second
	DefaultHealthRetries       = 3
	// healthLogSize is how many probe results are kept, as in Docker.
	healthLogSize = 5
	// firstEagerGap is the gap after the first eager probe; it doubles.
	firstEagerGap = 50 * time.Millisecond
)

// HealthConfig is a container's effective healthcheck.
type HealthConfig struct {
	// Test is ["CMD", args...] or ["CMD-SHELL", command].
	Test          []string      `json:"test"`
	Interval      time.Duration `json:"interval"`
	Timeout       time.Duration `json:"timeout"`
	StartPeriod   time.Duration `json:"start_period,omitempty"`
	StartInterval time.Duration `json:"start_interval"`
	Retries       int           `json:"retries"`
}

// EffectiveHealth merges a service's healthcheck over its image's (either
// may be nil) and fills Docker's defaults. It returns nil when no check
// applies: none given, NONE, or disable.
func EffectiveHealth(svc, image *compose.Healthcheck) *HealthConfig {
	if svc != nil && svc.Disable {
		return nil
	}
	var test []string
	cfg := HealthConfig{}
	for _, h := range []*compose.Healthcheck{image, svc} {
		if h == nil {
			continue
		}
		if len(h.Test) > 0 {
			test = h.Test
		}
		if h.Interval != nil && *h.Interval > 0 {
			cfg.Interval = *h.Interval
		}
		if h.Timeout != nil && *h.Timeout > 0 {
			cfg.Timeout = *h.Timeout
		}
		if h.StartPeriod != nil {
			cfg.StartPeriod = *h.StartPeriod
		}
		if h.StartInterval != nil && *h.StartInterval > 0 {
			cfg.StartInterval = *h.StartInterval
		}
		if h.Retries != nil && *h.Retries > 0 {
			cfg.Retries = *h.Retries
		}
	}
	if len(test) == 0 || test[0] == "NONE" {
		return nil
	}
	if test[0] != "CMD" && test[0] != "CMD-SHELL" {
		test = append([]string{"CMD"}, test...) // an exec form written without CMD
	}
	cfg.Test = append([]string{}, test...)
	if cfg.Interval == 0 {
		cfg.Interval = DefaultHealthInterval
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultHealthTimeout
	}
	if cfg.StartInterval == 0 {
		cfg.StartInterval = DefaultHealthStartInterval
	}
	if cfg.Retries == 0 {
		cfg.Retries = DefaultHealthRetries
	}
	return &cfg
}

// HealthStatus is a container's health as Docker names it.
type HealthStatus string

const (
	HealthStarting  HealthStatus = "starting"
	HealthHealthy   HealthStatus = "healthy"
	HealthUnhealthy HealthStatus = "unhealthy"
	// HealthUnknown is shown, never recorded, for a health nobody checks
	// now: see ShownHealth. Docker has no such status (its daemon and its
	// probes die together).
	HealthUnknown HealthStatus = "unknown"
)

// healthSlack is how late a probe may be, beyond its interval and
// timeout, before the health it recorded last is called stale.
const healthSlack = 5 * time.Second

// ShownHealth is the health to show of a running container at now. The
// recorded health is only as true as the supervision that keeps it: when
// the project's supervisor is not supervising (its process is gone, or it
// lost containerd and is connecting again) or the last probe is older
// than the next one could be (maxProbeGap, timeout and some slack after it,
// or after the start when nothing was probed yet: a supervisor that hangs,
// or was away), the status shown is unknown, not a stale "healthy". ok is
// false when the container has no recorded health.
func ShownHealth(c Container, supervising bool, now time.Time) (Health, bool) {
	h, ok := HealthOf(c.Labels)
	if !ok {
		return Health{}, false
	}
	if !supervising {
		h.Status = HealthUnknown
		return h, true
	}
	cfg, err := HealthcheckOf(c.Labels)
	if err != nil || cfg == nil {
		return h, true
	}
	last := c.StartedAt
	if n := len(h.Log); n > 0 && h.Log[n-1].End.After(last) {
		last = h.Log[n-1].End
	}
	if !last.IsZero() && now.Sub(last) > maxProbeGap(*cfg)+cfg.Timeout+healthSlack {
		h.Status = HealthUnknown
	}
	return h, true
}

// maxProbeGap is the longest a prober leaves between the end of a probe
// (or the start) and the next probe: an interval, and once, the phase on
// top (see Prober), or a start interval.
func maxProbeGap(cfg HealthConfig) time.Duration {
	return max(2*cfg.Interval, cfg.StartInterval)
}

// ProbeResult is one run of a healthcheck.
type ProbeResult struct {
	Start    time.Time `json:"Start"`
	End      time.Time `json:"End"`
	ExitCode int       `json:"ExitCode"`
	Output   string    `json:"Output"`
}

// Health is a container's health: its status, the failures in a row that
// count, and the last results. Its JSON is Docker's.
type Health struct {
	Status        HealthStatus  `json:"Status"`
	FailingStreak int           `json:"FailingStreak"`
	Log           []ProbeResult `json:"Log"`
}

// Pace says how soon after a start a prober probes.
type Pace int

const (
	// PaceSpread is for a container whose health nobody waits for: its
	// first probe comes at a random point of its first interval (its
	// phase), and the next ones one interval after the end of the one
	// before, as Docker's; the containers of a stack that started
	// together do not all probe at the same moments.
	PaceSpread Pace = iota
	// PaceEager is for a container something waits on (a dependent with
	// condition service_healthy, up --wait): it is probed right after its
	// start, then at gaps of 50 ms, 100 ms, 200 ms ... until the moment
	// Docker would run its first probe, so that the waiter learns of its
	// health as soon as it is healthy.
	PaceEager
)

func (p Pace) String() string {
	if p == PaceEager {
		return "eager"
	}
	return "spread"
}

// Prober schedules one container's probes and judges their results.
//
// Docker probes one interval after the start (one start interval when
// there is a start period), then one interval (start interval) after the
// end of each probe. The prober judges those probes, its counted ones, as
// Docker does: failures in the start period not counting until a probe
// has succeeded, and Retries failures in a row making the container
// unhealthy. Its counted probes come no earlier than Docker's would (the
// phase may make them later, by less than one interval). Probes between
// them (see Pace and Press) count only when they succeed: a success marks
// the container healthy at once, a failure counts for nothing. So berth
// never calls a container unhealthy earlier than Docker would, and calls
// it healthy as soon as a probe shows it.
type Prober struct {
	cfg     HealthConfig
	pace    Pace
	started time.Time
	// dockerFirst is when Docker's first probe would run.
	dockerFirst time.Time
	// counted is when the next counted probe is due: a probe that starts
	// earlier is an extra one.
	counted time.Time
	gap     time.Duration
	next    time.Time
	// pressed is set while a command waits on the container's health.
	pressed bool
	// phase, in [0, 1), is where in its interval this container's probes
	// fall; phased is set once it has moved the probes (PaceSpread: from
	// the start; PaceEager: at the first probe on the interval).
	phase  float64
	phased bool
	// succeeded is set once a probe passed: the start period is over.
	succeeded bool
	health    Health
}

// NewProber starts judging a container that started at started, probing
// at pace; phase, in [0, 1), places its probes in their interval (0: at
// its start, as Docker's).
func NewProber(cfg HealthConfig, started time.Time, pace Pace, phase float64) *Prober {
	first := cfg.Interval
	if cfg.StartPeriod > 0 {
		first = cfg.StartInterval
	}
	phase = min(max(phase, 0), 1)
	p := &Prober{
		cfg:         cfg,
		pace:        pace,
		started:     started,
		dockerFirst: started.Add(first),
		counted:     started.Add(first),
		gap:         firstEagerGap,
		next:        started,
		phase:       phase,
		health:      Health{Status: HealthStarting},
	}
	if pace == PaceSpread {
		p.next = started.Add(time.Duration(phase * float64(first)))
		p.phased = true
	}
	return p
}

// Config is the healthcheck the prober runs.
func (p *Prober) Config() HealthConfig { return p.cfg }

// Next is when the next probe is due.
func (p *Prober) Next() time.Time { return p.next }

// Pace is how the prober probes now.
func (p *Prober) Pace() Pace { return p.pace }

// Health is the container's health so far.
func (p *Prober) Health() Health {
	h := p.health
	h.Log = append([]ProbeResult{}, p.health.Log...)
	return h
}

// Hurry turns a spread prober eager at now, when something starts to wait
// on its container: it probes at once, then eagerly, as long as no probe
// has passed and either Docker's first probe has not come or a command
// presses (see Press). It reports whether it changed the schedule.
func (p *Prober) Hurry(now time.Time) bool {
	if p.pace == PaceEager || p.succeeded || (!now.Before(p.dockerFirst) && !p.pressed) {
		return false
	}
	p.pace = PaceEager
	p.gap = firstEagerGap
	p.phased = false
	if now.Before(p.next) {
		p.next = now
	}
	return true
}

// Press says whether a command waits on the container's health now (up
// --wait, an up or run starting a service that needs it healthy). While
// one does and no probe has passed, an eager prober goes on probing
// between the counted probes too, at gaps of 50 ms, 100 ms, 200 ms ...
// from each counted one: a dependency that comes up just after a failed
// counted probe is seen within a fraction of the interval, not one
// interval later, and a failure still counts no sooner than in Docker.
// Without a command waiting, only the probes before Docker's first are
// extra. A prober no longer pressed probes next at its counted time.
func (p *Prober) Press(waited bool) {
	if p.pressed && !waited && p.next.Before(p.counted) && !p.next.Before(p.dockerFirst) {
		p.next = p.counted
	}
	p.pressed = waited
}

// adopt takes over the health a container had under an earlier
// supervisor.
func (p *Prober) adopt(h Health) {
	p.health = h
	if len(p.health.Log) > healthLogSize {
		p.health.Log = p.health.Log[len(p.health.Log)-healthLogSize:]
	}
	if h.Status == HealthHealthy {
		p.succeeded = true
	}
}

// Record judges a probe's result and schedules the next probe. It reports
// whether the health changed in a way others wait on (status or streak).
func (p *Prober) Record(r ProbeResult) bool {
	before := p.health
	p.health.Log = append(p.health.Log, r)
	if len(p.health.Log) > healthLogSize {
		p.health.Log = p.health.Log[len(p.health.Log)-healthLogSize:]
	}
	counts := !r.Start.Before(p.counted)
	inStart := r.Start.Before(p.started.Add(p.cfg.StartPeriod))
	switch {
	case r.ExitCode == 0:
		p.health.Status = HealthHealthy
		p.health.FailingStreak = 0
		p.succeeded = true
	case !counts:
		// Docker would not have probed yet: nothing to count.
	case inStart && !p.succeeded:
		// Failures in the start period do not count.
	default:
		p.health.FailingStreak++
		if p.health.FailingStreak >= p.cfg.Retries {
			p.health.Status = HealthUnhealthy
		}
	}

	if counts || p.succeeded || p.pace != PaceEager {
		// When Docker would probe next (a spread prober's uncounted first
		// probe keeps its phase: the next comes one interval after it).
		if inStart && !p.succeeded {
			p.counted = r.End.Add(p.cfg.StartInterval)
		} else {
			p.counted = r.End.Add(p.cfg.Interval)
			if !p.phased {
				// The first probe on the interval after eager ones: moved
				// by the phase, once, so that containers that turned
				// healthy together do not go on probing together.
				p.counted = p.counted.Add(time.Duration(p.phase * float64(p.cfg.Interval)))
				p.phased = true
			}
		}
		p.gap = firstEagerGap
	}
	p.next = p.counted
	if p.pace == PaceEager && !p.succeeded && (r.Start.Before(p.dockerFirst) || p.pressed) {
		if extra := r.End.Add(p.gap); extra.Before(p.counted) {
			p.next = extra
			p.gap *= 2
		}
	}
	return p.health.Status != before.Status || p.health.FailingStreak != before.FailingStreak
}

// HealthcheckOf reads a container's effective healthcheck from its labels;
// nil when it has none.
func HealthcheckOf(l compose.Labels) (*HealthConfig, error) {
	v := l[compose.LabelHealthcheck]
	if v == "" {
		return nil, nil
	}
	var cfg HealthConfig
	if err := json.Unmarshal([]byte(v), &cfg); err != nil {
		return nil, fmt.Errorf("label %s: %w", compose.LabelHealthcheck, err)
	}
	return &cfg, nil
}

// HealthOf reads a container's recorded health from its labels.
func HealthOf(l compose.Labels) (Health, bool) {
	v := l[compose.LabelHealth]
	if v == "" {
		return Health{}, false
	}
	var h Health
	if err := json.Unmarshal([]byte(v), &h); err != nil {
		return Health{}, false
	}
	return h, true
}
