package compose

import (
	"reflect"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

func TestChangedParts(t *testing.T) {
	three := 3
	base := func() types.ServiceConfig {
		return types.ServiceConfig{
			Name:        "web",
			Image:       "busybox",
			Environment: types.MappingWithEquals{"A": strPtr("1")},
			Ports:       []types.ServicePortConfig{{Target: 80, Published: "8080", Protocol: "tcp"}},
		}
	}
	tests := []struct {
		name   string
		change func(*types.ServiceConfig)
		want   []string
	}{
		{"nothing", func(*types.ServiceConfig) {}, nil},
		{"environment", func(s *types.ServiceConfig) { s.Environment = types.MappingWithEquals{"A": strPtr("2")} }, []string{"environment"}},
		{"image and command", func(s *types.ServiceConfig) {
			s.Image = "busybox:1"
			s.Command = types.ShellCommand{"sh"}
		}, []string{"command", "image"}},
		{"ports removed", func(s *types.ServiceConfig) { s.Ports = nil }, []string{"ports"}},
		{"volume added", func(s *types.ServiceConfig) {
			s.Volumes = []types.ServiceVolumeConfig{{Type: "volume", Source: "data", Target: "/data"}}
		}, []string{"volumes"}},
		{"scale is no change", func(s *types.ServiceConfig) { s.Scale = &three }, nil},
		{"build is no change", func(s *types.ServiceConfig) { s.Build = &types.BuildConfig{Context: "."} }, nil},
	}
	was, err := ServiceHashParts(base())
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base()
			tt.change(&s)
			now, err := ServiceHashParts(s)
			if err != nil {
				t.Fatal(err)
			}
			if got := ChangedParts(was, now); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ChangedParts(%q, %q) = %v, want %v", was, now, got, tt.want)
			}
		})
	}
}

func TestChangedPartsUnknown(t *testing.T) {
	for _, tt := range []struct{ was, now string }{{"", "image=1"}, {"image=1", ""}} {
		if got := ChangedParts(tt.was, tt.now); got != nil {
			t.Errorf("ChangedParts(%q, %q) = %v, want nil: an older container tells nothing", tt.was, tt.now, got)
		}
	}
}
