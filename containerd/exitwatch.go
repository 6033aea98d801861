package containerd

import (
	"context"
	"strconv"
	"sync"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"

	"github.com/berth/berth/scheduler"
)

// Why a task its project's shared shim serves (ShimPerProject) is deleted
// only once the shim has published its exit.
//
// containerd 2.4's runc shim handles the exits of all its processes in one
// goroutine, in order. For a container's init it records the exit under
// the process's lock, writes the exit status, then takes the lock again to
// publish the exit. A delete of the task that comes in between (berth sees
// the exit first, through a pidfd or the shim's Wait) holds that lock for
// its `runc delete`, and the runc process's own exit has to be delivered by
// the shim's reaper, which hands every exit to every subscriber, the
// blocked exit goroutine among them, and waits up to a second for each.
// Once 32 exits wait for the blocked goroutine, every exit takes that
// second: a down of 30 services sharing a shim took 24 s instead of 2.5.
// With a shim per container the exits never pile up that far.

// exitPublishWait bounds the wait for the shim's exit event after the exit
// itself: an event lost (containerd restarted, say) costs this much, and
// the delete then goes ahead as it did before.
const exitPublishWait = 2 * time.Second

// exitWatch records the exits of containers' main processes that
// containerd published since its subscription was registered.
type exitWatch struct {
	mu sync.Mutex // guards following
	// live is closed once the subscription is registered, or has failed
	// (ok then says which); nil before the first start.
	live chan struct{}
	ok   bool
	// seen holds the containers whose exit was published and not yet
	// waited for, with when it was recorded (kept exitPublishWait at
	// least: a wait comes soon after the exit or not at all); waiters the
	// waits on containers whose exit was not.
	seen    map[string]time.Time
	waiters map[string][]chan struct{}
	cancel  context.CancelFunc
}

// record notes, at now, a published exit of container id's main process.
func (w *exitWatch) record(id string, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if ws, ok := w.waiters[id]; ok {
		for _, ch := range ws {
			close(ch)
		}
		delete(w.waiters, id)
		return
	}
	if w.seen == nil {
		w.seen = map[string]time.Time{}
	}
	for k, at := range w.seen {
		if now.Sub(at) > 2*exitPublishWait {
			delete(w.seen, k)
		}
	}
	w.seen[id] = now
}

// published returns a channel closed once container id's exit is
// published (at once if it was), and a func that drops the wait, and what
// was seen of id, when the caller is done.
func (w *exitWatch) published(id string) (<-chan struct{}, func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ch := make(chan struct{})
	if _, ok := w.seen[id]; ok {
		delete(w.seen, id)
		close(ch)
		return ch, func() {}
	}
	if w.waiters == nil {
		w.waiters = map[string][]chan struct{}{}
	}
	w.waiters[id] = append(w.waiters[id], ch)
	return ch, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		ws := w.waiters[id]
		for i, c := range ws {
			if c == ch {
				w.waiters[id] = append(ws[:i:i], ws[i+1:]...)
				break
			}
		}
		if len(w.waiters[id]) == 0 {
			delete(w.waiters, id)
		}
	}
}

// stop ends the subscription.
func (w *exitWatch) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cancel != nil {
		w.cancel()
	}
}

// watchExits starts the client's subscription to task exits, once, and
// waits until containerd has registered it (or failed to): exits after
// that are known. It reports whether the subscription is live.
func (c *Client) watchExits(ctx context.Context) bool {
	w := &c.exits
	w.mu.Lock()
	live := w.live
	if live == nil {
		live = make(chan struct{})
		w.live = live
		subCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		w.cancel = cancel
		go c.followExits(subCtx, live)
	}
	w.mu.Unlock()
	select {
	case <-live:
	case <-ctx.Done():
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ok
}

// followExits subscribes to task exits, closes live once the subscription
// is registered (its marker came back), and records exits until subCtx
// ends or the stream does.
func (c *Client) followExits(subCtx context.Context, live chan struct{}) {
	w := &c.exits
	envs, errs := c.client.Subscribe(subCtx, `topic=="/tasks/exit"`, `topic==`+strconv.Quote(topicSync))
	id := "exits-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	publish := func() error { return c.client.EventService().Publish(subCtx, topicSync, &subscribed{ID: id}) }
	pending, ok := awaitMarker(subCtx, envs, c.namespace, id, publish, markerRetries, subscribeWait)
	for _, ev := range pending {
		if ev.Kind == scheduler.EventExited {
			w.record(ev.Container, time.Now())
		}
	}
	w.mu.Lock()
	w.ok = ok
	w.mu.Unlock()
	close(live)
	if !ok {
		w.cancel()
		return
	}
	for {
		select {
		case <-subCtx.Done():
			return
		case <-errs:
			w.mu.Lock()
			w.ok = false
			w.mu.Unlock()
			return
		case env := <-envs:
			if env == nil {
				return
			}
			if env.Namespace != c.namespace {
				continue
			}
			if ev, ok := runtimeEvent(env.Event, env.Timestamp); ok && ev.Kind == scheduler.EventExited {
				w.record(ev.Container, time.Now())
			}
		}
	}
}

// sharesShim reports whether container sc's task is served by its
// project's shared shim.
func sharesShim(sc scheduler.Container) bool { return sc.Labels[labelShimAnchor] != "" }

// exitPublished is a delete option (see deleteTask) for a task a shared
// shim serves: it waits until the shim published the exit of the task's
// process, or until exitPublishWait after that exit, whichever comes
// first. A task that is not stopped is left to the options after it.
func (c *Client) exitPublished(id string) containerd.ProcessDeleteOpts {
	return func(ctx context.Context, p containerd.Process) error {
		st, err := p.Status(ctx)
		if err != nil {
			if errdefs.IsNotFound(err) {
				return nil
			}
			return err
		}
		if st.Status != containerd.Stopped {
			return nil
		}
		wait := publishDeadline(st.ExitTime, time.Now())
		if wait <= 0 || !c.watchExits(ctx) {
			return nil
		}
		published, done := c.exits.published(id)
		defer done()
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-published:
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
		return nil
	}
}

// publishDeadline is how long, at now, to wait more for the publication of
// an exit at exitedAt: up to exitPublishWait after the exit (from now, for
// an exit of unknown time).
func publishDeadline(exitedAt, now time.Time) time.Duration {
	if exitedAt.IsZero() || exitedAt.After(now) {
		return exitPublishWait
	}
	return exitPublishWait - now.Sub(exitedAt)
}
