package containerd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/errdefs"

	"github.com/berth/berth/imageview"
	"github.com/berth/berth/scheduler"
)

// LocalImages lists every name in berth's image store with what its image
// is (ID, config, size) for this host's platform, or for the platform it
// was pulled for when it has no image for this host's. A name whose
// content is missing is left out.
func (c *Client) LocalImages(ctx context.Context) ([]imageview.Image, error) {
	list, err := c.client.ImageService().List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	out := make([]imageview.Image, 0, len(list))
	for _, img := range list {
		v, err := c.imageView(ctx, img)
		if errdefs.IsNotFound(err) {
			// Its content is gone (being removed meanwhile) or was never
			// all fetched: not an image one can use.
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// imageView reads what a stored image is: its config and layers for the
// platform berth uses it for (see selectPlatform), the platforms it has
// and the size of all its stored content.
func (c *Client) imageView(ctx context.Context, img images.Image) (imageview.Image, error) {
	return c.imageViewFor(ctx, img, "")
}

// imageViewFor is imageView for platform ("" for berth's choice); an
// image without it fails naming the platforms it holds.
func (c *Client) imageViewFor(ctx context.Context, img images.Image, platform string) (imageview.Image, error) {
	cs := c.client.ContentStore()
	v := imageview.Image{Name: img.Name, Digest: img.Target.Digest.String(), Tagged: img.UpdatedAt}
	p, err := c.platformImage(ctx, img, platform)
	if err != nil {
		return v, err
	}
	manifest, err := readManifest(ctx, cs, p.Manifest)
	if err != nil {
		return v, fmt.Errorf("image %s: read its manifest: %w", img.Name, err)
	}
	blob, err := content.ReadBlob(ctx, cs, manifest.Config)
	if err != nil {
		return v, fmt.Errorf("image %s: read its config: %w", img.Name, err)
	}
	if err := json.Unmarshal(blob, &v.Config); err != nil {
		return v, fmt.Errorf("image %s: its config: %w", img.Name, err)
	}
	v.ID = manifest.Config.Digest.String()
	v.Platform = p.String()
	for _, l := range manifest.Layers {
		v.LayerSizes = append(v.LayerSizes, l.Size)
	}
	all, err := imagePlatforms(ctx, cs, img.Target)
	if err != nil {
		return v, fmt.Errorf("image %s: %w", img.Name, err)
	}
	counted := map[string]bool{}
	for _, sp := range all {
		v.Platforms = append(v.Platforms, imageview.Platform{
			Platform: sp.String(), Manifest: sp.Manifest.Digest.String(), Present: sp.Present, Size: sp.Size,
		})
		for _, b := range sp.Blobs {
			if !counted[b.Digest.String()] {
				counted[b.Digest.String()] = true
				v.Size += b.Size
			}
		}
	}
	return v, nil
}

// FindImage is every stored name of the image that ref names (see
// imageview.Find); it fails with an error errdefs.IsNotFound satisfies
// when there is none.
func (c *Client) FindImage(ctx context.Context, ref string) ([]imageview.Image, error) {
	all, err := c.LocalImages(ctx)
	if err != nil {
		return nil, err
	}
	return imageview.Find(all, ref)
}

// ImageForPlatform is the stored image name (a full name, as FindImage
// returns) for platform: its config and layers are that platform's (image
// inspect --platform). An image without the platform fails naming those
// it holds (errdefs.IsNotFound).
func (c *Client) ImageForPlatform(ctx context.Context, name, platform string) (imageview.Image, error) {
	img, err := c.client.ImageService().Get(ctx, name)
	if err != nil {
		return imageview.Image{}, fmt.Errorf("image %s: %w", name, err)
	}
	return c.imageViewFor(ctx, img, platform)
}

// TagImage makes target a name of the image source names (docker tag):
// target is created, or moved from the image it named.
func (c *Client) TagImage(ctx context.Context, source, target string) error {
	name, err := NormalizeRef(target)
	if err != nil {
		return err
	}
	found, err := c.FindImage(ctx, source)
	if err != nil {
		return err
	}
	src, err := c.client.ImageService().Get(ctx, found[0].Name)
	if err != nil {
		return fmt.Errorf("tag %s: %w", source, err)
	}
	if err := c.putImage(ctx, images.Image{Name: name, Target: src.Target, Labels: src.Labels}); err != nil {
		return fmt.Errorf("tag %s %s: %w", source, target, err)
	}
	return nil
}

// putImage stores img, replacing the image of the same name if there is
// one.
func (c *Client) putImage(ctx context.Context, img images.Image) error {
	is := c.client.ImageService()
	_, err := is.Create(ctx, img)
	if errdefs.IsAlreadyExists(err) {
		_, err = is.Update(ctx, img, "target", "labels")
	}
	return err
}

// Removed is what removing an image did, in docker's words: the names
// untagged, and the image deleted when its last name went.
type Removed struct {
	Untagged []string
	// Deleted is the image's ID when no name of it is left ("" if one is).
	Deleted string
	// Size is the size of a deleted image.
	Size int64
}

// RemoveImageRef removes what ref names, as docker image rm does: a name
// is untagged, and the image deleted when it was its last; an ID removes
// every name of the image (more than one only with force). The last name
// of an image that a container was made from is kept (an error naming the
// container, satisfying errdefs.IsConflict) unless force and the
// container is not running.
func (c *Client) RemoveImageRef(ctx context.Context, ref string, force bool) (Removed, error) {
	all, err := c.LocalImages(ctx)
	if err != nil {
		return Removed{}, err
	}
	found, err := imageview.Find(all, ref)
	if err != nil {
		return Removed{}, err
	}
	names := imageview.NamesOf(all, found[0].ID)
	if len(found) > 1 && !force {
		return Removed{}, imageview.KindError(errdefs.ErrConflict, "image %s has several names (%s): remove them one by one, or use -f", ref, strings.Join(nameList(found), ", "))
	}
	if len(found) == len(names) {
		if err := c.checkUnused(ctx, names, force); err != nil {
			return Removed{}, fmt.Errorf("image %s: %w", ref, err)
		}
	}
	is := c.client.ImageService()
	var rm Removed
	for i, img := range found {
		var opts []images.DeleteOpt
		if i == len(found)-1 {
			opts = append(opts, images.SynchronousDelete())
		}
		if err := is.Delete(ctx, img.Name, opts...); err != nil && !errdefs.IsNotFound(err) {
			return rm, fmt.Errorf("remove image %s: %w", img.Name, err)
		}
		if !img.Dangling() {
			rm.Untagged = append(rm.Untagged, untaggedName(img))
		}
	}
	if len(found) == len(names) {
		rm.Deleted, rm.Size = found[0].ID, found[0].Size
	}
	return rm, nil
}

// untaggedName is how docker names an untagged name: busybox:latest.
func untaggedName(img imageview.Image) string {
	repo, tag, ok := img.RepoTag()
	if !ok {
		return img.Name
	}
	return repo + ":" + tag
}

func nameList(imgs []imageview.Image) []string {
	out := make([]string, 0, len(imgs))
	for _, img := range imgs {
		out = append(out, untaggedName(img))
	}
	return out
}

// checkUnused fails when a container (of any project, or a plain one) was
// made from one of the image's names: always if it runs, unless force if
// it does not. The error names the container.
func (c *Client) checkUnused(ctx context.Context, names []imageview.Image, force bool) error {
	cs, err := c.Containers(ctx, "")
	if err != nil {
		return err
	}
	for _, sc := range cs {
		used, err := NormalizeRef(sc.Image)
		if err != nil {
			continue
		}
		for _, n := range names {
			if n.Name != used {
				continue
			}
			running := sc.State == scheduler.StateRunning || sc.State == scheduler.StatePaused
			switch {
			case running:
				return imageview.KindError(errdefs.ErrConflict, "it is used by running container %s: stop and remove the container first", sc.Name)
			case !force:
				return imageview.KindError(errdefs.ErrConflict, "it is used by container %s: remove the container first, or use -f", sc.Name)
			}
		}
	}
	return nil
}

// PruneImages removes the dangling images (names that are no reference:
// images built without -t, loaded without a name), or with all every
// image no container was made from, as docker image prune [-a] does.
func (c *Client) PruneImages(ctx context.Context, all bool) ([]Removed, error) {
	list, err := c.LocalImages(ctx)
	if err != nil {
		return nil, err
	}
	cs, err := c.Containers(ctx, "")
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	for _, sc := range cs {
		if name, err := NormalizeRef(sc.Image); err == nil {
			used[name] = true
		}
	}
	var out []Removed
	var errs []error
	for _, group := range imageview.Group(list) {
		inUse := false
		for _, img := range group {
			inUse = inUse || used[img.Name]
		}
		if inUse {
			continue
		}
		var rm Removed
		left := 0
		for _, img := range group {
			if !all && !img.Dangling() {
				left++
				continue
			}
			if err := c.client.ImageService().Delete(ctx, img.Name, images.SynchronousDelete()); err != nil && !errdefs.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("remove image %s: %w", img.Name, err))
				left++
				continue
			}
			if !img.Dangling() {
				rm.Untagged = append(rm.Untagged, untaggedName(img))
			}
		}
		if left == 0 {
			rm.Deleted, rm.Size = group[0].ID, group[0].Size
		}
		if rm.Deleted != "" || len(rm.Untagged) > 0 {
			out = append(out, rm)
		}
	}
	return out, errors.Join(errs...)
}
