package build

import (
	"context"
	"errors"
	"testing"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// fakeImages is an image store: name to target.
type fakeImages map[string]ocispec.Descriptor

func (f fakeImages) Get(_ context.Context, name string) (images.Image, error) {
	if name == "broken" {
		return images.Image{}, errdefs.ErrUnavailable
	}
	t, ok := f[name]
	if !ok {
		return images.Image{}, errdefs.ErrNotFound
	}
	return images.Image{Name: name, Target: t}, nil
}

// fakeContent is a content store's blobs.
type fakeContent map[digest.Digest]bool

func (f fakeContent) Info(_ context.Context, d digest.Digest) (content.Info, error) {
	if !f[d] {
		return content.Info{}, errdefs.ErrNotFound
	}
	return content.Info{Digest: d}, nil
}

func TestNamed(t *testing.T) {
	manifest := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("manifest"), Size: 400}
	config := digest.FromString("config")
	other := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("other"), Size: 400}
	both := fakeContent{manifest.Digest: true, config: true}
	tests := []struct {
		name    string
		images  fakeImages
		content fakeContent
		tags    []string
		want    bool
		wantErr bool
	}{
		{name: "every tag on the manifest", images: fakeImages{"a": manifest, "b": manifest}, content: both, tags: []string{"a", "b"}, want: true},
		{name: "a tag missing", images: fakeImages{"a": manifest}, content: both, tags: []string{"a", "b"}},
		{name: "a tag on another image", images: fakeImages{"a": manifest, "b": other}, content: both, tags: []string{"a", "b"}},
		{name: "same digest, other media type", images: fakeImages{"a": {MediaType: ocispec.MediaTypeImageIndex, Digest: manifest.Digest, Size: 400}}, content: both, tags: []string{"a"}},
		{name: "config blob gone", images: fakeImages{"a": manifest}, content: fakeContent{manifest.Digest: true}, tags: []string{"a"}},
		{name: "manifest blob gone", images: fakeImages{"a": manifest}, content: fakeContent{config: true}, tags: []string{"a"}},
		{name: "no tag (a platform of an index)", images: fakeImages{}, content: both},
		{name: "image store fails", images: fakeImages{}, content: both, tags: []string{"broken"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := named(context.Background(), tt.images, tt.content, tt.tags, manifest, config)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("named(%v) = %v, %v; want %v, error %v", tt.tags, got, err, tt.want, tt.wantErr)
			}
			if tt.wantErr && !errors.Is(err, errdefs.ErrUnavailable) {
				t.Errorf("named error = %v, want the store's", err)
			}
		})
	}
}
