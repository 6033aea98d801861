package watch

import (
	"sort"
	"time"
)

// DefaultQuiet is how long the files must be left alone before the
// changes are acted on. docker compose waits 500 ms; berth waits less so
// that a sync lands in the container within 100 ms of the write, which is
// still long enough to gather the burst of events of one save (write,
// rename, chmod) or of a checkout into one action.
const DefaultQuiet = 50 * time.Millisecond

// DefaultMaxWait caps the wait: files that never stop changing (a log
// written into a watched directory) are still acted on this long after
// the first change.
const DefaultMaxWait = time.Second

// batcher gathers the changed paths by rule until the files have been
// quiet for quiet (or maxWait has passed since the first change). It is
// given the time of each call, so tests need no clock.
type batcher struct {
	quiet, maxWait time.Duration
	pending        map[*rule]map[string]bool
	first, last    time.Time
}

func newBatcher(quiet, maxWait time.Duration) *batcher {
	return &batcher{quiet: quiet, maxWait: maxWait, pending: map[*rule]map[string]bool{}}
}

// add records a change of path p for rule r at now.
func (b *batcher) add(now time.Time, r *rule, p string) {
	if len(b.pending) == 0 {
		b.first = now
	}
	b.last = now
	if b.pending[r] == nil {
		b.pending[r] = map[string]bool{}
	}
	b.pending[r][p] = true
}

// deadline is when the pending changes are due, and false when there are none.
func (b *batcher) deadline() (time.Time, bool) {
	if len(b.pending) == 0 {
		return time.Time{}, false
	}
	d := b.last.Add(b.quiet)
	if max := b.first.Add(b.maxWait); max.Before(d) {
		d = max
	}
	return d, true
}

// batch is the changes of one rule, paths sorted.
type batch struct {
	rule  *rule
	paths []string
}

// take returns the pending changes if they are due at now, one batch a
// rule in the order of the services and their rules, and forgets them.
func (b *batcher) take(now time.Time) []batch {
	d, ok := b.deadline()
	if !ok || now.Before(d) {
		return nil
	}
	out := make([]batch, 0, len(b.pending))
	for r, ps := range b.pending {
		bt := batch{rule: r}
		for p := range ps {
			bt.paths = append(bt.paths, p)
		}
		sort.Strings(bt.paths)
		out = append(out, bt)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].rule.service != out[j].rule.service {
			return out[i].rule.service < out[j].rule.service
		}
		return out[i].rule.index < out[j].rule.index
	})
	b.pending = map[*rule]map[string]bool{}
	return out
}
