package bundle

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Bundle is a bundle read and verified by Verify.
type Bundle struct {
	// ID is the SHA-256 digest of the whole bundle file.
	ID       string
	Manifest Manifest
	// Files are the project files' contents by path.
	Files map[string][]byte
	// Size is the bundle file's size.
	Size int64
}

// maxSmall bounds what Verify keeps in memory: the manifest, index,
// project files and image manifests.
const maxSmall = 64 << 20

// ErrTruncated is returned (wrapped) for a bundle that ends early.
var ErrTruncated = errors.New("the bundle is truncated (copy it again)")

// Verify reads a whole bundle and checks it: the manifest first, every
// project file and shipped blob present once with the digest and size
// the manifest gives, nothing else, the index naming the images the
// manifest lists, and each shipped image manifest naming the blobs the
// manifest lists for it. Nothing is written anywhere.
func Verify(r io.Reader) (*Bundle, error) {
	h := sha256.New()
	counted := &countingReader{r: io.TeeReader(r, h)}
	tr := tar.NewReader(counted)
	hdr, err := tr.Next()
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("not a berth bundle: it is empty or truncated")
		}
		return nil, fmt.Errorf("not a berth bundle: %w", err)
	}
	if hdr.Name != ManifestName {
		return nil, fmt.Errorf("not a berth bundle: it starts with %s, not %s", hdr.Name, ManifestName)
	}
	data, err := readSmall(tr, hdr)
	if err != nil {
		return nil, err
	}
	b := &Bundle{Files: map[string][]byte{}}
	if err := json.Unmarshal(data, &b.Manifest); err != nil {
		return nil, fmt.Errorf("%s: %w", ManifestName, err)
	}
	m := &b.Manifest
	if err := m.check(); err != nil {
		return nil, err
	}
	files := map[string]File{}
	for _, f := range m.Files {
		files[f.Path] = f
	}
	blobs := map[digest.Digest]Blob{}
	for _, bl := range m.Blobs {
		blobs[bl.Digest] = bl
	}
	seen := map[string]bool{ManifestName: true}
	manifests := map[digest.Digest][]byte{}
	var index []byte
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, truncated(err)
		}
		if seen[hdr.Name] {
			return nil, fmt.Errorf("the bundle holds %s twice", hdr.Name)
		}
		seen[hdr.Name] = true
		if hdr.Typeflag != tar.TypeReg {
			return nil, fmt.Errorf("the bundle's entry %s is not a regular file", hdr.Name)
		}
		switch name := hdr.Name; {
		case name == layoutName:
			if _, err := readSmall(tr, hdr); err != nil {
				return nil, err
			}
		case name == indexName:
			if index, err = readSmall(tr, hdr); err != nil {
				return nil, err
			}
		case strings.HasPrefix(name, projectPrefix):
			f, ok := files[strings.TrimPrefix(name, projectPrefix)]
			if !ok {
				return nil, fmt.Errorf("the bundle holds %s, which its manifest does not list", name)
			}
			data, err := readSmall(tr, hdr)
			if err != nil {
				return nil, err
			}
			if int64(len(data)) != f.Size || digest.FromBytes(data) != f.Digest {
				return nil, fmt.Errorf("%s does not match its digest %s: the bundle is damaged", name, f.Digest)
			}
			b.Files[f.Path] = data
		case strings.HasPrefix(name, blobsPrefix):
			d := digest.NewDigestFromEncoded(digest.SHA256, strings.TrimPrefix(name, blobsPrefix))
			bl, ok := blobs[d]
			if !ok {
				return nil, fmt.Errorf("the bundle holds blob %s, which its manifest does not list", d)
			}
			if hdr.Size != bl.Size {
				return nil, fmt.Errorf("blob %s is %d bytes, its manifest says %d: the bundle is damaged", d, hdr.Size, bl.Size)
			}
			got, data, err := hashBlob(tr, isManifest(bl.MediaType))
			if err != nil {
				return nil, truncated(err)
			}
			if got != d {
				return nil, fmt.Errorf("blob %s has the digest %s: the bundle is damaged", d, got)
			}
			if data != nil {
				manifests[d] = data
			}
		default:
			return nil, fmt.Errorf("the bundle holds %s, which is no part of its layout", name)
		}
	}
	// The end-of-archive blocks (and padding) count in the ID too.
	if _, err := io.Copy(io.Discard, counted); err != nil {
		return nil, truncated(err)
	}
	for _, f := range m.Files {
		if !seen[projectPrefix+f.Path] {
			return nil, fmt.Errorf("the bundle lacks project file %s: it is truncated or damaged", f.Path)
		}
	}
	for _, bl := range m.Blobs {
		if !seen[blobsPrefix+bl.Digest.Encoded()] {
			return nil, fmt.Errorf("the bundle lacks blob %s: it is truncated or damaged", bl.Digest)
		}
	}
	if !counted.ended() {
		return nil, ErrTruncated
	}
	if index == nil {
		return nil, fmt.Errorf("the bundle lacks %s: it is truncated or damaged", indexName)
	}
	if _, ok := b.Files[ComposeFile]; !ok {
		return nil, fmt.Errorf("the bundle lacks its compose file (%s%s)", projectPrefix, ComposeFile)
	}
	if err := checkIndex(index, m); err != nil {
		return nil, err
	}
	if err := checkManifests(manifests, m); err != nil {
		return nil, err
	}
	b.ID = "sha256:" + hex.EncodeToString(h.Sum(nil))
	b.Size = counted.n
	return b, nil
}

