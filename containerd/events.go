package containerd

import (
	"context"
	"syscall"

	"github.com/containerd/typeurl/v2"
	"golang.org/x/sync/errgroup"

	"github.com/berth/berth/scheduler"
)

// Topics of the events berth publishes on containerd's event service
// itself: containerd reports no kill and no stop, Docker does, and berth
// events shows them as Docker would.
const (
	topicKill = "/berth/containers/kill"
	topicStop = "/berth/containers/stop"
	// topicSync carries the marker by which Events knows that its
	// subscription is in place.
	topicSync = "/berth/events/subscribed"
	// topicQuiesce and topicUnquiesce tell the project's supervisor to
	// leave a container alone while a command stops it, and to take it
	// back (scheduler.EventQuiesced).
	topicQuiesce   = "/berth/containers/quiesce"
	topicUnquiesce = "/berth/containers/unquiesce"
)

// containerKilled is published when berth signals a container's process
// (kill, or stop with its stop signal and perhaps SIGKILL after).
type containerKilled struct {
	ID     string `json:"id"`
	Signal int    `json:"signal"`
}

// containerStopped is published when a stop of berth's has ended with the
// container's process gone.
type containerStopped struct {
	ID string `json:"id"`
}

// containerQuiesced is published before a command stops the container
// (down), and containerUnquiesced when it gives it back unstopped.
type containerQuiesced struct {
	ID string `json:"id"`
}

type containerUnquiesced struct {
	ID string `json:"id"`
}

// subscribed is the marker an Events subscription publishes and waits for.
type subscribed struct {
	ID string `json:"id"`
}

// The events travel as JSON under these type URLs; only berth reads them.
func init() {
	typeurl.Register(&containerKilled{}, "berth.dev", "events", "ContainerKill")
	typeurl.Register(&containerStopped{}, "berth.dev", "events", "ContainerStop")
	typeurl.Register(&subscribed{}, "berth.dev", "events", "Subscribed")
	typeurl.Register(&containerQuiesced{}, "berth.dev", "events", "ContainerQuiesce")
	typeurl.Register(&containerUnquiesced{}, "berth.dev", "events", "ContainerUnquiesce")
}

// publishKill tells the namespace's subscribers that berth sends sig to
// the container's process. It is called just before the signal is sent,
// so that the event comes before the exit it causes, as in Docker. It is
// best effort: a lost event only leaves a line out of berth events, and
// is no reason not to send the signal.
func (c *Client) publishKill(ctx context.Context, id string, sig syscall.Signal) {
	c.client.EventService().Publish(ctx, topicKill, &containerKilled{ID: id, Signal: int(sig)}) //nolint:errcheck // best effort, see above
}

// publishStop tells the namespace's subscribers that a stop of the
// container ended. Best effort, as publishKill.
func (c *Client) publishStop(ctx context.Context, id string) {
	c.client.EventService().Publish(ctx, topicStop, &containerStopped{ID: id}) //nolint:errcheck // best effort, see publishKill
}

var _ scheduler.Quiescer = (*Client)(nil)

// Quiesce implements scheduler.Quiescer: it tells the project's
// supervisor, through containerd's events, to stop probing and restarting
// the containers, which a command is about to stop. It is best effort, as
// publishKill: a lost event only lets the probes go on until the stop.
func (c *Client) Quiesce(ctx context.Context, ids []string) {
	c.publishEach(ctx, ids, func(id string) any { return &containerQuiesced{ID: id} }, topicQuiesce)
}

// Unquiesce implements scheduler.Quiescer: it gives containers a command
// did not stop after all back to the supervisor. Best effort, as Quiesce.
func (c *Client) Unquiesce(ctx context.Context, ids []string) {
	c.publishEach(ctx, ids, func(id string) any { return &containerUnquiesced{ID: id} }, topicUnquiesce)
}

// publishEach publishes one event per container, a few at a time.
func (c *Client) publishEach(ctx context.Context, ids []string, event func(id string) any, topic string) {
	var eg errgroup.Group
	eg.SetLimit(8)
	for _, id := range ids {
		eg.Go(func() error {
			c.client.EventService().Publish(ctx, topic, event(id)) //nolint:errcheck // best effort, see Quiesce
			return nil
		})
	}
	eg.Wait() //nolint:errcheck // nothing returns an error
}
