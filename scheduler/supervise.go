package scheduler

import (
	"cmp"
	"context"
	"log"
	"math/rand/v2"
	"runtime"
	"slices"
	"time"

	"github.com/berth/berth/compose"
)

// RuntimeEventKind is what happened to a container.
type RuntimeEventKind string

const (
	// EventCreated: a container was created.
	EventCreated RuntimeEventKind = "create"
	// EventStarted: the container's process started.
	EventStarted RuntimeEventKind = "start"
	// EventExited: the container's process exited (ExitCode).
	EventExited RuntimeEventKind = "exit"
	// EventKilled: berth sent the container's process a signal (Signal),
	// for a kill or a stop.
	EventKilled RuntimeEventKind = "kill"
	// EventStopped: a stop of berth's ended with the process gone.
	EventStopped RuntimeEventKind = "stop"
	// EventPaused and EventResumed: the container's processes were
	// frozen or thawed.
	EventPaused  RuntimeEventKind = "pause"
	EventResumed RuntimeEventKind = "resume"
	// EventOOM: a process of the container was killed for lack of memory.
	EventOOM RuntimeEventKind = "oom"
	// EventDeleted: a container was deleted.
	EventDeleted RuntimeEventKind = "delete"
	// EventUpdated: a container's labels changed (its recorded health,
	// say); Labels are the new ones. The supervisor makes these itself and
	// ignores them.
	EventUpdated RuntimeEventKind = "update"
	// EventQuiesced: a command of berth's is about to stop the container
	// (down): its supervisor stops probing it, cancelling a probe under
	// way, and restarts it no more, until it starts again or
	// EventUnquiesced gives it back (the command failed before stopping
	// it). No probe then races the stop.
	EventQuiesced   RuntimeEventKind = "quiesce"
	EventUnquiesced RuntimeEventKind = "unquiesce"
)

// RuntimeEvent is one event of the runtime, for any container.
type RuntimeEvent struct {
	Kind      RuntimeEventKind
	Container string
	ExitCode  int
	// Signal is the signal number of EventKilled.
	Signal int
	// Labels are the container's labels after an EventUpdated, nil for
	// other kinds.
	Labels compose.Labels
	At     time.Time
}

// SupervisedRuntime is what the supervisor needs from the runtime.
type SupervisedRuntime interface {
	// Containers lists the project's containers.
	Containers(ctx context.Context, project string) ([]Container, error)
	// Revive starts an exited container again for its restart policy.
	// Unlike a start asked for by a command, it runs no post_start hooks:
	// docker compose runs them from its own commands, never on the
	// engine's policy restarts.
	Revive(ctx context.Context, c Container) error
	// Probe runs a healthcheck test in the container, bounded by timeout;
	// a test that cannot run is a failed probe, not an error.
	Probe(ctx context.Context, c Container, test []string, timeout time.Duration) ProbeResult
	// Record keeps a container's health (nil: none) and restart count
	// where ps and up read them.
	Record(ctx context.Context, c Container, h *Health, restarts int) error
	// Events streams the runtime's container events until ctx ends; the
	// error channel reports why the stream broke.
	Events(ctx context.Context) (<-chan RuntimeEvent, <-chan error)
}

// ProbeRecorder is a runtime that keeps a probe's result more cheaply
// than Record when the health's status and the restart count are those
// Record last kept: readers see the new probe in the health's log, but
// no container update is stored and announced (with 30 services probing
// every second, a write to containerd's store and an event to every
// berth process per probe cost more than the probes).
type ProbeRecorder interface {
	RecordProbe(ctx context.Context, c Container, h Health) error
}

// Clock is the supervisor's time: real in berth, fake in tests.
type Clock interface {
	Now() time.Time
	// After delivers once d has passed.
	After(d time.Duration) <-chan time.Time
}

// RealClock is the wall clock.
type RealClock struct{}

