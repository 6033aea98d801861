package watch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/berth/berth/compose"
)

// Actions are what the rules do to a running service. cmd implements them
// with the runtime and the scheduler; tests with fakes.
type Actions interface {
	// Sync copies files into every running container of service.
	Sync(ctx context.Context, service string, files []File) error
	// Restart restarts the service's containers.
	Restart(ctx context.Context, service string) error
	// Exec runs hook in every running container of service, as berth exec.
	Exec(ctx context.Context, service string, hook compose.Hook) error
	// Rebuild builds the service's image again (with the layer cache) and
	// recreates that service's containers only.
	Rebuild(ctx context.Context, service string) error
}

// Clock is the time the watcher debounces by.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Report is one line of progress: an action done, or its error.
type Report struct {
	Service string
	// Message says what was done ("synced 3 files in 12 ms"), or what
	// failed when Err is set.
	Message string
	Err     error
}

func (r Report) String() string {
	if r.Err != nil {
		return r.Message + ": " + r.Err.Error()
	}
	return r.Message
}

// Source is where changed host paths come from (Notify, or a test).
type Source interface {
	Events() <-chan string
	Errors() <-chan error
}

type options struct {
	clock          Clock
	quiet, maxWait time.Duration
	report         func(Report)
}

// Option configures New.
type Option func(*options)

// WithClock sets the clock (default: the system's).
func WithClock(c Clock) Option { return func(o *options) { o.clock = c } }

// WithQuiet sets the quiet period and its cap (default DefaultQuiet and
// DefaultMaxWait).
func WithQuiet(quiet, maxWait time.Duration) Option {
	return func(o *options) { o.quiet, o.maxWait = quiet, maxWait }
}

// WithReport sets where progress goes (default: nowhere).
func WithReport(f func(Report)) Option { return func(o *options) { o.report = f } }

// Watcher applies the rules of the watched services to the changes it is
// told of.
type Watcher struct {
	rules   []*rule
	actions Actions
	opts    options
	batch   *batcher
}

// New makes the watcher of services (none: every service with rules). A
// named service without develop.watch rules is an error, as is a project
// where none has any.
func New(p *compose.Project, services []string, a Actions, opts ...Option) (*Watcher, error) {
	o := options{}
	for _, opt := range opts {
		opt(&o)
	}
	if o.clock == nil {
		o.clock = realClock{}
	}
	if o.quiet <= 0 {
		o.quiet, o.maxWait = DefaultQuiet, DefaultMaxWait
	}
	if o.report == nil {
		o.report = func(Report) {}
	}
	w := &Watcher{actions: a, opts: o, batch: newBatcher(o.quiet, o.maxWait)}
	for _, s := range p.Services {
		if len(services) > 0 && !slices.Contains(services, s.Name) {
			continue
		}
		if len(s.Watch) == 0 {
			if len(services) > 0 {
				return nil, fmt.Errorf("service %q has no develop.watch rules: add a develop: watch: section to it, or leave it out of watch", s.Name)
			}
			continue
		}
		rs, err := newRules(s)
		if err != nil {
			return nil, err
		}
		w.rules = append(w.rules, rs...)
	}
	if len(w.rules) == 0 {
		return nil, errors.New("none of the services has develop.watch rules: add a develop: watch: section to a service (see the README)")
	}
	return w, nil
}

// Services are the names of the services watched, sorted.
func (w *Watcher) Services() []string {
	var out []string
	for _, r := range w.rules {
		if !slices.Contains(out, r.service) {
			out = append(out, r.service)
		}
	}
	sort.Strings(out)
	return out
}

// Roots are the host paths to follow.
func (w *Watcher) Roots() []string {
	var out []string
	for _, r := range w.rules {
		if !slices.Contains(out, r.Path) {
			out = append(out, r.Path)
		}
	}
	sort.Strings(out)
	return out
}

// SkipDir reports whether no rule can act on anything under directory p,
// every rule covering it ignoring it: it need not be followed.
func (w *Watcher) SkipDir(p string) bool {
	for _, r := range w.rules {
		if rel, ok := r.rel(p); ok && !r.excluded(p, rel) {
			return false
		}
	}
	return true
}

// Changed records that host path p changed (was written, made, removed
// or renamed) at now.
func (w *Watcher) Changed(now time.Time, p string) {
	for _, r := range w.rules {
		if r.match(p) {
			w.batch.add(now, r, p)
		}
	}
}

