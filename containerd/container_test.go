package containerd

import (
	"slices"
	"testing"
	"time"

	apitask "github.com/containerd/containerd/api/types/task"
	"github.com/containerd/containerd/v2/core/containers"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/scheduler"
)

func TestObserve(t *testing.T) {
	c := &Client{dataDir: "/var/lib/berth"}
	exited := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	spec := []byte(`{"process":{"args":["sleep","600"]},"mounts":[` +
		`{"destination":"/data","type":"bind","source":"/var/lib/berth/volumes/demo_data/_data"},` +
		`{"destination":"/etc/hosts","type":"bind","source":"/var/lib/berth/containers/x/hosts"}]}`)
	info := func(labels map[string]string) containers.Container {
		l := map[string]string{compose.LabelProject: "demo", compose.LabelImage: "busybox"}
		for k, v := range labels {
			l[k] = v
		}
		return containers.Container{ID: "demo-web-1", Labels: l, Spec: &anypb.Any{TypeUrl: "types.containerd.io/opencontainers/runtime-spec/1/Spec", Value: spec}}
	}
	tests := []struct {
		name     string
		labels   map[string]string
		proc     *apitask.Process
		state    scheduler.State
		exitCode int
		finished time.Time
	}{
		{name: "created, no task", state: scheduler.StateCreated},
		{name: "prepared", proc: &apitask.Process{Status: apitask.Status_CREATED}, state: scheduler.StateCreated},
		{name: "running", proc: &apitask.Process{Status: apitask.Status_RUNNING}, state: scheduler.StateRunning},
		{name: "paused", proc: &apitask.Process{Status: apitask.Status_PAUSED}, state: scheduler.StatePaused},
		{name: "exited, task kept", proc: &apitask.Process{Status: apitask.Status_STOPPED, ExitStatus: 137, ExitedAt: timestamppb.New(exited)},
			state: scheduler.StateExited, exitCode: 137, finished: exited},
		{name: "stopped, task deleted: the labels tell", labels: map[string]string{labelExitCode: "3", labelFinishedAt: exited.Format(time.RFC3339Nano)},
			state: scheduler.StateExited, exitCode: 3, finished: exited},
		{name: "unknown", proc: &apitask.Process{Status: apitask.Status_UNKNOWN}, state: scheduler.StateUnknown},
	}
	for _, tt := range tests {
		got := c.observe(info(tt.labels), tt.proc)
		if got.State != tt.state || got.ExitCode != tt.exitCode || !got.FinishedAt.Equal(tt.finished) {
			t.Errorf("%s: state %s, exit %d, finished %s; want %s, %d, %s", tt.name, got.State, got.ExitCode, got.FinishedAt, tt.state, tt.exitCode, tt.finished)
		}
		if got.Command != "sleep 600" || !slices.Equal(got.Volumes, []string{"demo_data"}) || got.Image != "busybox" || got.Name != "demo-web-1" {
			t.Errorf("%s: command %q, volumes %q, image %q, name %q", tt.name, got.Command, got.Volumes, got.Image, got.Name)
		}
	}
}
