package bundle

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth/berth/platform"
)

// fakeStore is a content store of blobs by digest.
type fakeStore map[digest.Digest][]byte

func (s fakeStore) ReadBlob(_ context.Context, b Blob) (io.ReadCloser, error) {
	data, ok := s[b.Digest]
	if !ok {
		return nil, fmt.Errorf("blob %s: not found", b.Digest)
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

func (s fakeStore) add(mediaType string, data []byte) Blob {
	d := digest.FromBytes(data)
	s[d] = data
	return Blob{Digest: d, Size: int64(len(data)), MediaType: mediaType}
}

// image adds an image of the given layers to the store and returns it
// with its blobs.
func (s fakeStore) image(t *testing.T, name string, layers ...string) (Image, []Blob) {
	t.Helper()
	cfg := s.add(ocispec.MediaTypeImageConfig, []byte(`{"architecture":"amd64","os":"linux","name":"`+name+`"}`))
	man := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: ocispec.Descriptor{MediaType: cfg.MediaType, Digest: cfg.Digest, Size: cfg.Size}}
	man.SchemaVersion = 2
	blobs := []Blob{cfg}
	for _, l := range layers {
		b := s.add(ocispec.MediaTypeImageLayerGzip, []byte(l))
		man.Layers = append(man.Layers, ocispec.Descriptor{MediaType: b.MediaType, Digest: b.Digest, Size: b.Size})
		blobs = append(blobs, b)
	}
	data, err := json.Marshal(man)
	if err != nil {
		t.Fatal(err)
	}
	mb := s.add(ocispec.MediaTypeImageManifest, data)
	img := Image{Name: name, Digest: mb.Digest, MediaType: mb.MediaType, Platform: "linux/amd64", Blobs: []digest.Digest{mb.Digest}}
	blobs = append([]Blob{mb}, blobs...)
	for _, b := range blobs[1:] {
		img.Blobs = append(img.Blobs, b.Digest)
	}
	for _, b := range blobs {
		img.Size += b.Size
	}
	return img, blobs
}

// testBundle makes a bundle of two images sharing a layer, and returns its
// manifest, project files and store.
func testBundle(t *testing.T, layerOfB string) (*Manifest, []ProjectFile, fakeStore) {
	t.Helper()
	s := fakeStore{}
	a, ablobs := s.image(t, "app-a:latest", "shared layer", "layer of a")
	b, bblobs := s.image(t, "app-b:latest", "shared layer", layerOfB)
	m := &Manifest{
		Project:  "app",
		Platform: "linux/amd64",
		Services: []Service{{Name: "b", Image: b.Name}, {Name: "a", Image: a.Name}},
		Images:   []Image{b, a},
		Blobs:    Unique(append(ablobs, bblobs...)),
		Secrets:  []Secret{{Name: "token", File: "secrets/token"}},
	}
	files := []ProjectFile{
		{Path: "env/app.env", Data: []byte("A=1\n")},
		{Path: ComposeFile, Data: []byte("name: app\nservices: {}\n")},
	}
	return m, files, s
}

func write(t *testing.T, m *Manifest, files []ProjectFile, s fakeStore) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(context.Background(), &buf, m, files, s); err != nil {
		t.Fatalf("Write = %v", err)
	}
	return buf.Bytes()
}

func TestWriteIsReproducible(t *testing.T) {
	m1, f1, s := testBundle(t, "layer of b")
	first := write(t, m1, f1, s)
	m2, f2, _ := testBundle(t, "layer of b")
	// The same content given in another order.
	f2[0], f2[1] = f2[1], f2[0]
	m2.Blobs[0], m2.Blobs[len(m2.Blobs)-1] = m2.Blobs[len(m2.Blobs)-1], m2.Blobs[0]
	if second := write(t, m2, f2, s); !bytes.Equal(first, second) {
		t.Fatalf("two bundles of the same inputs differ (%d and %d bytes)", len(first), len(second))
	}
	tr := tar.NewReader(bytes.NewReader(first))
	var names []string
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !hdr.ModTime.Equal(epoch) || hdr.Uid != 0 || hdr.Gid != 0 || hdr.Uname != "" || hdr.Gname != "" || hdr.Mode != 0o644 {
			t.Errorf("entry %s: mtime %v, owner %d:%d %q:%q, mode %o; want the epoch, 0:0, no names, 0644", hdr.Name, hdr.ModTime, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname, hdr.Mode)
		}
		names = append(names, hdr.Name)
	}
	want := []string{ManifestName, layoutName, indexName, "project/compose.yaml", "project/env/app.env"}
	for i, w := range want {
		if i >= len(names) || names[i] != w {
			t.Fatalf("entries = %v, want them to start with %v", names, want)
		}
	}
	blobs := names[len(want):]
	if len(blobs) != len(m1.Blobs) {
		t.Fatalf("blob entries = %v, want %d", blobs, len(m1.Blobs))
	}
	for i := 1; i < len(blobs); i++ {
		if blobs[i-1] >= blobs[i] {
			t.Errorf("blob entries are not sorted: %v", blobs)
		}
	}
}

