package containerd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/plugins/content/local"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth/berth/platform"
)

// binfmtDir writes a fake binfmt_misc directory with the handlers given
// (name → first line of its file).
func binfmtDir(t *testing.T, handlers map[string]string) string {
	dir := t.TempDir()
	for name, state := range handlers {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(state+"\ninterpreter /usr/libexec/qemu-binfmt/x\nflags: POF\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestSelectPlatform(t *testing.T) {
	if platforms.DefaultSpec().Architecture != "amd64" {
		t.Skip("the table is for an amd64 host")
	}
	sp := func(p string, present bool) StoredPlatform {
		return StoredPlatform{Platform: platforms.MustParse(p), Present: present}
	}
	arm := binfmtDir(t, map[string]string{"qemu-arm": "enabled"})
	tests := []struct {
		name string
		ps   []StoredPlatform
		want string // "" for none
	}{
		{"host first when present", []StoredPlatform{sp("linux/arm64", true), sp("linux/amd64", true)}, "linux/amd64"},
		{"host absent: first present", []StoredPlatform{sp("linux/amd64", false), sp("linux/arm64", true)}, "linux/arm64"},
		{"runnable before not runnable", []StoredPlatform{sp("linux/s390x", true), sp("linux/arm/v7", true)}, "linux/arm/v7"},
		{"nothing present", []StoredPlatform{sp("linux/amd64", false)}, ""},
		{"no platform", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := selectPlatform(arm, tt.ps)
			if (tt.want == "") != !ok || (ok && got.String() != tt.want) {
				t.Errorf("selectPlatform = %s, %v; want %q", got, ok, tt.want)
			}
		})
	}
}

// testStore is a content store in a temp dir with helpers to write an
// image into it.
type testStore struct {
	t  *testing.T
	cs content.Store
}

// memLabels keeps a test store's labels in memory, as containerd's
// metadata store keeps them for the daemon's.
type memLabels map[digest.Digest]map[string]string

func (m memLabels) Get(d digest.Digest) (map[string]string, error) { return m[d], nil }
func (m memLabels) Set(d digest.Digest, l map[string]string) error { m[d] = l; return nil }
func (m memLabels) Update(d digest.Digest, l map[string]string) (map[string]string, error) {
	if m[d] == nil {
		m[d] = map[string]string{}
	}
	for k, v := range l {
		if v == "" {
			delete(m[d], k)
		} else {
			m[d][k] = v
		}
	}
	return m[d], nil
}

func newTestStore(t *testing.T) testStore {
	cs, err := local.NewLabeledStore(t.TempDir(), memLabels{})
	if err != nil {
		t.Fatal(err)
	}
	return testStore{t: t, cs: cs}
}

func (s testStore) put(mediaType string, b []byte) ocispec.Descriptor {
	d := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(b), Size: int64(len(b))}
	if err := content.WriteBlob(context.Background(), s.cs, d.Digest.String(), bytes.NewReader(b), d); err != nil {
		s.t.Fatal(err)
	}
	return d
}

func (s testStore) putJSON(mediaType string, v any) ocispec.Descriptor {
	b, err := json.Marshal(v)
	if err != nil {
		s.t.Fatal(err)
	}
	return s.put(mediaType, b)
}

// image stores a one-layer image of platform p, its layer only when
// withLayer, and returns its manifest.
func (s testStore) image(p string, withLayer bool) ocispec.Descriptor {
	pl := platforms.MustParse(p)
	layerBytes := []byte("layer of " + p)
	layer := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayerGzip, Digest: digest.FromBytes(layerBytes), Size: int64(len(layerBytes))}
	if withLayer {
		layer = s.put(ocispec.MediaTypeImageLayerGzip, layerBytes)
	}
	cfg := s.putJSON(ocispec.MediaTypeImageConfig, ocispec.Image{Platform: pl})
	m := s.putJSON(ocispec.MediaTypeImageManifest, ocispec.Manifest{
		MediaType: ocispec.MediaTypeImageManifest, Config: cfg, Layers: []ocispec.Descriptor{layer},
	})
	m.Platform = &pl
	return m
}

