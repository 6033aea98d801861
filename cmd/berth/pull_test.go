package main

import (
	"context"
	"testing"

	"github.com/berth/berth/compose"
)

func TestPullSkip(t *testing.T) {
	tests := []struct {
		name    string
		svc     compose.Service
		present bool
		want    string
	}{
		{"build only", compose.Service{HasBuild: true, PullPolicy: compose.PullBuild}, false, skipNoImage},
		{"never", compose.Service{Image: "db:1", PullPolicy: compose.PullNever}, true, skipPolicy},
		{"build policy", compose.Service{Image: "db:1", PullPolicy: compose.PullBuild}, false, skipPolicy},
		{"no policy, present", compose.Service{Image: "db:1", PullPolicy: compose.PullMissing}, true, ""},
		{"missing, present", compose.Service{Image: "db:1", PullPolicy: compose.PullMissing, PullIfMissing: true}, true, skipPresent},
		{"missing, absent", compose.Service{Image: "db:1", PullPolicy: compose.PullMissing, PullIfMissing: true}, false, ""},
		{"missing, latest", compose.Service{Image: "db", PullPolicy: compose.PullMissing, PullIfMissing: true}, true, ""},
		{"missing, digest", compose.Service{Image: "db@sha256:0123456789012345678901234567890123456789012345678901234567890123", PullPolicy: compose.PullMissing, PullIfMissing: true}, true, ""},
		{"always", compose.Service{Image: "db:1", PullPolicy: compose.PullAlways}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.svc.Name = "svc"
			got, err := pullSkip(context.Background(), &tt.svc, func(context.Context, string) (bool, error) { return tt.present, nil })
			if err != nil || got != tt.want {
				t.Errorf("pullSkip(%+v) = %q, %v; want %q", tt.svc, got, err, tt.want)
			}
		})
	}
}
