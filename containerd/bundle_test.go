package containerd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/plugins/content/local"
	"github.com/containerd/platforms"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// put writes a blob to the store and returns its descriptor.
func put(t *testing.T, cs content.Store, mediaType string, v any) ocispec.Descriptor {
	t.Helper()
	data, ok := v.([]byte)
	if !ok {
		var err error
		if data, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	d := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}
	if err := content.WriteBlob(context.Background(), cs, d.Digest.String(), bytes.NewReader(data), d); err != nil {
		t.Fatal(err)
	}
	return d
}

// platformImage writes an image manifest for p (its config and one layer)
// and returns its descriptor; with keep false, the manifest is not kept
// in the store (as a pull of another platform leaves it).
func platformImage(t *testing.T, cs content.Store, p ocispec.Platform, keep bool) ocispec.Descriptor {
	t.Helper()
	cfg := put(t, cs, ocispec.MediaTypeImageConfig, ocispec.Image{Platform: p})
	layer := put(t, cs, ocispec.MediaTypeImageLayerGzip, []byte("layer for "+platforms.Format(p)))
	man := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: cfg, Layers: []ocispec.Descriptor{layer}}
	man.SchemaVersion = 2
	d := put(t, cs, ocispec.MediaTypeImageManifest, man)
	if !keep {
		if err := cs.Delete(context.Background(), d.Digest); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func TestPlatformManifest(t *testing.T) {
	ctx := context.Background()
	cs, err := local.NewStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	amd64 := ocispec.Platform{OS: "linux", Architecture: "amd64"}
	arm64 := ocispec.Platform{OS: "linux", Architecture: "arm64"}
	armv7 := ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}
	amdMan := platformImage(t, cs, amd64, true)
	armMan := platformImage(t, cs, arm64, false)
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex}
	idx.SchemaVersion = 2
	for _, m := range []struct {
		d ocispec.Descriptor
		p ocispec.Platform
	}{{amdMan, amd64}, {armMan, arm64}} {
		d := m.d
		p := m.p
		d.Platform = &p
		idx.Manifests = append(idx.Manifests, d)
	}
	index := put(t, cs, ocispec.MediaTypeImageIndex, idx)
	tests := []struct {
		name     string
		target   ocispec.Descriptor
		platform ocispec.Platform
		want     digest.Digest
		wantErr  string
	}{
		{"index, platform here", index, amd64, amdMan.Digest, ""},
		{"index, platform pulled elsewhere only", index, arm64, "", "no content for the platform here"},
		{"index without the platform", index, armv7, "", "the image has no manifest for this platform"},
		{"manifest of the platform", amdMan, amd64, amdMan.Digest, ""},
		{"manifest of another platform", amdMan, arm64, "", "the image is for linux/amd64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, man, err := platformManifest(ctx, cs, tt.target, platforms.OnlyStrict(tt.platform))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrPlatformMissing) {
					t.Fatalf("platformManifest(%s) = %v, want ErrPlatformMissing with %q", platforms.Format(tt.platform), err, tt.wantErr)
				}
				return
			}
			if err != nil || d.Digest != tt.want || len(man.Layers) != 1 {
				t.Fatalf("platformManifest(%s) = %s, %d layers, %v; want %s", platforms.Format(tt.platform), d.Digest, len(man.Layers), err, tt.want)
			}
		})
	}
}
