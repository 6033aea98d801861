package compose

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
)

// Healthcheck is a service's healthcheck as written. Unset fields take the
// image's HEALTHCHECK, then Docker's defaults.
type Healthcheck struct {
	// Test is ["CMD", args...], ["CMD-SHELL", command] or ["NONE"]; nil
	// keeps the image's test.
	Test                                          []string
	Interval, Timeout, StartPeriod, StartInterval *time.Duration
	Retries                                       *int
	// Disable turns the image's healthcheck off.
	Disable bool
}

// Restart conditions, as restart: and deploy.restart_policy name them.
const (
	RestartNo            = "no"
	RestartAlways        = "always"
	RestartOnFailure     = "on-failure"
	RestartUnlessStopped = "unless-stopped"
)

// RestartPolicy says when a container whose process exited is started
// again.
type RestartPolicy struct {
	Condition string
	// MaxAttempts bounds the restarts (on-failure:N, max_attempts); 0 is
	// no bound.
	MaxAttempts int
	// Delay is a fixed wait before each restart; 0 means berth's backoff.
	Delay time.Duration
	// Window is how long a restart must stay up to count as a success
	// (deploy.restart_policy.window); 0 is berth's 10 s.
	Window time.Duration
}

func healthcheckOf(h *types.HealthCheckConfig) *Healthcheck {
	if h == nil {
		return nil
	}
	out := &Healthcheck{Disable: h.Disable}
	if h.Test != nil {
		out.Test = append([]string{}, h.Test...)
	}
	dur := func(d *types.Duration) *time.Duration {
		if d == nil {
			return nil
		}
		v := time.Duration(*d)
		return &v
	}
	out.Interval, out.Timeout, out.StartPeriod, out.StartInterval = dur(h.Interval), dur(h.Timeout), dur(h.StartPeriod), dur(h.StartInterval)
	if h.Retries != nil {
		r := int(*h.Retries)
		out.Retries = &r
	}
	return out
}

// restartOf reads restart: ("no", "always", "on-failure[:N]",
// "unless-stopped") and deploy.restart_policy, which wins when both are
// given, as in docker compose.
func restartOf(sc types.ServiceConfig) (RestartPolicy, error) {
	p := RestartPolicy{Condition: RestartNo}
	if r := sc.Restart; r != "" {
		cond, max, hasMax := strings.Cut(r, ":")
		switch cond {
		case RestartNo, RestartAlways, RestartUnlessStopped:
			if hasMax {
				return p, fmt.Errorf("restart %q: only on-failure takes a maximum", r)
			}
		case RestartOnFailure:
			if hasMax {
				n, err := strconv.Atoi(max)
				if err != nil || n < 0 {
					return p, fmt.Errorf("restart %q: the maximum must be a number, as in on-failure:3", r)
				}
				p.MaxAttempts = n
			}
		default:
			return p, fmt.Errorf("restart %q: use no, always, on-failure[:N] or unless-stopped", r)
		}
		p.Condition = cond
	}
	if sc.Deploy != nil && sc.Deploy.RestartPolicy != nil {
		rp := sc.Deploy.RestartPolicy
		switch rp.Condition {
		case "none":
			p.Condition = RestartNo
		case "on-failure":
			p.Condition = RestartOnFailure
		case "any", "":
			p.Condition = RestartAlways
		default:
			return p, fmt.Errorf("deploy.restart_policy.condition %q: use none, on-failure or any", rp.Condition)
		}
		if rp.MaxAttempts != nil {
			p.MaxAttempts = int(*rp.MaxAttempts)
		}
		if rp.Delay != nil {
			p.Delay = time.Duration(*rp.Delay)
		}
		if rp.Window != nil {
			p.Window = time.Duration(*rp.Window)
		}
	}
	return p, nil
}
