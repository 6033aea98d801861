package scheduler

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