// Blobs reads a bundle Verify accepted again and calls fn with each
// shipped blob, in the bundle's order. fn must check the blob's digest
// as it reads it (the file may have changed since Verify).
func Blobs(r io.Reader, fn func(b Blob, r io.Reader) error) error {
	m := map[digest.Digest]Blob{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return truncated(err)
		}
		if hdr.Name == ManifestName {
			data, err := readSmall(tr, hdr)
			if err != nil {
				return err
			}
			var man Manifest
			if err := json.Unmarshal(data, &man); err != nil {
				return fmt.Errorf("%s: %w", ManifestName, err)
			}
			for _, b := range man.Blobs {
				m[b.Digest] = b
			}
			continue
		}
		if !strings.HasPrefix(hdr.Name, blobsPrefix) {
			continue
		}
		b, ok := m[digest.NewDigestFromEncoded(digest.SHA256, strings.TrimPrefix(hdr.Name, blobsPrefix))]
		if !ok {
			return fmt.Errorf("the bundle holds blob %s, which its manifest does not list", hdr.Name)
		}
		if err := fn(b, tr); err != nil {
			return err
		}
	}
}

// ManifestChildren are the config and layers an image manifest names.
func ManifestChildren(data []byte) ([]ocispec.Descriptor, error) {
	var man ocispec.Manifest
	if err := json.Unmarshal(data, &man); err != nil {
		return nil, fmt.Errorf("decode image manifest: %w", err)
	}
	return append([]ocispec.Descriptor{man.Config}, man.Layers...), nil
}

// checkIndex checks that index.json names the manifest's images.
func checkIndex(data []byte, m *Manifest) error {
	var idx ocispec.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		return fmt.Errorf("%s: %w", indexName, err)
	}
	if len(idx.Manifests) != len(m.Images) {
		return fmt.Errorf("%s lists %d images, %s %d: the bundle is damaged", indexName, len(idx.Manifests), ManifestName, len(m.Images))
	}
	for i, d := range idx.Manifests {
		img := m.Images[i]
		if d.Digest != img.Digest || d.Annotations[imageNameAnnotation] != img.Name {
			return fmt.Errorf("%s does not name image %s as %s does: the bundle is damaged", indexName, img.Name, ManifestName)
		}
	}
	return nil
}

// checkManifests checks that each shipped image manifest names the blobs
// the bundle's manifest lists for its image.
func checkManifests(manifests map[digest.Digest][]byte, m *Manifest) error {
	for _, img := range m.Images {
		data, ok := manifests[img.Digest]
		if !ok {
			continue // from the base: on the box already
		}
		children, err := ManifestChildren(data)
		if err != nil {
			return fmt.Errorf("image %s: %w", img.Name, err)
		}
		if len(children)+1 != len(img.Blobs) {
			return fmt.Errorf("image %s: its manifest names %d blobs, %s %d: the bundle is damaged", img.Name, len(children), ManifestName, len(img.Blobs)-1)
		}
		for i, c := range children {
			if c.Digest != img.Blobs[i+1] {
				return fmt.Errorf("image %s: its manifest names %s where %s lists %s: the bundle is damaged", img.Name, c.Digest, ManifestName, img.Blobs[i+1])
			}
		}
	}
	return nil
}

// isManifest tells the media types of image manifests.
func isManifest(mediaType string) bool {
	return mediaType == ocispec.MediaTypeImageManifest || mediaType == "application/vnd.docker.distribution.manifest.v2+json"
}

func hashBlob(r io.Reader, keep bool) (digest.Digest, []byte, error) {
	dg := digest.SHA256.Digester()
	var buf *bytes.Buffer
	w := io.Writer(dg.Hash())
	if keep {
		buf = &bytes.Buffer{}
		w = io.MultiWriter(w, buf)
	}
	if _, err := io.Copy(w, r); err != nil {
		return "", nil, err
	}
	if buf == nil {
		return dg.Digest(), nil, nil
	}
	return dg.Digest(), buf.Bytes(), nil
}

func readSmall(tr *tar.Reader, hdr *tar.Header) ([]byte, error) {
	if hdr.Size > maxSmall {
		return nil, fmt.Errorf("the bundle's %s is %d bytes: too large for a berth bundle", hdr.Name, hdr.Size)
	}
	data, err := io.ReadAll(tr)
	if err != nil {
		return nil, truncated(err)
	}
	return data, nil
}

func truncated(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrTruncated
	}
	return fmt.Errorf("read the bundle: %w", err)
}

// countingReader counts what it reads and keeps its last two blocks.
type countingReader struct {
	r    io.Reader
	n    int64
	tail []byte
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.tail = append(c.tail, p[:n]...)
	if len(c.tail) > 2*blockSize {
		c.tail = append(c.tail[:0], c.tail[len(c.tail)-2*blockSize:]...)
	}
	return n, err
}

// blockSize is tar's.
const blockSize = 512

// ended tells whether what was read ends as a whole tar does: whole
// blocks, the last two zero (the end-of-archive marker). A bundle cut
// after its last entry's content still lacks them.
func (c *countingReader) ended() bool {
	if c.n%blockSize != 0 || len(c.tail) < 2*blockSize {
		return false
	}
	for _, b := range c.tail {
		if b != 0 {
			return false
		}
	}
	return true
}
