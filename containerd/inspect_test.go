package containerd

import (
	"strings"
	"testing"
	"time"

	v2 "github.com/containerd/cgroups/v3/cgroup2/stats"
	"github.com/containerd/containerd/api/types"
	"github.com/containerd/typeurl/v2"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/berth/berth/scheduler"
	"github.com/berth/berth/stats"
)

func TestMetricsSample(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	data, err := typeurl.MarshalAnyToProto(&v2.Metrics{
		CPU:    &v2.CPUStat{UsageUsec: 1500},
		Memory: &v2.MemoryStat{Usage: 10 << 20, InactiveFile: 2 << 20, UsageLimit: 64 << 20},
		Pids:   &v2.PidsStat{Current: 3},
		Io:     &v2.IOStat{Usage: []*v2.IOEntry{{Rbytes: 100, Wbytes: 20}, {Rbytes: 1, Wbytes: 2}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	sc := scheduler.Container{ID: "demo-web-1", Name: "demo-web-1"}
	got, err := metricsSample(sc, &types.Metric{ID: sc.ID, Timestamp: timestamppb.New(at), Data: data})
	want := stats.Sample{ID: sc.ID, Name: sc.Name, At: at, CPU: 1500 * time.Microsecond, Mem: 8 << 20, MemLimit: 64 << 20,
		Pids: 3, BlockRead: 101, BlockWrite: 22}
	if err != nil || got != want {
		t.Errorf("metricsSample = %+v, %v, want %+v", got, err, want)
	}

	_, err = metricsSample(sc, &types.Metric{ID: sc.ID, Data: &anypb.Any{TypeUrl: "unknown"}})
	if err == nil || !strings.Contains(err.Error(), "container demo-web-1: metrics") {
		t.Errorf("metricsSample(unknown data) = %v, want an error naming the container", err)
	}
}