func TestVerify(t *testing.T) {
	m, files, s := testBundle(t, "layer of b")
	data := write(t, m, files, s)
	b, err := Verify(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Verify = %v", err)
	}
	sum := sha256.Sum256(data)
	if want := "sha256:" + hex.EncodeToString(sum[:]); b.ID != want || b.Size != int64(len(data)) {
		t.Errorf("Verify: ID %s, size %d; want %s, %d", b.ID, b.Size, want, len(data))
	}
	if b.Manifest.Project != "app" || len(b.Manifest.Images) != 2 || b.Manifest.Images[0].Name != "app-a:latest" {
		t.Errorf("Verify: manifest %+v", b.Manifest)
	}
	if got := string(b.Files["env/app.env"]); got != "A=1\n" {
		t.Errorf("Verify: env/app.env = %q", got)
	}
	var got []digest.Digest
	err = Blobs(bytes.NewReader(data), func(bl Blob, r io.Reader) error {
		content, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		if digest.FromBytes(content) != bl.Digest {
			return fmt.Errorf("blob %s: wrong content", bl.Digest)
		}
		got = append(got, bl.Digest)
		return nil
	})
	if err != nil || len(got) != len(m.Blobs) {
		t.Errorf("Blobs = %v, %d blobs; want nil, %d", err, len(got), len(m.Blobs))
	}
	// Shared blobs count once.
	var total int64
	for _, bl := range m.Blobs {
		total += bl.Size
	}
	if m.TotalSize() != total {
		t.Errorf("TotalSize = %d, want %d", m.TotalSize(), total)
	}
}

// retar rewrites a bundle's entries through edit (nil: drop the entry).
func retar(t *testing.T, data []byte, edit func(name string, body []byte) []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		if body = edit(hdr.Name, body); body == nil {
			continue
		}
		hdr.Size = int64(len(body))
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		tw.Write(body) //nolint:errcheck // a bytes.Buffer
	}
	tw.Close()
	return out.Bytes()
}

func TestVerifyRefusesBadBundles(t *testing.T) {
	m, files, s := testBundle(t, "layer of b")
	good := write(t, m, files, s)
	layer := digest.FromBytes([]byte("layer of a"))
	tests := []struct {
		name string
		bad  func() []byte
		want string
	}{
		{"empty", func() []byte { return nil }, "not a berth bundle"},
		{"not a bundle", func() []byte {
			return retar(t, good, func(name string, body []byte) []byte {
				if name == ManifestName {
					return nil
				}
				return body
			})
		}, "not a berth bundle: it starts with oci-layout"},
		{"truncated in a blob", func() []byte {
			i := bytes.Index(good, []byte("layer of a"))
			return good[:i+3]
		}, "truncated"},
		{"truncated after a blob", func() []byte {
			// The entries up to the first blob, whole, and no more.
			var out bytes.Buffer
			tw := tar.NewWriter(&out)
			tr := tar.NewReader(bytes.NewReader(good))
			for {
				hdr, err := tr.Next()
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(tr)
				tw.WriteHeader(hdr) //nolint:errcheck // a bytes.Buffer
				tw.Write(body)      //nolint:errcheck // a bytes.Buffer
				if strings.HasPrefix(hdr.Name, blobsPrefix) {
					break
				}
			}
			tw.Flush() //nolint:errcheck // a bytes.Buffer
			return out.Bytes()
		}, "lacks blob"},
		{"end-of-archive marker cut", func() []byte { return good[:len(good)-700] }, "truncated"},
		{"wrong digest", func() []byte {
			bad := bytes.Clone(good)
			i := bytes.Index(bad, []byte("layer of a"))
			bad[i] = 'L'
			return bad
		}, "blob " + layer.String() + " has the digest"},
		{"missing blob", func() []byte {
			return retar(t, good, func(name string, body []byte) []byte {
				if name == blobsPrefix+layer.Encoded() {
					return nil
				}
				return body
			})
		}, "lacks blob " + layer.String()},
		{"damaged project file", func() []byte {
			return retar(t, good, func(name string, body []byte) []byte {
				if name == "project/env/app.env" {
					return []byte("A=2\n")
				}
				return body
			})
		}, "project/env/app.env does not match its digest"},
		{"rewritten unchanged (the retar helper keeps a good bundle good)", func() []byte {
			return retar(t, good, func(name string, body []byte) []byte {
				if name == "project/env/app.env" {
					return []byte("A=1\n")
				}
				if name == indexName {
					return body
				}
				return body
			})
		}, ""},
		{"unknown entry", func() []byte {
			var out bytes.Buffer
			tw := tar.NewWriter(&out)
			tr := tar.NewReader(bytes.NewReader(good))
			for {
				hdr, err := tr.Next()
				if err == io.EOF {
					break
				}
				body, _ := io.ReadAll(tr)
				tw.WriteHeader(hdr) //nolint:errcheck // a bytes.Buffer
				tw.Write(body)      //nolint:errcheck // a bytes.Buffer
				if hdr.Name == indexName {
					tw.WriteHeader(header("etc/passwd", 1)) //nolint:errcheck // a bytes.Buffer
					tw.Write([]byte("x"))                   //nolint:errcheck // a bytes.Buffer
				}
			}
			tw.Close()
			return out.Bytes()
		}, "etc/passwd, which is no part of its layout"},
		{"project escapes its directory", func() []byte {
			return retar(t, good, func(name string, body []byte) []byte {
				if name == ManifestName {
					return bytes.Replace(body, []byte(`"path": "env/app.env"`), []byte(`"path": "../app.env"`), 1)
				}
				return body
			})
		}, "must be relative, clean and inside the project"},
		{"index names another image", func() []byte {
			return retar(t, good, func(name string, body []byte) []byte {
				if name == indexName {
					return bytes.Replace(body, []byte("app-a:latest"), []byte("app-x:latest"), 1)
				}
				return body
			})
		}, "index.json does not name image app-a:latest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Verify(bytes.NewReader(tt.bad()))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Verify of an unchanged bundle = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Verify = %v, want an error containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("Verify's error has several lines: %q", err)
			}
		})
	}
}

