package kube

import (
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth/berth/compose"
)

// Docker's healthcheck defaults.
const (
	defaultInterval      = 30 * time.Second
	defaultTimeout       = 30 * time.Second
	defaultRetries       = 3
	defaultStartInterval = 5 * time.Second
)

// probes maps the healthcheck to exec readiness and liveness probes
// (period = interval, timeout, failureThreshold = retries), and a
// start_period to a startup probe that runs every start_interval and
// tolerates start_period's failures plus retries, as Docker counts them.
func (c *converter) probes(s *compose.Service) (readiness, liveness, startup *corev1.Probe) {
	h := s.Healthcheck
	if h == nil || h.Disable {
		return nil, nil, nil
	}
	var cmd []string
	switch {
	case len(h.Test) == 0:
		c.warnf(s.Name, "healthcheck without test: the image's HEALTHCHECK applies on one machine, but Kubernetes ignores it; give test: to get probes")
		return nil, nil, nil
	case h.Test[0] == "NONE":
		return nil, nil, nil
	case h.Test[0] == "CMD":
		cmd = h.Test[1:]
	case h.Test[0] == "CMD-SHELL" && len(h.Test) == 2:
		cmd = []string{"/bin/sh", "-c", h.Test[1]}
	default:
		c.refusef(s.Name, "healthcheck test %q: start it with CMD or CMD-SHELL", h.Test)
		return nil, nil, nil
	}
	dur := func(d *time.Duration, def time.Duration) time.Duration {
		if d == nil || *d <= 0 {
			return def
		}
		return *d
	}
	interval, timeout := dur(h.Interval, defaultInterval), dur(h.Timeout, defaultTimeout)
	retries := defaultRetries
	if h.Retries != nil && *h.Retries > 0 {
		retries = *h.Retries
	}
	probe := func(period time.Duration, failures int32) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler:     corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: cmd}},
			PeriodSeconds:    seconds(period.Seconds(), 1),
			TimeoutSeconds:   seconds(timeout.Seconds(), 1),
			FailureThreshold: failures,
			SuccessThreshold: 1,
		}
	}
	readiness, liveness = probe(interval, int32(retries)), probe(interval, int32(retries))
	if start := dur(h.StartPeriod, 0); start > 0 {
		every := dur(h.StartInterval, defaultStartInterval)
		startup = probe(every, seconds(start.Seconds()/every.Seconds(), 1)+int32(retries))
	}
	return readiness, liveness, startup
}
