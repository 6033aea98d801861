package stats

import (
	"context"
	"time"

	"github.com/berth/berth/scheduler"
)

// Source reads a sample of each container to show: those running now.
type Source func(ctx context.Context) ([]Sample, error)

// Watcher samples containers at an interval and hands the rows on.
type Watcher struct {
	// Clock is the time Watcher waits on: real in berth, fake in tests.
	Clock  scheduler.Clock
	Source Source
	// Interval is the time between samples (docker stats: one second).
	Interval time.Duration
	// HostMem is the host's memory, the limit of containers with none.
	HostMem uint64
	// Once shows a single set of rows (--no-stream); otherwise Run shows
	// a set every interval until ctx ends.
	Once bool
}

// Run takes a first sample, then every interval another, and calls show
// with a row per container of the new sample, its CPU use computed from
// the one before: so the first rows come after one interval. A container
// that first appears in a sample shows 0% CPU until its next one. Run
// returns ctx's error when ctx ends, or show's or the source's error.
func (w Watcher) Run(ctx context.Context, show func([]Row) error) error {
	first, err := w.read(ctx)
	if err != nil {
		return err
	}
	prev := byID(first)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-w.Clock.After(w.Interval):
		}
		cur, err := w.read(ctx)
		if err != nil {
			return err
		}
		rows := make([]Row, 0, len(cur))
		for _, s := range cur {
			var before *Sample
			if p, ok := prev[s.ID]; ok {
				before = &p
			}
			rows = append(rows, MakeRow(before, s, w.HostMem))
		}
		if err := show(rows); err != nil {
			return err
		}
		if w.Once {
			return nil
		}
		prev = byID(cur)
	}
}

func byID(samples []Sample) map[string]Sample {
	m := make(map[string]Sample, len(samples))
	for _, s := range samples {
		m[s.ID] = s
	}
	return m
}

// read takes a sample, in the source's order, stamped with the clock's
// time where the source gave none.
func (w Watcher) read(ctx context.Context) ([]Sample, error) {
	samples, err := w.Source(ctx)
	if err != nil {
		return nil, err
	}
	now := w.Clock.Now()
	for i := range samples {
		if samples[i].At.IsZero() {
			samples[i].At = now
		}
	}
	return samples, nil
}
