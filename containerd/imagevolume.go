package containerd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	"github.com/opencontainers/image-spec/identity"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth/berth/compose"
)

// labelImageVolumePrefix names, on a container, the view snapshots of its
// image volumes: containerd's garbage collector keeps a snapshot a
// container's label refers to, and collects it once the container is gone.
const labelImageVolumePrefix = "containerd.io/gc.ref.snapshot."

// ensureMountImages pulls the images of the service's image volumes that
// are not present for the service's platform (as Docker does, whatever
// the service's pull_policy).
func (c *Client) ensureMountImages(ctx context.Context, s *compose.Service) error {
	for _, m := range s.Mounts {
		if m.Type != compose.MountImage {
			continue
		}
		ref, err := NormalizeRef(m.Source)
		if err != nil {
			return fmt.Errorf("service %q: image volume %s: %w", s.Name, m.Source, err)
		}
		present, err := c.hasImagePlatform(ctx, ref, s.Platform)
		if err != nil {
			return fmt.Errorf("service %q: image volume %s: %w", s.Name, m.Source, err)
		}
		if !present {
			if err := c.Pull(ctx, m.Source, s.Platform); err != nil {
				return fmt.Errorf("service %q: image volume: %w", s.Name, err)
			}
		}
	}
	return nil
}

// imageMounts makes a read-only view snapshot of each image volume's image,
// of the service's platform (see platformImage), for the container and returns the mounts of them and the labels that
// keep the views as long as the container. remove undoes it.
func (c *Client) imageMounts(ctx context.Context, container string, s *compose.Service) (mounts []specs.Mount, labels map[string]string, remove func(), retErr error) {
	sn := c.client.SnapshotService(c.snapshotter)
	var keys []string
	remove = func() {
		for _, k := range keys {
			sn.Remove(context.WithoutCancel(ctx), k) //nolint:errcheck // best effort rollback
		}
	}
	defer func() {
		if retErr != nil {
			remove()
		}
	}()
	labels = map[string]string{}
	for i, m := range s.Mounts {
		if m.Type != compose.MountImage {
			continue
		}
		ref, err := NormalizeRef(m.Source)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("service %q: image volume %s: %w", s.Name, m.Source, err)
		}
		img, err := c.client.GetImage(ctx, ref)
		if errdefs.IsNotFound(err) {
			return nil, nil, nil, fmt.Errorf("service %q: image volume %s: the image is not present: `berth pull` it", s.Name, m.Source)
		}
		if err != nil {
			return nil, nil, nil, fmt.Errorf("service %q: image volume %s: %w", s.Name, m.Source, err)
		}
		sp, err := c.platformImage(ctx, img.Metadata(), s.Platform)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("service %q: image volume %s: %w", s.Name, m.Source, err)
		}
		img = containerd.NewImageWithPlatform(c.client, img.Metadata(), platforms.Only(sp.Platform))
		if ok, err := img.IsUnpacked(ctx, c.snapshotter); err != nil || !ok {
			if err := img.Unpack(ctx, c.snapshotter); err != nil {
				return nil, nil, nil, fmt.Errorf("service %q: image volume %s: unpack: %w", s.Name, m.Source, err)
			}
		}
		diffIDs, err := img.RootFS(ctx)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("service %q: image volume %s: %w", s.Name, m.Source, err)
		}
		key := container + "-image-volume-" + strconv.Itoa(i)
		sn.Remove(ctx, key) //nolint:errcheck // one left by an interrupted create
		views, err := sn.View(ctx, key, identity.ChainID(diffIDs).String())
		if err != nil {
			return nil, nil, nil, fmt.Errorf("service %q: image volume %s: %w", s.Name, m.Source, err)
		}
		keys = append(keys, key)
		labels[labelImageVolumePrefix+c.snapshotter+"/image-volume-"+strconv.Itoa(i)] = key
		if len(views) != 1 {
			return nil, nil, nil, fmt.Errorf("service %q: image volume %s: the snapshotter gave %d mounts, berth mounts one", s.Name, m.Source, len(views))
		}
		mnt, err := viewMount(views[0].Type, views[0].Source, views[0].Options, m.Target, m.SubPath)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("service %q: image volume %s: %w", s.Name, m.Source, err)
		}
		mounts = append(mounts, mnt)
	}
	return mounts, labels, remove, nil
}

// viewMount turns the mount of a view snapshot into a read-only mount at
// target of the directory sub of it ("" or "/": all of it). An overlay
// keeps the layers that have sub (the others add nothing to it).
func viewMount(typ, source string, options []string, target, sub string) (specs.Mount, error) {
	sub = strings.TrimPrefix(filepath.Clean("/"+sub), "/")
	isDir := func(p string) bool {
		st, err := os.Stat(p)
		return err == nil && st.IsDir()
	}
	switch typ {
	case "bind":
		src := filepath.Join(source, sub)
		if sub != "" && !isDir(src) {
			return specs.Mount{}, fmt.Errorf("subpath /%s is not a directory of the image", sub)
		}
		return specs.Mount{Destination: target, Type: "bind", Source: src, Options: []string{"rbind", "rprivate", "ro"}}, nil
	case "overlay":
		var opts, lower []string
		for _, o := range options {
			if dirs, ok := strings.CutPrefix(o, "lowerdir="); ok {
				for _, d := range strings.Split(dirs, ":") {
					if d = filepath.Join(d, sub); sub == "" || isDir(d) {
						lower = append(lower, d)
					}
				}
				continue
			}
			if o != "ro" && o != "rw" {
				opts = append(opts, o)
			}
		}
		switch len(lower) {
		case 0:
			return specs.Mount{}, fmt.Errorf("subpath /%s is not a directory of the image", sub)
		case 1:
			// overlayfs wants two lower layers at least for a read-only mount.
			return specs.Mount{Destination: target, Type: "bind", Source: lower[0], Options: []string{"rbind", "rprivate", "ro"}}, nil
		}
		opts = append(opts, "lowerdir="+strings.Join(lower, ":"), "ro")
		return specs.Mount{Destination: target, Type: "overlay", Source: "overlay", Options: opts}, nil
	}
	return specs.Mount{}, fmt.Errorf("the snapshotter gave a %s mount, berth mounts bind and overlay ones", typ)
}
