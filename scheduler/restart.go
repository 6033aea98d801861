package scheduler

import (
	"time"

	"github.com/berth/berth/compose"
)

const (
	// firstBackoff is the wait before the first restart; it doubles.
	firstBackoff = 100 * time.Millisecond
	// maxBackoff caps the wait between restarts.
	maxBackoff = 30 * time.Second
	// stableAfter is how long a container must stay up for its backoff
	// to start over.
	stableAfter = 10 * time.Second
)

// Restarter applies one container's restart policy to its exits.
type Restarter struct {
	policy compose.RestartPolicy
	// Count is how many times it was restarted.
	Count int
	// streak counts restarts since the container last stayed up.
	streak int
}

// NewRestarter starts with the restarts a container already had.
func NewRestarter(p compose.RestartPolicy, count int) *Restarter {
	return &Restarter{policy: p, Count: count}
}

// Exited decides what to do after the container's process exited with
// code, having run since started: restart after the returned wait, or not
// (manual means a stop or kill asked for it, which no policy undoes).
func (r *Restarter) Exited(code int, started, exited time.Time, manual bool) (time.Duration, bool) {
	window := r.policy.Window
	if window == 0 {
		window = stableAfter
	}
	if !started.IsZero() && exited.Sub(started) >= window {
		r.streak = 0
	}
	switch {
	case manual:
		return 0, false
	case r.policy.Condition == compose.RestartAlways, r.policy.Condition == compose.RestartUnlessStopped:
	case r.policy.Condition == compose.RestartOnFailure && code != 0:
		if r.policy.MaxAttempts > 0 && r.Count >= r.policy.MaxAttempts {
			return 0, false
		}
	default:
		return 0, false
	}
	wait := r.policy.Delay
	if wait == 0 {
		wait = firstBackoff << min(r.streak, 20)
		if wait > maxBackoff {
			wait = maxBackoff
		}
	}
	return wait, true
}

// Restarted records a restart.
func (r *Restarter) Restarted() {
	r.Count++
	r.streak++
}
