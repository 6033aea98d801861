package containerd

import (
	"testing"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth/berth/compose"
)

func TestShimGroup(t *testing.T) {
	tests := []struct {
		namespace, project, want string
	}{
		{"berth", "shop", "berth/berth/shop"},
		{"other", "shop", "berth/other/shop"},
		{"berth", "shop-2", "berth/berth/shop-2"},
		{"berth", compose.ContainersProject, ""},
		{"berth", "", ""},
	}
	for _, tt := range tests {
		c := &Client{namespace: tt.namespace}
		if got := c.shimGroup(tt.project); got != tt.want {
			t.Errorf("shimGroup(%q) in namespace %q = %q, want %q", tt.project, tt.namespace, got, tt.want)
		}
	}
}

// TestSpecShimGroup: the group reaches the spec's annotation that
// containerd's runc shim groups tasks by; no group, no annotation.
func TestSpecShimGroup(t *testing.T) {
	img := v1.ImageConfig{Cmd: []string{"sh"}}
	for _, group := range []string{"berth/berth/shop", ""} {
		s := genSpec(t, specInput{Name: "shop-web-1", Image: img, Service: &compose.Service{Name: "web"}, EtcDir: "/etc-dir", ShimGroup: group})
		got, ok := s.Annotations[annotationShimGroup]
		if group == "" && ok {
			t.Errorf("no group: spec has annotation %s=%q", annotationShimGroup, got)
		}
		if group != "" && got != group {
			t.Errorf("group %q: spec's annotation %s = %q", group, annotationShimGroup, got)
		}
	}
}
