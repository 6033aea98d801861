package imageview

import (
	"github.com/docker/go-units"
)

// TreeImage is one name of `image ls --tree`, with a line per platform.
type TreeImage struct {
	// Name is the image's familiar name (busybox:latest), <none>:<none>
	// when it is dangling.
	Name string
	// ID is the image's ID as image ls shows it.
	ID string
	// ContentSize is the size of the stored content of all its platforms.
	ContentSize string
	Platforms   []TreePlatform
}

// TreePlatform is one platform line of `image ls --tree`.
type TreePlatform struct {
	Platform string
	// ID is the short digest of the platform's manifest, as docker shows.
	ID          string
	ContentSize string
	// Present is false for a platform the index lists whose content is
	// not stored (listed only with --all).
	Present bool
}

// Tree is what `image ls --tree` shows of images, in the order of Rows
// (newest first): each name (<none>:<none> when dangling) with its
// platforms, those whose content is not stored only when all.
func Tree(images []Image, all bool) []TreeImage {
	var out []TreeImage
	for _, img := range newestFirst(images) {
		repo, tag, _ := img.RepoTag()
		t := TreeImage{Name: repo + ":" + tag, ID: ShortID(img.ID), ContentSize: units.HumanSizeWithPrecision(float64(img.Size), 3)}
		for _, p := range img.Platforms {
			if !p.Present && !all {
				continue
			}
			t.Platforms = append(t.Platforms, TreePlatform{
				Platform: p.Platform, ID: ShortID(p.Manifest), Present: p.Present,
				ContentSize: units.HumanSizeWithPrecision(float64(p.Size), 3),
			})
		}
		out = append(out, t)
	}
	return out
}