// Deadline is when the pending changes are due, false when there are none.
func (w *Watcher) Deadline() (time.Time, bool) { return w.batch.deadline() }

// Flush runs the actions of the changes due at now: one per rule, or one
// rebuild of a service any of whose rebuild rules fired (the rebuild
// takes in what its other rules would do). An action's error is
// reported, and the other actions still run.
func (w *Watcher) Flush(ctx context.Context, now time.Time) {
	batches := w.batch.take(now)
	rebuild := map[string]bool{}
	for _, b := range batches {
		if b.rule.Action == compose.WatchRebuild {
			rebuild[b.rule.service] = true
		}
	}
	done := map[string]bool{}
	for _, b := range batches {
		s := b.rule.service
		if rebuild[s] {
			if !done[s] {
				done[s] = true
				w.timed(s, "rebuild", func() (string, error) {
					return "rebuilt and recreated", w.actions.Rebuild(ctx, s)
				})
			}
			continue
		}
		w.apply(ctx, b)
	}
}

// apply runs the action of one rule on its changed paths.
func (w *Watcher) apply(ctx context.Context, b batch) {
	r, s := b.rule, b.rule.service
	switch r.Action {
	case compose.WatchRestart:
		w.timed(s, "restart", func() (string, error) { return "restarted", w.actions.Restart(ctx, s) })
		return
	case compose.WatchRebuild:
		return // handled by Flush
	}
	files := make([]File, len(b.paths))
	for i, p := range b.paths {
		files[i] = File{Host: p, Container: r.target(p)}
	}
	w.timed(s, "sync", func() (string, error) {
		msg := "synced " + plural(len(files), "file")
		if err := w.actions.Sync(ctx, s, files); err != nil {
			return msg, err
		}
		switch r.Action {
		case compose.WatchSyncRestart:
			return msg + " and restarted", w.actions.Restart(ctx, s)
		case compose.WatchSyncExec:
			return msg + " and ran " + strings.Join(r.Exec.Command, " "), w.actions.Exec(ctx, s, *r.Exec)
		}
		return msg, nil
	})
}

// timed runs an action and reports it with its duration.
func (w *Watcher) timed(service, what string, f func() (string, error)) {
	start := w.opts.clock.Now()
	msg, err := f()
	if err != nil {
		w.opts.report(Report{Service: service, Message: what + " failed", Err: err})
		return
	}
	w.opts.report(Report{Service: service, Message: msg + " in " + formatDuration(w.opts.clock.Now().Sub(start))})
}

// InitialSync syncs everything under the paths of the rules with
// initial_sync that the rules do not ignore, one action a rule.
func (w *Watcher) InitialSync(ctx context.Context) {
	for _, r := range w.rules {
		if !r.InitialSync {
			continue
		}
		var paths []string
		err := filepath.WalkDir(r.Path, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && p != r.Path && w.SkipDir(p) {
				return filepath.SkipDir
			}
			if r.match(p) && (!d.IsDir() || p == r.Path) {
				paths = append(paths, p)
			}
			return nil
		})
		if err != nil {
			w.opts.report(Report{Service: r.service, Message: "initial sync failed", Err: err})
			continue
		}
		sync := *r
		sync.Action = compose.WatchSync
		w.apply(ctx, batch{rule: &sync, paths: paths})
	}
}

// Run follows src until ctx is done, acting on the changes once they
// have been quiet for the quiet period. Errors of the source are
// reported; watching goes on.
func (w *Watcher) Run(ctx context.Context, src Source) error {
	var timer <-chan time.Time
	arm := func() {
		timer = nil
		if d, ok := w.Deadline(); ok {
			timer = w.opts.clock.After(max(d.Sub(w.opts.clock.Now()), 0))
		}
	}
	events, errs := src.Events(), src.Errors()
	for {
		select {
		case <-ctx.Done():
			return nil
		case p, ok := <-events:
			if !ok {
				return nil
			}
			w.Changed(w.opts.clock.Now(), p)
			arm()
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			w.opts.report(Report{Message: "watching failed", Err: err})
		case <-timer:
			w.Flush(ctx, w.opts.clock.Now())
			arm()
		}
	}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// formatDuration writes d as the progress lines do: "12 ms", "1.4 s".
func formatDuration(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}
