package scheduler

import "github.com/berth/berth/compose"

// Kind is the kind of resource a progress event is about.
type Kind string

const (
	KindContainer Kind = "Container"
	KindImage     Kind = "Image"
	KindNetwork   Kind = "Network"
	KindVolume    Kind = "Volume"
	KindService   Kind = "Service"
	KindLayer     Kind = "Layer"
)

// Status says whether the step an event reports is under way, done or failed.
type Status string

const (
	StatusWorking Status = "working"
	StatusDone    Status = "done"
	StatusWarning Status = "warning"
	StatusError   Status = "error"
)

// Event is one line of user-facing progress: "Container demo-web-1  Started".
// Library code emits events; the renderers (tty, plain, json) live in cmd.
type Event struct {
	Kind Kind
	// Name is the resource's name (container name, image reference, ...).
	Name string
	// Parent groups sub-resources: the image a layer belongs to.
	Parent string
	Status Status
	// Text is the step: "Creating", "Created", "Pulling", "Recreate", ...
	Text string
	// Detail is optional: the reason of a plan step, a byte count, an error.
	Detail string
	// Current and Total are byte counts for transfers; zero when unknown.
	Current, Total int64
}

// Events receives progress events. Implementations must be safe for
// concurrent use: the executor emits from many goroutines.
type Events interface {
	Emit(Event)
}

// EventFunc adapts a function to Events.
type EventFunc func(Event)

// Emit calls f(e).
func (f EventFunc) Emit(e Event) { f(e) }

// Discard is an Events that drops everything.
var Discard Events = EventFunc(func(Event) {})

// MarkKind is the kind of a timing mark.
type MarkKind string

const (
	// MarkWaitBegin: Service begins waiting for Dependency to meet
	// Condition before its containers start.
	MarkWaitBegin MarkKind = "wait-begin"
	// MarkWaitEnd: that wait ended; Err is why it failed ("" when met).
	MarkWaitEnd MarkKind = "wait-end"
	// MarkReady: up --wait judged Service against Condition: met, or
	// failed with Err.
	MarkReady MarkKind = "ready"
	// MarkBuildBegin and MarkBuildEnd frame the build of Service's image;
	// Err is why it failed.
	MarkBuildBegin MarkKind = "build-begin"
	MarkBuildEnd   MarkKind = "build-end"
	// MarkHealth: Container (of Service) was seen with Health.
	MarkHealth MarkKind = "health"
)

// Mark is a timing point of a bring-up that the progress display does not
// show (a readiness report assembles them with the Events): which service
// waited on which dependency, when, and the health results seen.
type Mark struct {
	Kind       MarkKind
	Service    string
	Dependency string
	Condition  compose.DependencyCondition
	Container  string
	Health     *Health
	Err        string
}

// Marker is implemented by the Events that want timing marks; the
// others (the progress renderers) never see them.
type Marker interface {
	Mark(Mark)
}

// EmitMark gives m to ev if ev takes marks.
func EmitMark(ev Events, m Mark) {
	if mk, ok := ev.(Marker); ok {
		mk.Mark(m)
	}
}

// MarkGate is implemented by a Marker that takes marks only some of the
// time (the progress display, while a report is recorded).
type MarkGate interface {
	MarksWanted() bool
}

// marksWanted reports whether ev takes marks, so that observations made
// only for them (an extra listing) are skipped otherwise.
func marksWanted(ev Events) bool {
	if g, ok := ev.(MarkGate); ok {
		return g.MarksWanted()
	}
	_, ok := ev.(Marker)
	return ok
}

// markHealth marks the health of the containers that have some.
func markHealth(ev Events, service string, cs []Container) {
	for _, c := range cs {
		if h, ok := HealthOf(c.Labels); ok {
			EmitMark(ev, Mark{Kind: MarkHealth, Service: service, Container: c.Name, Health: &h})
		}
	}
}
