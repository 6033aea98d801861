package build

import (
	"testing"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth/berth/platform"
)

func TestPlatformArgs(t *testing.T) {
	host := platform.Host()
	got := platformArgs(ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"})
	want := map[string]string{
		"TARGETPLATFORM": "linux/arm/v7", "TARGETOS": "linux", "TARGETARCH": "arm", "TARGETVARIANT": "v7",
		"BUILDPLATFORM": platforms.Format(host), "BUILDOS": host.OS, "BUILDARCH": host.Architecture, "BUILDVARIANT": host.Variant,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("platformArgs(linux/arm/v7)[%s] = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("platformArgs gave %d args, want %d: %v", len(got), len(want), got)
	}
}
