// Package report assembles the readiness report of a bring-up (berth up
// --wait --report): when each container was created, started, probed and
// became healthy, what each service waited on, the pulls and builds, and
// the critical path that decided the total. It is built from the
// scheduler's progress events and timing marks, stamped as they arrive.
package report

import (
	"sync"
	"time"

	"github.com/berth/berth/scheduler"
)

// Clock is the recorder's time: the wall clock in berth, fake in tests.
type Clock interface {
	Now() time.Time
}

// Entry is one event or mark with the time it was received; exactly one
// of Event and Mark is set.
type Entry struct {
	At    time.Time
	Event *scheduler.Event
	Mark  *scheduler.Mark
}

// Recorder keeps the events and marks of a bring-up with their times. It
// is a scheduler.Events and a scheduler.Marker, safe for concurrent use.
type Recorder struct {
	clock Clock

	mu      sync.Mutex // guards following
	entries []Entry
}

var (
	_ scheduler.Events = (*Recorder)(nil)
	_ scheduler.Marker = (*Recorder)(nil)
)

// NewRecorder returns a Recorder stamping with clock.
func NewRecorder(clock Clock) *Recorder {
	return &Recorder{clock: clock}
}

// Emit records e, except the byte counts of layer downloads: the report
// times whole pulls.
func (r *Recorder) Emit(e scheduler.Event) {
	if e.Kind == scheduler.KindLayer {
		return
	}
	r.add(Entry{Event: &e})
}

// Mark records m.
func (r *Recorder) Mark(m scheduler.Mark) {
	r.add(Entry{Mark: &m})
}

func (r *Recorder) add(e Entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e.At = r.clock.Now()
	r.entries = append(r.entries, e)
}

// Entries are the entries recorded so far, in the order received.
func (r *Recorder) Entries() []Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Entry(nil), r.entries...)
}
