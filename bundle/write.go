package bundle

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ProjectFile is a file of the project to ship, Path relative to the
// project directory (slash-separated, no "..").
type ProjectFile struct {
	Path   string
	Data   []byte
	Secret bool
}

// BlobSource reads the blobs Write ships.
type BlobSource interface {
	ReadBlob(ctx context.Context, b Blob) (io.ReadCloser, error)
}

// imageNameAnnotation is containerd's annotation naming an image of an
// OCI layout (its importer reads it).
const imageNameAnnotation = "io.containerd.image.name"

// Write writes a bundle to w: the manifest m, with its Files filled in
// from files, the project files and the blobs m.Blobs, read from src and
// checked against their digests. m.Blobs and files may come in any order:
// Write sorts them.
func Write(ctx context.Context, w io.Writer, m *Manifest, files []ProjectFile, src BlobSource) error {
	m.Version = Version
	files = append([]ProjectFile(nil), files...)
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	m.Files = m.Files[:0]
	for i, f := range files {
		if err := checkPath(f.Path); err != nil {
			return err
		}
		if i > 0 && files[i-1].Path == f.Path {
			return fmt.Errorf("project file %s given twice", f.Path)
		}
		m.Files = append(m.Files, File{Path: f.Path, Digest: digest.FromBytes(f.Data), Size: int64(len(f.Data)), Secret: f.Secret})
	}
	sort.Slice(m.Blobs, func(i, j int) bool { return m.Blobs[i].Digest < m.Blobs[j].Digest })
	sort.Slice(m.Images, func(i, j int) bool { return m.Images[i].Name < m.Images[j].Name })
	sort.Slice(m.Services, func(i, j int) bool { return m.Services[i].Name < m.Services[j].Name })
	sort.Slice(m.Secrets, func(i, j int) bool { return m.Secrets[i].Name < m.Secrets[j].Name })
	if err := m.check(); err != nil {
		return err
	}
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", ManifestName, err)
	}
	index, err := json.MarshalIndent(indexOf(m), "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", indexName, err)
	}
	tw := tar.NewWriter(w)
	entries := []struct {
		name string
		data []byte
	}{
		{ManifestName, append(manifest, '\n')},
		{layoutName, []byte(`{"imageLayoutVersion":"1.0.0"}` + "\n")},
		{indexName, append(index, '\n')},
	}
	for _, f := range files {
		entries = append(entries, struct {
			name string
			data []byte
		}{projectPrefix + f.Path, f.Data})
	}
	for _, e := range entries {
		if err := tw.WriteHeader(header(e.name, int64(len(e.data)))); err != nil {
			return fmt.Errorf("write bundle: %w", err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return fmt.Errorf("write bundle: %w", err)
		}
	}
	for _, b := range m.Blobs {
		if err := writeBlob(ctx, tw, b, src); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	return nil
}

// writeBlob copies one blob into the bundle, checking its digest and size.
func writeBlob(ctx context.Context, tw *tar.Writer, b Blob, src BlobSource) error {
	r, err := src.ReadBlob(ctx, b)
	if err != nil {
		return fmt.Errorf("read blob %s: %w", b.Digest, err)
	}
	defer r.Close()
	if err := tw.WriteHeader(header(blobsPrefix+b.Digest.Encoded(), b.Size)); err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	v := b.Digest.Verifier()
	n, err := io.Copy(tw, io.TeeReader(io.LimitReader(r, b.Size), v))
	if err != nil {
		return fmt.Errorf("write blob %s: %w", b.Digest, err)
	}
	if n != b.Size || !v.Verified() {
		return fmt.Errorf("blob %s in the content store does not match its digest or size: remove the image and pull or build it again", b.Digest)
	}
	return nil
}

// epoch is every entry's modification time: a fixed one makes bundles
// reproducible.
var epoch = time.Unix(0, 0).UTC()

func header(name string, size int64) *tar.Header {
	return &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     name,
		Size:     size,
		Mode:     0o644,
		ModTime:  epoch,
		Format:   tar.FormatPAX,
	}
}

// indexOf is the OCI index of the bundle's images.
func indexOf(m *Manifest) ocispec.Index {
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{}}
	idx.SchemaVersion = 2
	for _, img := range m.Images {
		var size int64
		for _, b := range m.Blobs {
			if b.Digest == img.Digest {
				size = b.Size
			}
		}
		if m.Base != nil {
			for _, b := range m.Base.Blobs {
				if b.Digest == img.Digest {
					size = b.Size
				}
			}
		}
		d := ocispec.Descriptor{
			MediaType:   img.MediaType,
			Digest:      img.Digest,
			Size:        size,
			Annotations: map[string]string{imageNameAnnotation: img.Name},
		}
		d.Platform = indexPlatform(img.Platform)
		idx.Manifests = append(idx.Manifests, d)
	}
	return idx
}

// checkPath refuses a project file path that would leave the project
// directory or is not in its clean, slash-separated form.
func checkPath(p string) error {
	if p == "" || path.IsAbs(p) || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") || strings.Contains(p, "\\") {
		return fmt.Errorf("project file path %q: must be relative, clean and inside the project", p)
	}
	return nil
}
