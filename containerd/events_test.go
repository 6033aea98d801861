package containerd

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	eventstypes "github.com/containerd/containerd/api/events"
	"github.com/containerd/containerd/v2/pkg/protobuf"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"github.com/containerd/typeurl/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/scheduler"
)

func TestRuntimeEvent(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	exited := at.Add(time.Second)
	tests := []struct {
		name   string
		event  any
		want   scheduler.RuntimeEvent
		wantOK bool
	}{
		{"create", &eventstypes.ContainerCreate{ID: "p-web-1", Image: "busybox"},
			scheduler.RuntimeEvent{Kind: scheduler.EventCreated, Container: "p-web-1", At: at}, true},
		{"start", &eventstypes.TaskStart{ContainerID: "p-web-1", Pid: 42},
			scheduler.RuntimeEvent{Kind: scheduler.EventStarted, Container: "p-web-1", At: at}, true},
		{"exit of the main process", &eventstypes.TaskExit{ContainerID: "p-web-1", ID: "p-web-1", ExitStatus: 3, ExitedAt: protobuf.ToTimestamp(exited)},
			scheduler.RuntimeEvent{Kind: scheduler.EventExited, Container: "p-web-1", ExitCode: 3, At: exited}, true},
		{"exit of an exec", &eventstypes.TaskExit{ContainerID: "p-web-1", ID: "health-1", ExitStatus: 1},
			scheduler.RuntimeEvent{}, false},
		{"paused", &eventstypes.TaskPaused{ContainerID: "p-web-1"},
			scheduler.RuntimeEvent{Kind: scheduler.EventPaused, Container: "p-web-1", At: at}, true},
		{"resumed", &eventstypes.TaskResumed{ContainerID: "p-web-1"},
			scheduler.RuntimeEvent{Kind: scheduler.EventResumed, Container: "p-web-1", At: at}, true},
		{"oom", &eventstypes.TaskOOM{ContainerID: "p-web-1"},
			scheduler.RuntimeEvent{Kind: scheduler.EventOOM, Container: "p-web-1", At: at}, true},
		{"delete", &eventstypes.ContainerDelete{ID: "p-web-1"},
			scheduler.RuntimeEvent{Kind: scheduler.EventDeleted, Container: "p-web-1", At: at}, true},
		{"update", &eventstypes.ContainerUpdate{ID: "p-web-1", Labels: map[string]string{compose.LabelHealth: "{}"}},
			scheduler.RuntimeEvent{Kind: scheduler.EventUpdated, Container: "p-web-1", Labels: compose.Labels{compose.LabelHealth: "{}"}, At: at}, true},
		{"update without labels", &eventstypes.ContainerUpdate{ID: "p-web-1"},
			scheduler.RuntimeEvent{Kind: scheduler.EventUpdated, Container: "p-web-1", Labels: compose.Labels{}, At: at}, true},
		{"berth's kill", &containerKilled{ID: "p-web-1", Signal: 9},
			scheduler.RuntimeEvent{Kind: scheduler.EventKilled, Container: "p-web-1", Signal: 9, At: at}, true},
		{"berth's stop", &containerStopped{ID: "p-web-1"},
			scheduler.RuntimeEvent{Kind: scheduler.EventStopped, Container: "p-web-1", At: at}, true},
		{"quiesce", &containerQuiesced{ID: "p-web-1"},
			scheduler.RuntimeEvent{Kind: scheduler.EventQuiesced, Container: "p-web-1", At: at}, true},
		{"unquiesce", &containerUnquiesced{ID: "p-web-1"},
			scheduler.RuntimeEvent{Kind: scheduler.EventUnquiesced, Container: "p-web-1", At: at}, true},
		{"task delete: not followed", &eventstypes.TaskDelete{ContainerID: "p-web-1"},
			scheduler.RuntimeEvent{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := typeurl.MarshalAny(tt.event)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := runtimeEvent(a, at)
			if ok != tt.wantOK || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("runtimeEvent(%T) = %+v, %v; want %+v, %v", tt.event, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestEndedWith(t *testing.T) {
	ended, endNow := context.WithCancel(context.Background())
	endNow()
	live := context.Background()
	ending, endSoon := context.WithCancel(context.Background())
	go endSoon()
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want bool
	}{
		{"deadline, ctx ended", ended, status.Error(codes.DeadlineExceeded, "context deadline exceeded"), true},
		{"deadline as the client hands it over, ctx ended", ended,
			errgrpc.ToNative(status.Error(codes.DeadlineExceeded, "stream terminated by RST_STREAM with error code: CANCEL")), true},
		{"cancel, ctx ending a moment later", ending, status.Error(codes.Canceled, "stream terminated by RST_STREAM with error code: CANCEL"), true},
		{"daemon gone", live, status.Error(codes.Unavailable, "connection refused"), false},
		{"other error, ctx ended", ended, errors.New("boom"), false},
	}
	for _, tt := range tests {
		if got := endedWith(tt.ctx, tt.err); got != tt.want {
			t.Errorf("%s: endedWith = %v, want %v", tt.name, got, tt.want)
		}
	}
}