func TestVerifyTruncatedIsErrTruncated(t *testing.T) {
	m, files, s := testBundle(t, "layer of b")
	good := write(t, m, files, s)
	for n := 0; n < len(good); n += 100 {
		_, err := Verify(bytes.NewReader(good[:n]))
		if err == nil {
			t.Errorf("Verify of the first %d of %d bytes = nil, want an error", n, len(good))
		}
	}
}

func TestSinceShipsOnlyNewBlobs(t *testing.T) {
	m, files, s := testBundle(t, "layer of b")
	old, err := Verify(bytes.NewReader(write(t, m, files, s)))
	if err != nil {
		t.Fatal(err)
	}
	m2, files2, s2 := testBundle(t, "layer of b, version 2")
	var ship []Blob
	ship, m2.Base = Since(m2.Blobs, old)
	m2.Blobs = ship
	data := write(t, m2, files2, s2)
	b, err := Verify(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Verify of the update = %v", err)
	}
	if b.Manifest.Base == nil || b.Manifest.Base.ID != old.ID {
		t.Fatalf("update's base = %+v, want ID %s", b.Manifest.Base, old.ID)
	}
	// b's new layer, config (another name: no) and manifest are new: the
	// shared layer, a's blobs and b's config are in the base.
	want := map[digest.Digest]bool{digest.FromBytes([]byte("layer of b, version 2")): true}
	for _, img := range m2.Images {
		if img.Name == "app-b:latest" {
			want[img.Digest] = true
		}
	}
	if len(ship) != len(want) {
		t.Errorf("the update ships %d blobs, want %d (the new layer and manifest)", len(ship), len(want))
	}
	for _, bl := range ship {
		if !want[bl.Digest] {
			t.Errorf("the update ships %s, which the base has", bl.Digest)
		}
	}
	if len(data) >= int(old.Size) && len(ship) >= len(old.Manifest.Blobs) {
		t.Errorf("the update (%d bytes) is not smaller than its base (%d)", len(data), old.Size)
	}
	// A manifest naming a blob neither shipped nor in its base is refused.
	m2.Base.Blobs = m2.Base.Blobs[1:]
	if err := Write(context.Background(), io.Discard, m2, files2, s2); err == nil || !strings.Contains(err.Error(), "neither ships nor expects") {
		t.Errorf("Write of an update missing a base blob = %v, want an error", err)
	}
}

func TestWriteRefusesPathsOutsideTheProject(t *testing.T) {
	m, _, s := testBundle(t, "layer of b")
	for _, p := range []string{"../x", "/etc/x", "a/../../x", "", "a//b"} {
		files := []ProjectFile{{Path: ComposeFile, Data: []byte("x")}, {Path: p, Data: []byte("x")}}
		if err := Write(context.Background(), io.Discard, m, files, s); err == nil {
			t.Errorf("Write with project file %q = nil, want an error", p)
		}
	}
}

