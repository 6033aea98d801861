package containerd

import (
	"errors"
	"testing"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth/berth/compose"
)

func TestShimGroup(t *testing.T) {
	tests := []struct {
		shims                    ShimSharing
		namespace, project, want string
	}{
		{ShimPerProject, "berth", "shop", "berth/berth/shop"},
		{ShimPerProject, "other", "shop", "berth/other/shop"},
		{ShimPerProject, "berth", "shop-2", "berth/berth/shop-2"},
		{ShimPerProject, "berth", compose.ContainersProject, ""},
		{ShimPerProject, "berth", "", ""},
		{ShimPerContainer, "berth", "shop", ""},
	}
	for _, tt := range tests {
		c := &Client{namespace: tt.namespace, shims: tt.shims}
		if got := c.shimGroup(tt.project); got != tt.want {
			t.Errorf("shimGroup(%q) in namespace %q with sharing %d = %q, want %q", tt.project, tt.namespace, tt.shims, got, tt.want)
		}
	}
}

func TestParseShimSharing(t *testing.T) {
	tests := []struct {
		name    string
		want    ShimSharing
		wantErr bool
	}{
		{"", ShimPerContainer, false},
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

// TestInShimGroup: the first task of a group is made holding the group's
// lock, and a failed one leaves the group to start again; once a task of
// the group was made, the next ones do not wait for the lock (they are
// made side by side). Without a group nothing is locked.
func TestInShimGroup(t *testing.T) {
	c := &Client{}
	failed := errors.New("no shim")
	if err := c.inShimGroup("g", func() error { return failed }); err != failed {
		t.Fatalf("a failed create = %v, want its error", err)
	}
	if _, up := c.shimsUp.Load("g"); up {
		t.Fatal("a failed create marked the group's shim started")
	}
	if err := c.inShimGroup("g", func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	// The lock held elsewhere (a sibling's first task being made) holds
	// no one up once the group's shim is known to run.
	unlock := c.shimStarts.lock("g")
	defer unlock()
	ran := false
	if err := c.inShimGroup("g", func() error { ran = true; return nil }); err != nil || !ran {
		t.Errorf("a create in a started group = %v, ran %v", err, ran)
	}
	unlockNone := c.shimStarts.lock("")
	defer unlockNone()
	if err := c.inShimGroup("", func() error { return nil }); err != nil {
		t.Errorf("a create without a group = %v", err)
	}
}
