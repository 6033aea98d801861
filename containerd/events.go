package containerd

import (
	"context"
	"syscall"

	"github.com/containerd/typeurl/v2"
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

// subscribed is the marker an Events subscription publishes and waits for.
type subscribed struct {
	ID string `json:"id"`
}

// The events travel as JSON under these type URLs; only berth reads them.
func init() {
	typeurl.Register(&containerKilled{}, "berth.dev", "events", "ContainerKill")
	typeurl.Register(&containerStopped{}, "berth.dev", "events", "ContainerStop")
	typeurl.Register(&subscribed{}, "berth.dev", "events", "Subscribed")
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
