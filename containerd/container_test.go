package containerd

import (
	"slices"
	"strconv"
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

// TestObserveVolumes: the named volumes a container uses are those its
// label lists, with those its spec mounts from berth's volume directory
// (all a container made before the label has).
func TestObserveVolumes(t *testing.T) {
	c := &Client{dataDir: "/var/lib/berth"}
	spec := func(sources ...string) *anypb.Any {
		b := []byte(`{"mounts":[`)
		for i, src := range sources {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"destination":"/d`+strconv.Itoa(i)+`","type":"bind","source":"`+src+`"}`...)
		}
		return &anypb.Any{Value: append(b, "]}"...)}
	}
	tests := []struct {
		name  string
		label string
		spec  *anypb.Any
		want  []string
	}{
		{name: "before the label: the spec's", spec: spec("/var/lib/berth/volumes/demo_data/_data", "/srv/conf"), want: []string{"demo_data"}},
		{name: "bound from a driver_opts device", label: "demo_data,demo_dev", spec: spec("/var/lib/berth/volumes/demo_data/_data", "/srv/device"),
			want: []string{"demo_data", "demo_dev"}},
		{name: "tmpfs volume, no spec", label: "demo_cache", want: []string{"demo_cache"}},
		{name: "none", spec: spec("/srv/conf")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			labels := map[string]string{}
			if tt.label != "" {
				labels[labelVolumes] = tt.label
			}
			got := c.observe(containers.Container{ID: "demo-app-1", Labels: labels, Spec: tt.spec}, nil).Volumes
			if !slices.Equal(got, tt.want) {
				t.Errorf("observe().Volumes = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNamedVolumes(t *testing.T) {
	s := &compose.Service{Mounts: []compose.Mount{
		{Type: compose.MountVolume, Source: "demo_data", Target: "/data"},
		{Type: compose.MountBind, Source: "/srv/conf", Target: "/conf"},
		{Type: compose.MountVolume, Source: "demo_data", Target: "/again"},
		{Type: compose.MountTmpfs, Target: "/tmp"},
		{Type: compose.MountVolume, Source: "demo_dev", Target: "/dev"},
	}}
	if got, want := namedVolumes(s), []string{"demo_data", "demo_dev"}; !slices.Equal(got, want) {
		t.Errorf("namedVolumes = %q, want %q", got, want)
	}
}
