package netbridge

import (
	"errors"
	"testing"
	"time"
)

// TestAwaitStart: a daemon found running returns at once, even when the
// deadline (counted from its start) passed while up was building; one
// that exited or never ran fails.
func TestAwaitStart(t *testing.T) {
	exitErr := errors.New("exit status 1")
	for _, tc := range []struct {
		name        string
		runningFrom int // the look (0 = the first) from which running reports true; -1 never
		exited      bool
		pastDue     bool
		want        error
	}{
		{name: "running at once, deadline long past", runningFrom: 0, pastDue: true},
		{name: "running at the third look", runningFrom: 2},
		{name: "running only at the deadline's look", runningFrom: 1, pastDue: true},
		{name: "exited", runningFrom: -1, exited: true, want: exitErr},
		{name: "never running", runningFrom: -1, pastDue: true, want: errNotStarted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exited := make(chan error, 1)
			if tc.exited {
				exited <- exitErr
			}
			looks := 0
			running := func() bool {
				looks++
				return tc.runningFrom >= 0 && looks > tc.runningFrom
			}
			deadline := make(chan time.Time, 1)
			if tc.pastDue {
				deadline <- time.Time{}
			}
			tick := make(chan time.Time, 10)
			for range 10 {
				tick <- time.Time{}
			}
			if err := awaitStart(exited, running, deadline, tick); !errors.Is(err, tc.want) {
				t.Errorf("awaitStart = %v, want %v", err, tc.want)
			}
		})
	}
}
