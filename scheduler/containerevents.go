package scheduler

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berth/berth/compose"
)

// Action is what happened to a container, named as Docker's events name
// it, so that `berth events` reads like `docker compose events`.
type Action string

const (
	ActionCreate  Action = "create"
	ActionStart   Action = "start"
	ActionDie     Action = "die"
	ActionKill    Action = "kill"
	ActionStop    Action = "stop"
	ActionPause   Action = "pause"
	ActionUnpause Action = "unpause"
	ActionOOM     Action = "oom"
	ActionDestroy Action = "destroy"
	// ActionHealthStatus is followed by ": healthy" or ": unhealthy", as
	// in Docker ("health_status: healthy"); see HealthAction.
	ActionHealthStatus Action = "health_status"
)

// HealthAction is the action Docker reports when a container's health
// turns to status.
func HealthAction(status HealthStatus) Action {
	return ActionHealthStatus + Action(": "+string(status))
}

// ContainerEvent is one event of a project's container, as docker compose
// events reports it.
type ContainerEvent struct {
	Time    time.Time
	Action  Action
	ID      string
	Service string
	// Attributes are the container's name and image, the labels of its
	// service (not compose's or berth's own), and what the action adds:
	// exitCode for die, signal for kill.
	Attributes map[string]string
}

// DockerAction maps one runtime event to the action Docker reports for
// it, and the attributes it adds; before are the container's labels as
// they were before the event (they tell whether a label update changed
// its health). ok is false when Docker reports nothing: a label update
// that is no change to healthy or unhealthy (Docker says nothing when a
// container's health is "starting" either).
func DockerAction(ev RuntimeEvent, before compose.Labels) (action Action, attrs map[string]string, ok bool) {
	switch ev.Kind {
	case EventCreated:
		return ActionCreate, nil, true
	case EventStarted:
		return ActionStart, nil, true
	case EventExited:
		return ActionDie, map[string]string{"exitCode": strconv.Itoa(ev.ExitCode)}, true
	case EventKilled:
		return ActionKill, map[string]string{"signal": strconv.Itoa(ev.Signal)}, true
	case EventStopped:
		return ActionStop, nil, true
	case EventPaused:
		return ActionPause, nil, true
	case EventResumed:
		return ActionUnpause, nil, true
	case EventOOM:
		return ActionOOM, nil, true
	case EventDeleted:
		return ActionDestroy, nil, true
	case EventUpdated:
		now, _ := HealthOf(ev.Labels)
		was, _ := HealthOf(before)
		if now.Status == was.Status || (now.Status != HealthHealthy && now.Status != HealthUnhealthy) {
			return "", nil, false
		}
		return HealthAction(now.Status), nil, true
	}
	return "", nil, false
}

// EventSource is what following a project's events needs from the runtime.
type EventSource interface {
	// Containers lists the project's containers.
	Containers(ctx context.Context, project string) ([]Container, error)
	// Events streams the runtime's container events until ctx ends.
	Events(ctx context.Context) (<-chan RuntimeEvent, <-chan error)
}

// FollowEvents calls emit with each event of the project's containers, of
// the given services (all when none), as it happens, until ctx ends (it
// then returns nil), the runtime's event stream breaks or emit fails.
// One-off containers (berth run) are left out, as docker compose does.
//
// The runtime's events name a container only; FollowEvents knows which
// are the project's from their labels, listed when an unknown container
// shows up and kept until it is deleted (a deleted container's labels
// cannot be read any more).
func FollowEvents(ctx context.Context, rt EventSource, project string, services []string, emit func(ContainerEvent) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Subscribed before listing: nothing falls between the two.
	events, errs := rt.Events(ctx)
	f := &eventFilter{project: project, services: services, ours: map[string]Container{}, others: map[string]bool{}}
	if err := f.relist(ctx, rt); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errs:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("runtime events: %w", err)
		case ev := <-events:
			if f.needsListing(ev) {
				if err := f.relist(ctx, rt); err != nil {
					if ctx.Err() != nil {
						return nil
					}
					return err
				}
			}
			out, ok := f.apply(ev)
			if !ok {
				continue
			}
			if err := emit(out); err != nil {
				return err
			}
		}
	}
}

// eventFilter keeps the labels of the containers FollowEvents has seen.
type eventFilter struct {
	project  string
	services []string
	// ours are the project's containers by ID; others the IDs of
	// containers of other projects, so that their events cost no listing.
	ours   map[string]Container
	others map[string]bool
}

// needsListing reports whether ev is about a container whose project is
// not known yet, so that the containers are to be listed again.
func (f *eventFilter) needsListing(ev RuntimeEvent) bool {
	if ev.Kind == EventDeleted {
		return false // too late to read its labels
	}
	if ev.Kind == EventCreated {
		delete(f.others, ev.Container) // a name freed and taken again
	}
	_, ours := f.ours[ev.Container]
	return !ours && !f.others[ev.Container]
}

// relist lists the project's containers; the IDs it does not find are
// taken for other projects' when their events come.
func (f *eventFilter) relist(ctx context.Context, rt EventSource) error {
	cs, err := rt.Containers(ctx, f.project)
	if err != nil {
		return err
	}
	for _, c := range cs {
		// A container already known keeps the labels its last event
		// left: the listing may be ahead of the updates still queued, and
		// health changes are judged from them.
		if _, known := f.ours[c.ID]; !known {
			f.ours[c.ID] = c
		}
	}
	return nil
}

// apply turns a runtime event into the project's container event, and
// keeps the container's labels up to date. ok is false for events of
// other projects' containers, of one-off containers, of services not
// followed, and those Docker reports nothing for.
func (f *eventFilter) apply(ev RuntimeEvent) (ContainerEvent, bool) {
	c, ours := f.ours[ev.Container]
	if !ours {
		if ev.Kind == EventDeleted {
			delete(f.others, ev.Container)
		} else {
			f.others[ev.Container] = true
		}
		return ContainerEvent{}, false
	}
	before := c.Labels
	switch ev.Kind {
	case EventDeleted:
		delete(f.ours, ev.Container)
	case EventUpdated:
		if ev.Labels != nil {
			c.Labels = ev.Labels
			f.ours[ev.Container] = c
		}
	}
	if c.Labels.OneOff() || (len(f.services) > 0 && !slices.Contains(f.services, c.Labels.Service())) {
		return ContainerEvent{}, false
	}
	action, extra, ok := DockerAction(ev, before)
	if !ok {
		return ContainerEvent{}, false
	}
	attrs := map[string]string{"name": c.Name, "image": c.Image}
	for k, v := range c.Labels {
		if !strings.HasPrefix(k, compose.LabelPrefixCompose) && !strings.HasPrefix(k, compose.LabelPrefixBerth) {
			attrs[k] = v
		}
	}
	for k, v := range extra {
		attrs[k] = v
	}
	return ContainerEvent{Time: ev.At, Action: action, ID: c.ID, Service: c.Labels.Service(), Attributes: attrs}, true
}
