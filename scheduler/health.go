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
// than the next one could be (interval, timeout and some slack after it,
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
	if !last.IsZero() && now.Sub(last) > max(cfg.Interval, cfg.StartInterval)+cfg.Timeout+healthSlack {
		h.Status = HealthUnknown
	}
	return h, true
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

// Prober schedules one container's probes and judges their results.
//
// It probes eagerly: right after the start, then at gaps of 50 ms, 100 ms,
// 200 ms ... until the moment Docker would run its first probe (one
// interval after the start, or one start interval when there is a start
// period). A success marks the container healthy at once; a failure in
// that eager phase counts for nothing. From then on it probes as Docker
// does: one (start) interval after the previous probe ended, failures in
// the start period not counting until a probe has succeeded, and Retries
// failures in a row making the container unhealthy. So berth never calls a
// container unhealthy earlier than Docker would, and calls it healthy as
// soon as it is.
type Prober struct {
	cfg     HealthConfig
	started time.Time
	// dockerFirst is when Docker's first probe would run.
	dockerFirst time.Time
	gap         time.Duration
	next        time.Time
	// succeeded is set once a probe passed: the start period is over.
	succeeded bool
	health    Health
}

// NewProber starts judging a container that started at started.
func NewProber(cfg HealthConfig, started time.Time) *Prober {
	first := cfg.Interval
	if cfg.StartPeriod > 0 {
		first = cfg.StartInterval
	}
	return &Prober{
		cfg:         cfg,
		started:     started,
		dockerFirst: started.Add(first),
		gap:         firstEagerGap,
		next:        started,
		health:      Health{Status: HealthStarting},
	}
}

// Config is the healthcheck the prober runs.
func (p *Prober) Config() HealthConfig { return p.cfg }

// Next is when the next probe is due.
func (p *Prober) Next() time.Time { return p.next }

// Health is the container's health so far.
func (p *Prober) Health() Health {
	h := p.health
	h.Log = append([]ProbeResult{}, p.health.Log...)
	return h
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
	eager := r.Start.Before(p.dockerFirst)
	inStart := r.Start.Before(p.started.Add(p.cfg.StartPeriod))
	switch {
	case r.ExitCode == 0:
		p.health.Status = HealthHealthy
		p.health.FailingStreak = 0
		p.succeeded = true
	case eager:
		// Docker would not have probed yet: nothing to count.
	case inStart && !p.succeeded:
		// Failures in the start period do not count.
	default:
		p.health.FailingStreak++
		if p.health.FailingStreak >= p.cfg.Retries {
			p.health.Status = HealthUnhealthy
		}
	}

	switch {
	case eager && !p.succeeded:
		p.next = r.End.Add(p.gap)
		p.gap *= 2
		if p.next.After(p.dockerFirst) {
			p.next = p.dockerFirst
		}
	case inStart && !p.succeeded:
		p.next = r.End.Add(p.cfg.StartInterval)
	default:
		p.next = r.End.Add(p.cfg.Interval)
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