func (RealClock) Now() time.Time                         { return time.Now() }
func (RealClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// SupervisorState says whether the supervisor follows the runtime.
type SupervisorState int

const (
	// SupervisorConnected: it follows the runtime's events and has taken
	// over the project's containers.
	SupervisorConnected SupervisorState = iota
	// SupervisorDisconnected: it lost the runtime's events (containerd
	// went away) and tries to connect again; it probes and restarts
	// nothing meanwhile.
	SupervisorDisconnected
)

func (s SupervisorState) String() string {
	if s == SupervisorConnected {
		return "connected"
	}
	return "disconnected"
}

// Reconnection backoff: the first attempt after this, doubling up to the
// cap. containerd usually comes back within a second or two; the cap
// bounds how late supervision resumes after a longer outage.
const (
	reconnectFirst = 100 * time.Millisecond
	reconnectMax   = 5 * time.Second
)

// Supervisor keeps a project's containers as their services ask: it
// probes their healthchecks and restarts them by their restart policies,
// reacting to the runtime's events (no polling). It runs in the project's
// background process.
//
// When the runtime's event stream breaks (containerd restarted or died),
// it connects again with backoff, then takes the project's containers
// over afresh as at its start: running ones are probed again, and the ones
// that exited meanwhile (or lost their task with containerd) are restarted
// as their policies say.
type Supervisor struct {
	Project string
	Runtime SupervisedRuntime
	// Connect, when set, makes a new runtime after the event stream broke;
	// it replaces Runtime (closing the old one is Connect's business).
	// Nil subscribes to Runtime's events again.
	Connect func(ctx context.Context) (SupervisedRuntime, error)
	// State, when set, is told when the supervisor connects (first before
	// Ready) and when it loses the runtime.
	State func(SupervisorState)
	Clock Clock
	Log   *log.Logger
	// Done, when set, is asked whenever the project has no container:
	// true ends Run. Nil ends it at once then.
	Done func() bool
	// Poke makes the supervisor look at the project again (and ask Done).
	Poke <-chan struct{}
	// Ready, when set, is called once the supervisor follows the events
	// and has taken over the project's containers.
	Ready func()
	// Debug logs every event it gets.
	Debug bool
	// Remove, when set, removes an exited container with its network
	// namespace: the supervisor removes the one-offs that asked for it
	// when they exit (run --rm -d, whose berth has returned). Nil leaves
	// them.
	Remove func(ctx context.Context, c Container) error
	// ReleasePorts, when set, frees the published host ports of a
	// container that exited and is not restarted (Docker's proxy goes
	// with the container); a start takes them again.
	ReleasePorts func(ctx context.Context, c Container) error
	// Awaited, when set, names the services that commands announced they
	// wait on the health of (up --wait, an up whose services wait on
	// others; see runstate.AnnounceWait). Those, and the services a
	// container's depends_on needs healthy, are probed eagerly when they
	// start (PaceEager); the others are spread (PaceSpread). While a
	// command announces it waits on a service that is not healthy yet,
	// the service is also probed between its counted probes (see
	// Prober.Press). It is asked at each listing of the project, at each
	// start, and while such probes fail, at most every announceEvery.
	Awaited func() map[string]bool
	// ProbeLimit bounds how many probes run at once, so that probes never
	// starve the starts of containers of the CPU; < 1 is four per CPU: a
	// probe mostly waits (on the service it asks), and with one per CPU,
	// 100 services' wget probes of 25 ms ran every 1.4 s instead of 1 s.
	// Eager probes have as many slots again of their own, so that
	// the steady probes of others never delay one a waiter needs. Probes
	// that are due wait for a free slot, eager ones first, then the most
	// overdue.
	ProbeLimit int
	// Phase draws where in its interval the probes of container id fall,
	// in [0, 1), at each of its starts; nil draws uniformly at random.
	// Tests make it fixed.
	Phase func(id string) float64

	watched map[string]*watched
	// others are containers seen not to be the supervisor's (other
	// projects', one-offs), so that their events cost no listing.
	others map[string]bool
	// autoRemove are the one-offs to remove once they exit.
	autoRemove map[string]bool
	results    chan probeDone
	// hadContainers: the project has had a container since Run began, so
	// that an empty project is an emptied one (see over).
	hadContainers bool
	// gen numbers the runs of probing of all containers, so that a probe
	// started before a reconnection is not taken for a later one's.
	gen int
	// inflight are the probes under way that hold a slot (ProbeLimit),
	// by their sequence number, with what cancels each; seq numbers them.
	// busy counts them by pace.
	inflight map[int]probeSlot
	busy     map[Pace]int
	seq      int
	// dependedOn are the services a container's depends_on needs
	// healthy, as the last listing said; announced those of Awaited.
	dependedOn, announced map[string]bool
	// announcedAt is when announced was read.
	announcedAt time.Time
}

// announceEvery is how often, at most, the announcements are read again
// while a pressed probe fails: the commands waiting may have gone.
const announceEvery = 100 * time.Millisecond

// subscription is one following of the runtime's events.
type subscription struct {
	events <-chan RuntimeEvent
	errs   <-chan error
	cancel context.CancelFunc
}

// watched is the supervisor's state of one container.
type watched struct {
	c       Container
	prober  *Prober
	probing bool
	// probe is the sequence number of its probe under way (0: none).
	probe     int
	gen       int
	restart   *Restarter
	restartAt time.Time
	// paused: its processes are frozen, so it is not probed (a probe
	// could not run, and would count as a failure).
	paused bool
	// lastExit is when the exit handled last happened: an exit learnt
	// twice (from its event and from a stop's) is acted on once.
	lastExit time.Time
	// quiesced: a command is stopping it (EventQuiesced): neither probed
	// nor restarted until it starts again or is given back.
	quiesced bool
	// labelled says that Record kept the health status labelled with
	// the restart count labelledRestarts in the current run.
	labelled         *HealthStatus
	labelledRestarts int
}

// probeSlot is a probe under way.
type probeSlot struct {
	cancel context.CancelFunc
	pace   Pace
}

type probeDone struct {
	id     string
	gen    int
	seq    int
	result ProbeResult
}

// Run supervises until ctx ends or the project has no container left.
// It returns an error only when it cannot take the project over at its
// start; a runtime lost later is reconnected to.
func (s *Supervisor) Run(ctx context.Context) error {
	s.results = make(chan probeDone, 16)
	s.inflight = map[int]probeSlot{}
	s.busy = map[Pace]int{}
	if s.ProbeLimit < 1 {
		s.ProbeLimit = 4 * max(runtime.NumCPU(), 1)
	}
	if s.Phase == nil {
		s.Phase = func(string) float64 { return rand.Float64() }
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// At start the project may have no container yet (up starts this
	// process before it creates them): only an emptying ends supervision.
	sub, err := s.follow(ctx)
	if err != nil {
		return err
	}
	// Each subscription ends with ctx, when Run returns.
	s.setState(SupervisorConnected)
	if s.Ready != nil {
		s.Ready()
	}
	for {
		var due <-chan time.Time
		if next, ok := s.nextDue(); ok {
			due = s.Clock.After(max(next.Sub(s.Clock.Now()), 0))
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-sub.errs:
			sub.cancel()
			s.Log.Printf("lost the runtime's events (%v): supervision paused, connecting again", err)
			s.setState(SupervisorDisconnected)
			if sub, err = s.reconnect(ctx); err != nil {
				return nil // ctx ended
			}
			s.Log.Printf("connected again: supervising %d containers", len(s.watched))
			s.setState(SupervisorConnected)
			if s.over(s.left()) {
				s.Log.Printf("project %s has no container left: supervision ends", s.Project)
				return nil
			}
		case ev := <-sub.events:
			if s.Debug {
				s.Log.Printf("event %s %s (exit %d)", ev.Kind, ev.Container, ev.ExitCode)
			}
			left, err := s.handle(ctx, ev)
			if err != nil {
				s.Log.Printf("%s %s: %v", ev.Kind, ev.Container, err)
			}
			if s.over(left) {
				s.Log.Printf("project %s has no container left: supervision ends", s.Project)
				return nil
			}
		case <-s.Poke:
			left, err := s.sync(ctx, false)
			if err != nil {
				s.Log.Printf("sync: %v", err)
			}
			if s.over(left) {
				s.Log.Printf("project %s has no container left: supervision ends", s.Project)
				return nil
			}
		case d := <-s.results:
			s.recordProbe(ctx, d)
		case <-due:
			s.runDue(ctx)
		}
	}
}

func (s *Supervisor) done() bool { return s.Done == nil || s.Done() }

// over reports whether supervision ends, left containers being left to
// look after: only an emptying ends it, once the project's DNS is done.
// Before the project's first container exists (up starts this process
// before it creates them), an empty project is not over, even when it
// has no network and so its DNS ended at once: down ends it instead.
func (s *Supervisor) over(left int) bool {
	if left > 0 {
		s.hadContainers = true
		return false
	}
	return s.hadContainers && s.done()
}

// left counts the containers the supervisor still has to look after.
func (s *Supervisor) left() int { return len(s.watched) + len(s.autoRemove) }

func (s *Supervisor) setState(st SupervisorState) {
	if s.State != nil {
		s.State(st)
	}
}

// follow subscribes to the runtime's events, then takes the project's
// containers over afresh (subscribing first, so that no change falls
// between the listing and the events).
func (s *Supervisor) follow(ctx context.Context) (subscription, error) {
	for seq := range s.inflight {
		s.release(seq) // those of the runtime lost say nothing
	}
	s.watched = map[string]*watched{}
	s.others = map[string]bool{}
	sctx, cancel := context.WithCancel(ctx)
	events, errs := s.Runtime.Events(sctx)
	left, err := s.sync(ctx, true)
	if err != nil {
		cancel()
		return subscription{}, err
	}
	s.over(left) // notes the containers there already
	return subscription{events: events, errs: errs, cancel: cancel}, nil
}

// reconnect follows the runtime again after its event stream broke,
// trying with backoff until it succeeds or ctx ends.
func (s *Supervisor) reconnect(ctx context.Context) (subscription, error) {
	wait := reconnectFirst
	var lastErr string
	for {
		select {
		case <-ctx.Done():
			return subscription{}, ctx.Err()
		case <-s.Clock.After(wait):
		}
		wait = min(wait*2, reconnectMax)
		err := s.connect(ctx)
		if err == nil {
			var sub subscription
			if sub, err = s.follow(ctx); err == nil {
				return sub, nil
			}
		}
		if ctx.Err() != nil {
			return subscription{}, ctx.Err()
		}
		// One line per new reason, not one per attempt: the runtime may
		// stay away for long.
		if err.Error() != lastErr {
			lastErr = err.Error()
			s.Log.Printf("connect again: %v (retrying every %s at most)", err, reconnectMax)
		}
	}
}

// connect replaces the runtime by a new one, when the supervisor has a way.
func (s *Supervisor) connect(ctx context.Context) error {
	if s.Connect == nil {
		return nil
	}
	rt, err := s.Connect(ctx)
	if err != nil {
		return err
	}
	s.Runtime = rt
	return nil
}

// lostTaskStatus is the exit status given to a container whose process
// went with the runtime, unrecorded.
const lostTaskStatus = 255

// sync lists the project's containers and adopts the ones it does not
// watch yet; at start (first) it also restarts the exited ones whose
// policy says so, as if it had seen them exit.
func (s *Supervisor) sync(ctx context.Context, first bool) (int, error) {
	cs, err := s.Runtime.Containers(ctx, s.Project)
	if err != nil {
		return -1, err
	}
	seen := map[string]bool{}
	s.autoRemove = map[string]bool{}
	for _, c := range cs {
		// A plain container run with --rm is no one-off, but goes as one.
		if c.Labels.OneOff() || c.Labels.AutoRemove() {
			s.oneOff(ctx, c, first)
			continue
		}
		seen[c.ID] = true
		w, ok := s.watched[c.ID]
		if ok {
			w.c = c
			continue
		}
		policy, err := c.Labels.Restart()
		if err != nil {
			s.Log.Printf("%s: %v", c.Name, err)
		}
		w = &watched{c: c, restart: NewRestarter(policy, c.Labels.RestartCount())}
		s.watched[c.ID] = w
		switch {
		case c.State == StateRunning:
			s.startProbing(w, c.StartedAt, true)
		case c.State == StatePaused:
			s.startProbing(w, c.StartedAt, true)
			w.paused = true
		case c.State == StateExited && first:
			s.exited(w, c.ExitCode, c.FinishedAt)
		case c.State == StateCreated && first && !c.StartedAt.IsZero():
			// It ran, and its task went without an exit being recorded:
			// it died with the runtime. 255 is Docker's status for a
			// container that died with its daemon.
			s.Log.Printf("%s lost its task with the runtime", c.Name)
			s.exited(w, lostTaskStatus, c.StartedAt)
		}
	}
	for id, w := range s.watched {
		if !seen[id] {
			s.bump(w)
			delete(s.watched, id)
		}
	}
	s.noteWaits(cs)
	return s.left(), nil
}

// noteWaits learns which services something waits on the health of: the
// dependencies the containers' depends_on need healthy, and the services
// commands announced. A container still in its eager window that turns
// out to be waited on is hurried.
func (s *Supervisor) noteWaits(cs []Container) {
	s.dependedOn = map[string]bool{}
	for _, c := range cs {
		for name, d := range c.Labels.DependsOn() {
			if d.Condition == compose.ConditionHealthy {
				s.dependedOn[name] = true
			}
		}
	}
	s.readAnnounced()
	now := s.Clock.Now()
	for _, w := range s.watched {
		if w.prober != nil {
			w.prober.Press(s.announced[w.c.Labels.Service()])
		}
		if w.prober != nil && s.awaited(w.c) && w.prober.Hurry(now) && s.Debug {
			s.Log.Printf("%s is waited on: probed eagerly", w.c.Name)
		}
	}
}

func (s *Supervisor) readAnnounced() {
	if s.Awaited != nil {
		s.announced = s.Awaited()
		s.announcedAt = s.Clock.Now()
	}
}

// awaited reports whether something waits on c's health.
func (s *Supervisor) awaited(c Container) bool {
	svc := c.Labels.Service()
	return s.dependedOn[svc] || s.announced[svc]
}

// oneOff removes a one-off that asked to be removed when it exits and
// has (at start, also one whose task went with the runtime), or notes it
// to look again when it exits.
func (s *Supervisor) oneOff(ctx context.Context, c Container, first bool) {
	if s.Remove == nil || !c.Labels.AutoRemove() {
		return
	}
	lost := c.State == StateCreated && first && !c.StartedAt.IsZero()
	if c.State != StateExited && !lost {
		s.autoRemove[c.ID] = true
		return
	}
	if err := s.Remove(ctx, c); err != nil {
		s.Log.Printf("%s exited: remove it (run --rm): %v", c.Name, err)
		return
	}
	s.Log.Printf("%s exited with status %d: removed (run --rm)", c.Name, c.ExitCode)
}

// startProbing begins the healthchecks of a container that started at
// started; adopting keeps the health it had (a restart of berth's process
// does not make a healthy container "starting" again).
func (s *Supervisor) startProbing(w *watched, started time.Time, adopting bool) {
	s.bump(w)
	w.labelled = nil // a new run's labels are not known to hold its health
	w.probing = false
	w.prober = nil
	cfg, err := HealthcheckOf(w.c.Labels)
	if err != nil {
		s.Log.Printf("%s: %v", w.c.Name, err)
		return
	}
	if cfg == nil {
		return
	}
	if started.IsZero() {
		started = s.Clock.Now()
	}
	pace := PaceSpread
	if s.awaited(w.c) {
		pace = PaceEager
	}
	w.prober = NewProber(*cfg, started, pace, s.Phase(w.c.ID))
	w.prober.Press(s.announced[w.c.Labels.Service()])
	if h, ok := HealthOf(w.c.Labels); adopting && ok {
		w.prober.adopt(h)
	}
}

// handle applies one runtime event; it returns how many containers the
// project has left (-1 when it could not tell).
func (s *Supervisor) handle(ctx context.Context, ev RuntimeEvent) (int, error) {
	w, known := s.watched[ev.Container]
	switch {
	case ev.Kind == EventUpdated:
	case !known && ev.Kind == EventExited && s.autoRemove[ev.Container]:
		return s.sync(ctx, false)
	case !known && ev.Kind == EventDeleted:
		delete(s.others, ev.Container)
	case !known && s.others[ev.Container] && ev.Kind != EventCreated:
	case known && w.quiesced && (ev.Kind == EventExited || ev.Kind == EventStopped):
		// A command stops it to remove it: nothing to restart, record or
		// list again (a down would have the project listed once for
		// each of its containers, while it removes them).
		s.bump(w)
		w.prober, w.probing = nil, false
		w.c.State = StateExited
	case known && w.quiesced && ev.Kind == EventDeleted:
		s.bump(w)
		delete(s.watched, ev.Container)
		return s.left(), nil
	case ev.Kind == EventCreated || ev.Kind == EventDeleted || !known:
		delete(s.others, ev.Container) // a name freed and taken again
		left, err := s.sync(ctx, false)
		if _, ok := s.watched[ev.Container]; !ok && err == nil && ev.Kind != EventDeleted {
			s.others[ev.Container] = true
		}
		return left, err
	case ev.Kind == EventStarted:
		w.restartAt = time.Time{}
		w.quiesced = false
		w.c.State, w.c.StartedAt = StateRunning, ev.At
		s.readAnnounced() // a command may wait on it since the last listing
		s.startProbing(w, ev.At, false)
		if w.prober != nil {
			h := w.prober.Health()
			return s.left(), s.record(ctx, w, &h)
		}
	case ev.Kind == EventPaused:
		w.paused = true
		s.bump(w) // a probe under way when it froze says nothing
		w.probing = false
	case ev.Kind == EventResumed:
		w.paused = false
	case ev.Kind == EventQuiesced:
		w.quiesced = true
		s.bump(w) // cancels a probe under way
		w.probing = false
		w.restartAt = time.Time{}
	case ev.Kind == EventUnquiesced:
		w.quiesced = false
	case ev.Kind == EventStopped:
		// A stop of berth's is over, the process gone. Its exit event
		// normally came first; should it be late or lost, the exit the
		// stop recorded on the container is acted on now.
		if _, err := s.sync(ctx, false); err != nil {
			return -1, err
		}
		if w, known = s.watched[ev.Container]; !known || w.c.State != StateExited || w.c.FinishedAt.IsZero() {
			return len(s.watched), nil
		}
		if s.exited(w, w.c.ExitCode, w.c.FinishedAt) {
			s.releasePorts(ctx, w)
			return len(s.watched), s.record(ctx, w, nil)
		}
	case ev.Kind == EventExited:
		// The labels say whether a stop asked for the exit.
		if _, err := s.sync(ctx, false); err != nil {
			return -1, err
		}
		if w, known = s.watched[ev.Container]; !known {
			return s.left(), nil
		}
		if s.exited(w, ev.ExitCode, ev.At) {
			s.releasePorts(ctx, w)
			return s.left(), s.record(ctx, w, nil)
		}
	}
	return s.left(), nil
}

// releasePorts frees the host ports of a container that exited for good
// (no restart scheduled); a failure is logged, the exit handled anyway.
func (s *Supervisor) releasePorts(ctx context.Context, w *watched) {
	if s.ReleasePorts == nil || !w.restartAt.IsZero() {
		return
	}
	if err := s.ReleasePorts(ctx, w.c); err != nil {
		s.Log.Printf("%s exited: release its host ports: %v", w.c.Name, err)
	}
}

// exited stops probing a container and schedules its restart if its
// policy says so. It reports false, doing nothing, for an exit at the
// same time as the one handled last (the same exit, learnt again).
func (s *Supervisor) exited(w *watched, code int, at time.Time) bool {
	if !at.IsZero() && at.Equal(w.lastExit) {
		return false
	}
	w.lastExit = at
	s.bump(w)
	w.prober, w.probing = nil, false
	if at.IsZero() {
		at = s.Clock.Now()
	}
	manual := w.c.Labels.ManualStop() || w.quiesced
	wait, restart := w.restart.Exited(code, w.c.StartedAt, at, manual)
	switch {
	case !restart && manual:
		s.Log.Printf("%s exited with status %d: stopped by hand, not restarted", w.c.Name, code)
		return true
	case !restart:
		s.Log.Printf("%s exited with status %d: not restarted (restart: %s)", w.c.Name, code, w.restart.policy.Condition)
		return true
	}
	w.restartAt = s.Clock.Now().Add(wait)
	s.Log.Printf("%s exited with status %d: restarting in %s", w.c.Name, code, wait)
	return true
}

// nextDue is the earliest probe or restart that is due.
func (s *Supervisor) nextDue() (time.Time, bool) {
	var next time.Time
	for _, w := range s.watched {
		probeAt := w.probeAt()
		if !probeAt.IsZero() && !s.free(w.prober.Pace()) {
			probeAt = time.Time{} // a result frees a slot
		}
		for _, t := range []time.Time{w.restartAt, probeAt} {
			if !t.IsZero() && (next.IsZero() || t.Before(next)) {
				next = t
			}
		}
	}
	return next, !next.IsZero()
}

// bump starts a new run of probing of w: a probe under way is cancelled
// (its slot freed at once), and the results of probes started before
// are ignored.
func (s *Supervisor) bump(w *watched) {
	s.gen++
	w.gen = s.gen
	if w.probe != 0 {
		s.release(w.probe)
		w.probe = 0
	}
}

// free reports whether a probe of that pace may start now: eager probes
// and the others have ProbeLimit slots each, so that the probes of
// containers nobody waits on never hold up one that a waiter needs.
func (s *Supervisor) free(p Pace) bool { return s.busy[p] < s.ProbeLimit }

// release cancels a probe under way and frees its slot.
func (s *Supervisor) release(seq int) {
	if slot, ok := s.inflight[seq]; ok {
		slot.cancel()
		s.busy[slot.pace]--
		delete(s.inflight, seq)
	}
}

func (w *watched) probeAt() time.Time {
	if w.prober == nil || w.probing || w.paused || w.quiesced {
		return time.Time{}
	}
	return w.prober.Next()
}

// runDue starts the restarts that are due, and as many of the probes
// that are due as there are free slots: eager ones first (something waits
// on them), then the most overdue.
func (s *Supervisor) runDue(ctx context.Context) {
	now := s.Clock.Now()
	var due []*watched
	for _, w := range s.watched {
		if !w.restartAt.IsZero() && !w.restartAt.After(now) {
			w.restartAt = time.Time{}
			if err := s.Runtime.Revive(ctx, w.c); err != nil {
				s.Log.Printf("restart %s: %v", w.c.Name, err)
				continue
			}
			w.restart.Restarted()
			s.Log.Printf("restarted %s (restart %d)", w.c.Name, w.restart.Count)
			if err := s.record(ctx, w, nil); err != nil {
				s.Log.Printf("record %s: %v", w.c.Name, err)
			}
		}
		if t := w.probeAt(); !t.IsZero() && !t.After(now) {
			due = append(due, w)
		}
	}
	slices.SortFunc(due, func(a, b *watched) int {
		if ea, eb := a.prober.Pace() == PaceEager, b.prober.Pace() == PaceEager; ea != eb {
			if ea {
				return -1
			}
			return 1
		}
		if c := a.prober.Next().Compare(b.prober.Next()); c != 0 {
			return c
		}
		return cmp.Compare(a.c.ID, b.c.ID)
	})
	for _, w := range due {
		if s.free(w.prober.Pace()) {
			s.startProbe(ctx, w)
		}
	}
}

// startProbe runs w's probe in the background, in a slot of its own.
func (s *Supervisor) startProbe(ctx context.Context, w *watched) {
	s.seq++
	pctx, cancel := context.WithCancel(ctx)
	s.inflight[s.seq] = probeSlot{cancel: cancel, pace: w.prober.Pace()}
	s.busy[w.prober.Pace()]++
	w.probing, w.probe = true, s.seq
	id, seq, c, gen, cfg, rt := w.c.ID, s.seq, w.c, w.gen, w.prober.Config(), s.Runtime
	go func() {
		r := rt.Probe(pctx, c, cfg.Test, cfg.Timeout)
		select {
		case s.results <- probeDone{id: id, gen: gen, seq: seq, result: r}:
		case <-ctx.Done():
		}
	}()
}

// recordProbe judges a probe's result, if it still concerns the
// container's current run, and records the health.
func (s *Supervisor) recordProbe(ctx context.Context, d probeDone) {
	s.release(d.seq)
	w, ok := s.watched[d.id]
	if !ok || w.gen != d.gen || w.prober == nil {
		return
	}
	w.probing, w.probe = false, 0
	if w.prober.pressed && d.result.ExitCode != 0 && s.Clock.Now().Sub(s.announcedAt) >= announceEvery {
		s.readAnnounced() // the command waiting may have gone
	}
	w.prober.Press(s.announced[w.c.Labels.Service()])
	before := w.prober.Health().Status
	w.prober.Record(d.result)
	h := w.prober.Health()
	if h.Status != before {
		s.Log.Printf("%s is %s", w.c.Name, h.Status)
	}
	var err error
	if pr, ok := s.Runtime.(ProbeRecorder); ok && w.labelled != nil && *w.labelled == h.Status && w.labelledRestarts == w.restart.Count {
		err = pr.RecordProbe(ctx, w.c, h)
	} else {
		err = s.record(ctx, w, &h)
	}
	if err != nil {
		s.Log.Printf("record %s: %v", w.c.Name, err)
	}
}

// record keeps w's health (nil: none) and restart count through the
// runtime, and notes what its labels hold.
func (s *Supervisor) record(ctx context.Context, w *watched, h *Health) error {
	w.labelled = nil
	if err := s.Runtime.Record(ctx, w.c, h, w.restart.Count); err != nil {
		return err
	}
	if h != nil {
		status := h.Status
		w.labelled, w.labelledRestarts = &status, w.restart.Count
	}
	return nil
}