func TestImagePlatforms(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	amd := s.image("linux/amd64", true)
	arm := s.image("linux/arm64", false)
	riscv := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("absent"), Size: 6,
		Platform: &ocispec.Platform{OS: "linux", Architecture: "riscv64"}}
	attestation := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("att"), Size: 3,
		Platform: &ocispec.Platform{OS: "unknown", Architecture: "unknown"}}
	index := s.putJSON(ocispec.MediaTypeImageIndex, ocispec.Index{
		MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{amd, arm, riscv, attestation},
	})

	ps, err := imagePlatforms(ctx, s.cs, index)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range ps {
		got = append(got, p.String()+map[bool]string{true: " present", false: " absent"}[p.Present])
	}
	want := "linux/amd64 present, linux/arm64 absent, linux/riscv64 absent"
	if strings.Join(got, ", ") != want {
		t.Errorf("imagePlatforms = %s; want %s", strings.Join(got, ", "), want)
	}
	if ps[0].Size == 0 || len(ps[0].Blobs) != 2 {
		t.Errorf("amd64: size %d, blobs %v; want its config and layer", ps[0].Size, ps[0].Blobs)
	}
	if got := presentNames(ps); got != "linux/amd64" {
		t.Errorf("presentNames = %q, want linux/amd64", got)
	}

	// A plain manifest's platform is its config's.
	single, err := imagePlatforms(ctx, s.cs, s.image("linux/arm/v7", true))
	if err != nil || len(single) != 1 || single[0].String() != "linux/arm/v7" || !single[0].Present {
		t.Errorf("imagePlatforms(manifest) = %+v, %v; want linux/arm/v7 present", single, err)
	}

	// The index itself missing is an error errdefs.IsNotFound satisfies.
	missing := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: digest.FromString("gone"), Size: 4}
	if _, err := imagePlatforms(ctx, s.cs, missing); !errdefs.IsNotFound(err) {
		t.Errorf("imagePlatforms(missing index) = %v; want not found", err)
	}
}

func TestAnyOf(t *testing.T) {
	m := anyOf([]ocispec.Platform{platforms.MustParse("linux/arm64"), platforms.MustParse("linux/amd64")})
	if !m.Match(platforms.MustParse("linux/arm64/v8")) || m.Match(platforms.MustParse("linux/arm/v7")) {
		t.Errorf("anyOf(arm64, amd64) matches wrongly")
	}
	if platforms.DefaultSpec().Architecture == "amd64" && !m.Less(platforms.MustParse("linux/amd64"), platforms.MustParse("linux/arm64")) {
		t.Errorf("anyOf: the host's platform does not come first")
	}
}

func TestPushTarget(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	amd := s.image("linux/amd64", true)
	arm := s.image("linux/arm64", false) // its layer is not stored
	riscv := s.image("linux/riscv64", true)
	full := s.putJSON(ocispec.MediaTypeImageIndex, ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{amd, riscv}})
	partial := s.putJSON(ocispec.MediaTypeImageIndex, ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{amd, arm, riscv}})
	none := s.putJSON(ocispec.MediaTypeImageIndex, ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{arm}})

	names := func(ps []ocispec.Platform) string {
		var out []string
		for _, p := range ps {
			out = append(out, platform.Format(p))
		}
		return strings.Join(out, ", ")
	}
	tests := []struct {
		name      string
		target    ocispec.Descriptor
		same      bool // the target itself is pushed
		platforms string
		manifests []ocispec.Descriptor
		err       string
	}{
		{"all stored: the index as it is", full, true, "linux/amd64, linux/riscv64", nil, ""},
		{"a plain manifest", amd, true, "linux/amd64", nil, ""},
		{"some stored: a new index of them", partial, false, "linux/amd64, linux/riscv64", []ocispec.Descriptor{amd, riscv}, ""},
		{"none stored", none, false, "", nil, "none of its platforms is stored"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ps, err := pushTarget(ctx, s.cs, images.Image{Name: "x", Target: tt.target})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("pushTarget = %v; want error %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if names(ps) != tt.platforms {
				t.Errorf("pushTarget platforms = %s, want %s", names(ps), tt.platforms)
			}
			if tt.same != (got.Digest == tt.target.Digest) {
				t.Errorf("pushTarget = %s; pushes the target itself: %v, want %v", got.Digest, got.Digest == tt.target.Digest, tt.same)
			}
			if tt.manifests == nil {
				return
			}
			idx, err := readIndex(ctx, s.cs, got)
			if err != nil {
				t.Fatal(err)
			}
			if len(idx.Manifests) != len(tt.manifests) {
				t.Fatalf("new index = %+v, want manifests %+v", idx.Manifests, tt.manifests)
			}
			info, err := s.cs.Info(ctx, got.Digest)
			if err != nil {
				t.Fatal(err)
			}
			for i, m := range tt.manifests {
				if idx.Manifests[i].Digest != m.Digest {
					t.Errorf("new index manifest %d = %s, want %s", i, idx.Manifests[i].Digest, m.Digest)
				}
				if info.Labels[fmt.Sprintf("containerd.io/gc.ref.content.m.%d", i)] != m.Digest.String() {
					t.Errorf("new index has no gc reference to %s: %v", m.Digest, info.Labels)
				}
			}
		})
	}
}
