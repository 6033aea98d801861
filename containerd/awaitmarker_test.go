package containerd

import (
	"context"
	"slices"
	"testing"
	"time"

	eventstypes "github.com/containerd/containerd/api/events"
	"github.com/containerd/containerd/v2/core/events"
	"github.com/containerd/typeurl/v2"

	"github.com/berth/berth/scheduler"
)

// TestAwaitMarkerPublishesAgain: a marker published before containerd
// registered the subscription is lost; awaitMarker publishes it again
// until it comes back, passing on the events of its namespace that came
// first. (It used to wait its whole 2 s for the lost one.)
func TestAwaitMarkerPublishesAgain(t *testing.T) {
	marker, err := typeurl.MarshalAny(&subscribed{ID: "m1"})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := typeurl.MarshalAny(&subscribed{ID: "someone-else"})
	start, _ := typeurl.MarshalAny(&eventstypes.TaskStart{ContainerID: "p-web-1"})
	envs := make(chan *events.Envelope, 8)
	publishes := 0
	publish := func() error {
		publishes++
		switch publishes {
		case 1: // lost: the subscription is not registered yet
		case 2:
			envs <- &events.Envelope{Namespace: "ns", Event: start}
			envs <- &events.Envelope{Namespace: "elsewhere", Event: start}
			envs <- &events.Envelope{Namespace: "ns", Event: other}
			envs <- &events.Envelope{Namespace: "ns", Event: marker}
		}
		return nil
	}
	pending, seen := awaitMarker(context.Background(), envs, "ns", "m1", publish, retryBackoff{first: time.Millisecond, most: time.Millisecond}, time.Minute)
	if !seen {
		t.Fatalf("the marker published again was not seen (%d publishes)", publishes)
	}
	if len(pending) != 1 || pending[0].Kind != scheduler.EventStarted || pending[0].Container != "p-web-1" {
		t.Errorf("pending = %+v, want the task start of namespace ns only", pending)
	}
}

// TestMarkerRetriesBackOff: a lost marker is published again soon (a
// project process counts as started only once its own comes back), then
// less and less often, up to every subscribeRetry.
func TestMarkerRetriesBackOff(t *testing.T) {
	var got []time.Duration
	var prev time.Duration
	for range 8 {
		prev = markerRetries.next(prev)
		got = append(got, prev)
	}
	want := []time.Duration{2, 4, 8, 16, 32, 50, 50, 50}
	for i := range want {
		want[i] *= time.Millisecond
	}
	if !slices.Equal(got, want) {
		t.Errorf("marker retries after %v, want %v", got, want)
	}
}
