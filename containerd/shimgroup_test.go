package containerd

import (
	"errors"
	"testing"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth/berth/compose"
)

func TestShimAnchor(t *testing.T) {
	tests := []struct {
		shims                    ShimSharing
		pause                    string
		namespace, project, want string
	}{
		{ShimPerProject, "/bin/berth-probe", "berth", "shop", "berth.shim.shop"},
		{ShimPerProject, "/bin/berth-probe", "other", "shop_2", "berth.shim.shop_2"},
		{ShimPerProject, "/bin/berth-probe", "berth", compose.ContainersProject, ""},
		{ShimPerProject, "/bin/berth-probe", "berth", "", ""},
		{ShimPerProject, "", "berth", "shop", ""}, // nothing to run in the anchor
		{ShimPerContainer, "/bin/berth-probe", "berth", "shop", ""},
	}
	for _, tt := range tests {
		c := &Client{namespace: tt.namespace, shims: tt.shims, pauseBinary: tt.pause}
		if got := c.shimAnchor(tt.project); got != tt.want {
			t.Errorf("shimAnchor(%q) with sharing %d, pause %q = %q, want %q", tt.project, tt.shims, tt.pause, got, tt.want)
		}
	}
	c := &Client{namespace: "other"}
	if got, want := c.shimGroup("shop"), "berth/other/shop"; got != want {
		t.Errorf("shimGroup = %q, want %q (the namespace keeps two berths' groups apart)", got, want)
	}
}

func TestIsAnchorLost(t *testing.T) {
	lost := errors.New(`failed to create shim task: can't find shim for sandbox berth.shim.shop: not found`)
	if !isAnchorLost(lost) {
		t.Errorf("isAnchorLost(%v) = false", lost)
	}
	for _, err := range []error{nil, errors.New("task shop-web-1: already exists")} {
		if isAnchorLost(err) {
			t.Errorf("isAnchorLost(%v) = true", err)
		}
	}
}

func TestParseShimSharing(t *testing.T) {
	tests := []struct {
		name    string
		want    ShimSharing
		wantErr bool
	}{
		{"", ShimPerProject, false},
		{"container", ShimPerContainer, false},
		{"project", ShimPerProject, false},
		{"pod", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseShimSharing(tt.name)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParseShimSharing(%q) = %v, %v; want %v, error %v", tt.name, got, err, tt.want, tt.wantErr)
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
