package containerd

import (
	"context"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestContainerPlatform(t *testing.T) {
	if platforms.DefaultSpec().Architecture != "amd64" {
		t.Skip("the table is for an amd64 host")
	}
	ctx := context.Background()
	s := newTestStore(t)
	amd := s.image("linux/amd64", true)
	arm := s.image("linux/arm64", true)
	armAbsent := s.image("linux/arm/v7", false)
	both := s.putJSON(ocispec.MediaTypeImageIndex, ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{amd, arm}})
	none := s.putJSON(ocispec.MediaTypeImageIndex, ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{armAbsent}})
	configOf := func(m ocispec.Descriptor) string {
		man, err := readManifest(ctx, s.cs, m)
		if err != nil {
			t.Fatal(err)
		}
		return man.Config.Digest.String()
	}
	tests := []struct {
		name    string
		target  ocispec.Descriptor
		imageID string
		want    string // "" for a not found error
	}{
		{"the container's platform, not the host's", both, configOf(arm), "linux/arm64"},
		{"the host's platform when it made the container", both, configOf(amd), "linux/amd64"},
		{"no image ID: the host's", both, "", "linux/amd64"},
		{"image re-tagged since: berth's pick", both, "sha256:0000", "linux/amd64"},
		{"a plain manifest of another platform", arm, configOf(arm), "linux/arm64"},
		{"a plain manifest without image ID", arm, "", "linux/arm64"},
		{"nothing stored", none, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp, m, err := containerPlatform(ctx, s.cs, t.TempDir(), tt.target, tt.imageID)
			if tt.want == "" {
				if !errdefs.IsNotFound(err) {
					t.Fatalf("containerPlatform = %s, %v; want not found", sp, err)
				}
				return
			}
			if err != nil || sp.String() != tt.want {
				t.Fatalf("containerPlatform = %s, %v; want %s", sp, err, tt.want)
			}
			if m.Config.Digest != sp.Blobs[0].Digest {
				t.Errorf("containerPlatform's manifest has config %s, want the platform's %s", m.Config.Digest, sp.Blobs[0].Digest)
			}
		})
	}
}
