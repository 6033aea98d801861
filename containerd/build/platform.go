package build

import (
	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// platformKey is a platform as the build cache keys and messages name it.
func platformKey(p ocispec.Platform) string {
	return platforms.Format(p)
}
