package containerd

import (
	"testing"
	"time"
)

func TestPublishDeadline(t *testing.T) {
	now := time.Date(2026, 12, 6, 15, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		exitedAt time.Time
		want     time.Duration
	}{
		{"unknown exit time", time.Time{}, exitPublishWait},
		{"exit just now", now, exitPublishWait},
		{"exit half a second ago", now.Add(-500 * time.Millisecond), exitPublishWait - 500*time.Millisecond},
		{"exit long ago", now.Add(-time.Minute), exitPublishWait - time.Minute},
		{"exit time ahead of the clock", now.Add(time.Second), exitPublishWait},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := publishDeadline(tt.exitedAt, now); got != tt.want {
				t.Errorf("publishDeadline = %v, want %v", got, tt.want)
			}
		})
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestExitWatch(t *testing.T) {
	now := time.Date(2026, 12, 6, 15, 0, 0, 0, time.UTC)

	t.Run("exit published before the wait", func(t *testing.T) {
		var w exitWatch
		w.record("a", now)
		ch, done := w.published("a")
		defer done()
		if !isClosed(ch) {
			t.Fatal("the wait on an exit published already did not end at once")
		}
		// Taken by that wait: a later task of the same container waits
		// for its own exit.
		ch2, done2 := w.published("a")
		defer done2()
		if isClosed(ch2) {
			t.Fatal("a second wait ended on the first exit")
		}
	})

	t.Run("exit published during the wait", func(t *testing.T) {
		var w exitWatch
		ch, done := w.published("a")
		other, doneOther := w.published("b")
		defer doneOther()
		if isClosed(ch) {
			t.Fatal("the wait ended before any exit")
		}
		w.record("a", now)
		if !isClosed(ch) {
			t.Fatal("the wait did not end on its exit")
		}
		if isClosed(other) {
			t.Fatal("another container's wait ended on a's exit")
		}
		done()
		if _, ok := w.seen["a"]; ok {
			t.Error("an exit handed to a waiter is also kept")
		}
	})

	t.Run("an abandoned wait leaves nothing", func(t *testing.T) {
		var w exitWatch
		_, done := w.published("a")
		done()
		if len(w.waiters) != 0 {
			t.Errorf("waiters left: %v", w.waiters)
		}
		w.record("a", now)
		if _, ok := w.seen["a"]; !ok {
			t.Error("the exit of a container nobody waits for any more is not kept for the next wait")
		}
	})

	t.Run("old exits nobody waited for are dropped", func(t *testing.T) {
		var w exitWatch
		w.record("old", now)
		w.record("recent", now.Add(2*exitPublishWait))
		w.record("new", now.Add(2*exitPublishWait+time.Millisecond))
		if _, ok := w.seen["old"]; ok {
			t.Error("an exit older than twice exitPublishWait is still kept")
		}
		for _, id := range []string{"recent", "new"} {
			if _, ok := w.seen[id]; !ok {
				t.Errorf("exit of %s dropped", id)
			}
		}
	})
}