func TestWriteChecksBlobDigests(t *testing.T) {
	m, files, s := testBundle(t, "layer of b")
	d := digest.FromBytes([]byte("layer of a"))
	s[d] = []byte("layer of A")
	err := Write(context.Background(), io.Discard, m, files, s)
	if err == nil || !strings.Contains(err.Error(), "does not match its digest") {
		t.Errorf("Write with a damaged store = %v, want a digest error", err)
	}
}

func TestRunnable(t *testing.T) {
	amd64 := ocispec.Platform{OS: "linux", Architecture: "amd64"}
	arm64 := ocispec.Platform{OS: "linux", Architecture: "arm64"}
	tests := []struct {
		name     string
		target   string
		host     ocispec.Platform
		handlers map[string]string
		emulated bool
		want     string
	}{
		{"native", "linux/amd64", amd64, nil, false, ""},
		{"native arm64 variant", "linux/arm64/v8", arm64, nil, false, ""},
		{"emulated arm64", "linux/arm64", amd64, map[string]string{"qemu-aarch64": "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\n"}, true, ""},
		{"emulated arm/v7", "linux/arm/v7", amd64, map[string]string{"qemu-arm": "enabled\n"}, true, ""},
		{"other platform, no emulation", "linux/arm64", amd64, nil, false, "running a bundle for linux/arm64 on this linux/amd64 host needs qemu user emulation: run scripts/install-deps.sh"},
		{"handler disabled", "linux/arm64", amd64, map[string]string{"qemu-aarch64": "disabled\n"}, false, "qemu-aarch64"},
		{"another handler only", "linux/arm/v7", amd64, map[string]string{"qemu-aarch64": "enabled\n"}, false, "no enabled qemu-arm handler"},
		{"says to make it for the box", "linux/arm64", amd64, nil, false, "; or make the bundle with --platform linux/amd64"},
		{"unknown platform", "linux/z80", amd64, nil, false, `unknown platform "linux/z80"`},
		{"no handler for the architecture", "linux/mips64le", amd64, nil, false, "no enabled qemu-mips64el handler"},
		{"invalid platform", "linux/", amd64, nil, false, "invalid platform"},
		{"not linux", "windows/amd64", amd64, nil, false, "linux containers only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tt.handlers {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			emulated, err := Runnable(tt.target, platform.Emulation{Host: tt.host, BinfmtDir: dir})
			if tt.want == "" {
				if err != nil || emulated != tt.emulated {
					t.Fatalf("Runnable(%q) = %v, %v; want %v, nil", tt.target, emulated, err, tt.emulated)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Runnable(%q) = %v, want an error containing %q", tt.target, err, tt.want)
			}
		})
	}
}

func TestWriteProject(t *testing.T) {
	b := &Bundle{
		Manifest: Manifest{Files: []File{{Path: ComposeFile}, {Path: "secrets/s", Secret: true}}},
		Files:    map[string][]byte{ComposeFile: []byte("name: app\n"), "secrets/s": []byte("hush")},
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mine"), []byte("kept"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ComposeFile), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "new", "dir")
	if err := WriteProject(b, dir, other); err != nil {
		t.Fatalf("WriteProject = %v", err)
	}
	for _, d := range []string{dir, other} {
		if got, _ := os.ReadFile(filepath.Join(d, ComposeFile)); string(got) != "name: app\n" {
			t.Errorf("%s/compose.yaml = %q", d, got)
		}
		info, err := os.Stat(filepath.Join(d, "secrets", "s"))
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s/secrets/s: %v, %v; want mode 0600", d, info, err)
		}
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".berth-bundle-") {
				t.Errorf("%s: temporary file %s left", d, e.Name())
			}
		}
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "mine")); string(got) != "kept" {
		t.Errorf("a file of the box's was changed: %q", got)
	}
	// A directory that cannot be made: nothing is written anywhere.
	blocker := filepath.Join(t.TempDir(), "file")
	os.WriteFile(blocker, nil, 0o644) //nolint:errcheck // checked by the next call
	fresh := t.TempDir()
	if err := WriteProject(b, fresh, filepath.Join(blocker, "sub")); err == nil {
		t.Fatal("WriteProject into a path under a file = nil, want an error")
	}
	if _, err := os.Stat(filepath.Join(fresh, ComposeFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed WriteProject left %s/compose.yaml (%v)", fresh, err)
	}
}
