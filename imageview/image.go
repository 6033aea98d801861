package imageview

import (
	"sort"
	"time"

	"github.com/distribution/reference"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
)

// Image is one stored name of a local image, with what the image is.
// Several names may share an image (the same ID): `image tag` adds one.
type Image struct {
	// Name is the name the image is stored under: a full reference
	// (docker.io/library/busybox:latest), or a name that is none (see
	// Dangling).
	Name string
	// ID is the image's ID, the digest of its config (sha256:…).
	ID string
	// Digest is the digest of the manifest (or index) the name points to:
	// the image's digest in a registry.
	Digest string
	// Size is the size of the image's layers and configs that are stored
	// (compressed layers stay compressed), of every platform it holds.
	Size int64
	// Platform is the platform Config and LayerSizes are of (linux/amd64):
	// this host's when the image holds it.
	Platform string
	// Platforms are the platforms the image's index lists (one for an
	// image without an index), stored or not.
	Platforms []Platform
	// Config is the image's config: what `docker inspect` shows.
	Config dockerspec.DockerOCIImage
	// LayerSizes are the sizes of the layers, in the config's order.
	LayerSizes []int64
	// Tagged is when the name was last made to point at the image.
	Tagged time.Time
}

// Platform is one platform of an image.
type Platform struct {
	// Platform is os/arch[/variant]: linux/arm64.
	Platform string
	// Manifest is the digest of the platform's manifest.
	Manifest string
	// Present is true when its manifest, config and layers are all stored.
	Present bool
	// Size is the size of its config and layers that are stored.
	Size int64
}

// PresentPlatforms are the platforms whose content is stored.
func (img Image) PresentPlatforms() []string {
	var out []string
	for _, p := range img.Platforms {
		if p.Present {
			out = append(out, p.Platform)
		}
	}
	return out
}

// NoneValue is what docker shows for a repository or tag an image lacks.
const NoneValue = "<none>"

// Dangling reports whether the name is no image reference, as the name of
// an image built without -t or loaded without a name is: docker's
// dangling images, `image prune` removes them.
func (img Image) Dangling() bool {
	_, _, ok := img.RepoTag()
	return !ok
}

// RepoTag splits the name into the repository and tag docker shows
// (busybox, latest); ok is false for a dangling image.
func (img Image) RepoTag() (repo, tag string, ok bool) {
	named, err := reference.ParseNormalizedNamed(img.Name)
	if err != nil || named.String() != img.Name {
		return NoneValue, NoneValue, false
	}
	repo, tag = reference.FamiliarName(named), NoneValue
	if t, isTagged := named.(reference.Tagged); isTagged {
		tag = t.Tag()
	}
	return repo, tag, true
}

// ShortID is the ID as docker's tables show it: 12 hex digits.
func ShortID(id string) string {
	if len(id) > 7 && id[:7] == "sha256:" {
		id = id[7:]
	}
	if len(id) > 12 {
		id = id[:12]
	}
	return id
}

// Created is when the image was built, from its config (zero if unknown).
func (img Image) Created() time.Time {
	if img.Config.Created == nil {
		return time.Time{}
	}
	return *img.Config.Created
}

// Group gathers the names of each image: one group per ID, names sorted,
// groups in the order of their first name in images.
func Group(images []Image) [][]Image {
	var order []string
	byID := map[string][]Image{}
	for _, img := range images {
		if _, ok := byID[img.ID]; !ok {
			order = append(order, img.ID)
		}
		byID[img.ID] = append(byID[img.ID], img)
	}
	out := make([][]Image, 0, len(order))
	for _, id := range order {
		g := byID[id]
		sort.Slice(g, func(i, j int) bool { return g[i].Name < g[j].Name })
		out = append(out, g)
	}
	return out
}
