package bundle

import (
	"fmt"
	"sort"

	"github.com/opencontainers/go-digest"
)

// Names of the bundle's entries.
const (
	ManifestName  = "berth-bundle.json"
	layoutName    = "oci-layout"
	indexName     = "index.json"
	projectPrefix = "project/"
	blobsPrefix   = "blobs/sha256/"
	// ComposeFile is the compose model's path among the project files.
	ComposeFile = "compose.yaml"
)

// Version is the version of the layout this package writes and reads.
const Version = 1

// Manifest is berth-bundle.json: what the bundle holds and needs.
type Manifest struct {
	Version  int    `json:"version"`
	Project  string `json:"project"`
	Platform string `json:"platform"`
	// Services are the project's services and the image each runs.
	Services []Service `json:"services"`
	// Images are the images of the services, sorted by name.
	Images []Image `json:"images"`
	// Files are the project files, sorted by path (relative to project/).
	Files []File `json:"files"`
	// Blobs are the blobs the bundle ships, sorted by digest.
	Blobs []Blob `json:"blobs"`
	// Secrets are the project's secrets: shipped, or for the box to provide.
	Secrets []Secret `json:"secrets,omitempty"`
	// Base is set for an update made with create --since.
	Base *Base `json:"base,omitempty"`
}

// Service is one service of the project and the image it runs.
type Service struct {
	Name  string `json:"name"`
	Image string `json:"image"`
}

// Image is one image: its name as the compose model writes it, the
// digest of its manifest for the bundle's platform, and its blobs.
type Image struct {
	Name      string        `json:"name"`
	Digest    digest.Digest `json:"digest"`
	MediaType string        `json:"mediaType"`
	Platform  string        `json:"platform"`
	// Size is the size of the manifest, its config and its layers.
	Size int64 `json:"size"`
	// Blobs are the manifest's, the config's and the layers' digests.
	Blobs []digest.Digest `json:"blobs"`
}

// File is a project file.
type File struct {
	Path   string        `json:"path"`
	Digest digest.Digest `json:"digest"`
	Size   int64         `json:"size"`
	// Secret marks a secret's file (written readable by root only).
	Secret bool `json:"secret,omitempty"`
}

// Blob is a content-addressed blob.
type Blob struct {
	Digest    digest.Digest `json:"digest"`
	Size      int64         `json:"size"`
	MediaType string        `json:"mediaType"`
}

// Secret is a secret of the project. File is where the model reads it
// (relative to the project directory); Environment the variable it is
// read from. Included tells whether the bundle ships it.
type Secret struct {
	Name        string `json:"name"`
	File        string `json:"file,omitempty"`
	Environment string `json:"environment,omitempty"`
	Included    bool   `json:"included"`
}

// Base names the bundle an update was made against (its ID) and the blobs
// the box must have from it: the update does not ship them.
type Base struct {
	ID string `json:"id"`
	// File is the base bundle's file name (no directory), as create
	// --since was given it: what load names when the box lacks it.
	File    string `json:"file,omitempty"`
	Project string `json:"project"`
	Blobs   []Blob `json:"blobs"`
}

// TotalSize is the size of the images' blobs, shipped or not.
func (m *Manifest) TotalSize() int64 {
	seen := map[digest.Digest]bool{}
	sizes := map[digest.Digest]int64{}
	for _, b := range m.Blobs {
		sizes[b.Digest] = b.Size
	}
	if m.Base != nil {
		for _, b := range m.Base.Blobs {
			sizes[b.Digest] = b.Size
		}
	}
	var n int64
	for _, img := range m.Images {
		for _, d := range img.Blobs {
			if !seen[d] {
				seen[d] = true
				n += sizes[d]
			}
		}
	}
	return n
}

// check checks the manifest's own consistency: every image's blob is
// shipped or comes from the base, and the lists are sorted and unique.
func (m *Manifest) check() error {
	if m.Version != Version {
		return fmt.Errorf("bundle layout version %d: this berth reads version %d (use the berth that made it)", m.Version, Version)
	}
	if m.Project == "" || m.Platform == "" {
		return fmt.Errorf("%s names no project or no platform", ManifestName)
	}
	if !projectName.MatchString(m.Project) {
		return fmt.Errorf("%s: invalid project name %q", ManifestName, m.Project)
	}
	for _, f := range m.Files {
		if err := checkPath(f.Path); err != nil {
			return fmt.Errorf("%s: %w", ManifestName, err)
		}
	}
	have := map[digest.Digest]bool{}
	for _, b := range m.Blobs {
		if err := b.Digest.Validate(); err != nil || b.Digest.Algorithm() != digest.SHA256 {
			return fmt.Errorf("%s: invalid blob digest %q", ManifestName, b.Digest)
		}
		have[b.Digest] = true
	}
	if m.Base != nil {
		for _, b := range m.Base.Blobs {
			have[b.Digest] = true
		}
	}
	for _, img := range m.Images {
		if len(img.Blobs) == 0 || img.Blobs[0] != img.Digest {
			return fmt.Errorf("%s: image %s does not list its manifest first", ManifestName, img.Name)
		}
		for _, d := range img.Blobs {
			if !have[d] {
				return fmt.Errorf("%s: image %s needs blob %s, which the bundle neither ships nor expects on the box", ManifestName, img.Name, d)
			}
		}
	}
	if !sort.SliceIsSorted(m.Files, func(i, j int) bool { return m.Files[i].Path < m.Files[j].Path }) ||
		!sort.SliceIsSorted(m.Blobs, func(i, j int) bool { return m.Blobs[i].Digest < m.Blobs[j].Digest }) {
		return fmt.Errorf("%s: files and blobs are not sorted", ManifestName)
	}
	return nil
}

// Unique sorts blobs by digest and drops repeats.
func Unique(blobs []Blob) []Blob {
	sort.Slice(blobs, func(i, j int) bool { return blobs[i].Digest < blobs[j].Digest })
	out := blobs[:0]
	for i, b := range blobs {
		if i == 0 || blobs[i-1].Digest != b.Digest {
			out = append(out, b)
		}
	}
	return out
}

// Since splits the blobs an update needs into those it ships (those old
// neither ships nor expects on the box) and the base: those a box that
// loaded old has.
func Since(needed []Blob, old *Bundle) ([]Blob, *Base) {
	have := map[digest.Digest]bool{}
	for _, b := range old.Manifest.Blobs {
		have[b.Digest] = true
	}
	if old.Manifest.Base != nil {
		for _, b := range old.Manifest.Base.Blobs {
			have[b.Digest] = true
		}
	}
	base := &Base{ID: old.ID, Project: old.Manifest.Project, Blobs: []Blob{}}
	var ship []Blob
	for _, b := range needed {
		if have[b.Digest] {
			base.Blobs = append(base.Blobs, b)
		} else {
			ship = append(ship, b)
		}
	}
	return ship, base
}
