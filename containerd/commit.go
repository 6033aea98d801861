package containerd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	apitask "github.com/containerd/containerd/api/types/task"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/containerd/v2/pkg/rootfs"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/containerd/build"
	"github.com/berth/berth/scheduler"
)

// CommitRequest says what image Commit makes of a container.
type CommitRequest struct {
	// Image is the name of the new image (REPO[:TAG]).
	Image string
	// Author and Message go into the image's history (and Author into its
	// author field), as docker commit's -a and -m.
	Author, Message string
	// Changes are Dockerfile instructions applied to the image config
	// (see build.ApplyChanges).
	Changes []string
	// Pause pauses a running container while its changes are read, so
	// that they are consistent.
	Pause bool
}

// CheckChanges checks commit --change instructions (see
// build.ApplyChanges) without an image: what Commit would refuse of them
// whatever the image.
func CheckChanges(changes []string) error {
	_, err := build.ApplyChanges(dockerspec.DockerOCIImageConfig{}, changes)
	return err
}

// Commit makes a new image of a container, as docker commit does: the
// container's image with one more layer holding the container's changes
// (computed by containerd's diff service from its snapshot and the
// snapshot's parent), its config as the changes say, named req.Image and
// unpacked, so that it can run at once. It returns the image's ID (its
// config's digest). Volumes, bind mounts and tmpfs are not part of it,
// nor ReservedDir (the mount points of berth's probe agent).
// The image is of the platform the container runs (a container of an
// arm64 image, emulated, commits an arm64 image), whatever the host's.
func (c *Client) Commit(ctx context.Context, sc scheduler.Container, req CommitRequest) (string, error) {
	name, err := NormalizeRef(req.Image)
	if err != nil {
		return "", err
	}
	fail := func(err error) (string, error) { return "", fmt.Errorf("commit container %s: %w", sc.Name, err) }
	ctr, err := c.client.LoadContainer(ctx, sc.ID)
	if err != nil {
		return fail(err)
	}
	info, err := ctr.Info(ctx)
	if err != nil {
		return fail(err)
	}
	base, err := c.client.GetImage(ctx, info.Image)
	if err != nil {
		return fail(fmt.Errorf("its image %s: %w", info.Image, err))
	}
	cs := c.client.ContentStore()
	sp, manifest, err := containerPlatform(ctx, cs, c.binfmtDir, base.Target(), compose.Labels(info.Labels).ImageID())
	if err != nil {
		return fail(fmt.Errorf("its image %s: %w", info.Image, err))
	}
	cfgBlob, err := content.ReadBlob(ctx, cs, manifest.Config)
	if err != nil {
		return fail(fmt.Errorf("its image %s: %w", info.Image, err))
	}
	var img dockerspec.DockerOCIImage
	if err := json.Unmarshal(cfgBlob, &img); err != nil {
		return fail(fmt.Errorf("its image %s: config: %w", info.Image, err))
	}
	if img.Config, err = build.ApplyChanges(img.Config, req.Changes); err != nil {
		return "", err
	}

	// What is written is leased until the image refers to it.
	ctx, done, err := c.client.WithLease(ctx)
	if err != nil {
		return fail(err)
	}
	defer done(context.WithoutCancel(ctx)) //nolint:errcheck // the lease expires anyway

	layer, err := c.containerDiff(ctx, ctr, info, req.Pause)
	if err != nil {
		return fail(err)
	}
	spec, specErr := ctr.Spec(ctx)
	if specErr == nil && hasProbeAgent(spec) {
		if layer, err = withoutReserved(ctx, cs, layer); err != nil {
			return fail(err)
		}
	}
	diffID, err := images.GetDiffID(ctx, cs, layer)
	if err != nil {
		return fail(fmt.Errorf("its changes: %w", err))
	}
	if images.IsDockerType(manifest.MediaType) && layer.MediaType == ocispec.MediaTypeImageLayerGzip {
		layer.MediaType = images.MediaTypeDockerSchema2LayerGzip
	}
	layer.Annotations = nil

	now := time.Now().UTC()
	img.Created = &now
	img.Author = req.Author
	img.RootFS.DiffIDs = append(img.RootFS.DiffIDs, diffID)
	img.History = append(img.History, ocispec.History{
		Created: &now, Author: req.Author, Comment: req.Message, CreatedBy: strings.Join(commandOf(spec, specErr), " "),
	})
	cfgBytes, err := json.Marshal(img)
	if err != nil {
		return fail(err)
	}
	cfgDesc := ocispec.Descriptor{MediaType: manifest.Config.MediaType, Digest: digest.FromBytes(cfgBytes), Size: int64(len(cfgBytes))}
	if err := content.WriteBlob(ctx, cs, "berth-commit-"+cfgDesc.Digest.Encoded(), bytes.NewReader(cfgBytes), cfgDesc); err != nil {
		return fail(fmt.Errorf("write image config: %w", err))
	}
	manifest.Config = cfgDesc
	manifest.Layers = append(manifest.Layers, layer)
	manifest.Annotations = nil
	mBytes, err := json.Marshal(manifest)
	if err != nil {
		return fail(err)
	}
	mediaType := manifest.MediaType
	if mediaType == "" {
		mediaType = ocispec.MediaTypeImageManifest
	}
	mDesc := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(mBytes), Size: int64(len(mBytes))}
	gcRefs := map[string]string{"containerd.io/gc.ref.content.config": cfgDesc.Digest.String()}
	for i, l := range manifest.Layers {
		gcRefs[fmt.Sprintf("containerd.io/gc.ref.content.l.%d", i)] = l.Digest.String()
	}
	if err := content.WriteBlob(ctx, cs, "berth-commit-"+mDesc.Digest.Encoded(), bytes.NewReader(mBytes), mDesc, content.WithLabels(gcRefs)); err != nil {
		return fail(fmt.Errorf("write image manifest: %w", err))
	}

	rec := images.Image{Name: name, Target: mDesc}
	is := c.client.ImageService()
	if _, err := is.Create(ctx, rec); err != nil {
		if !errdefs.IsAlreadyExists(err) {
			return fail(fmt.Errorf("name image %s: %w", name, err))
		}
		if _, err := is.Update(ctx, rec, "target"); err != nil {
			return fail(fmt.Errorf("name image %s: %w", name, err))
		}
	}
	if err := containerd.NewImageWithPlatform(c.client, rec, platforms.Only(sp.Platform)).Unpack(ctx, c.snapshotter); err != nil {
		return fail(fmt.Errorf("unpack image %s: %w", name, err))
	}
	return cfgDesc.Digest.String(), nil
}

// containerPlatform is the platform of the image target whose content a
// container was made from, and its manifest: the one whose config is the
// container's image ID (its berth.image-id label), else, for a container
// without one or an image re-tagged since, the platform berth picks for
// the image when not told (selectPlatform).
func containerPlatform(ctx context.Context, cs content.Store, binfmtDir string, target ocispec.Descriptor, imageID string) (StoredPlatform, ocispec.Manifest, error) {
	ps, err := imagePlatforms(ctx, cs, target)
	if err != nil {
		return StoredPlatform{}, ocispec.Manifest{}, err
	}
	for _, p := range ps {
		if !p.Present || imageID == "" {
			continue
		}
		m, err := readManifest(ctx, cs, p.Manifest)
		if err != nil {
			return StoredPlatform{}, ocispec.Manifest{}, err
		}
		if m.Config.Digest.String() == imageID {
			return p, m, nil
		}
	}
	p, ok := selectPlatform(binfmtDir, ps)
	if !ok {
		return StoredPlatform{}, ocispec.Manifest{}, fmt.Errorf("its content is not stored (no platform of it is present): %w", errdefs.ErrNotFound)
	}
	m, err := readManifest(ctx, cs, p.Manifest)
	if err != nil {
		return StoredPlatform{}, ocispec.Manifest{}, err
	}
	return p, m, nil
}

// containerDiff writes the container's changes to the content store as a
// compressed layer; a running container is paused meanwhile when pause is
// set (and not already paused).
func (c *Client) containerDiff(ctx context.Context, ctr containerd.Container, info containers.Container, pause bool) (ocispec.Descriptor, error) {
	if pause {
		proc, err := c.taskProcess(ctx, info.ID)
		if err == nil && proc.Status == apitask.Status_RUNNING {
			task, err := ctr.Task(ctx, nil)
			if err != nil {
				return ocispec.Descriptor{}, err
			}
			if err := task.Pause(ctx); err != nil {
				return ocispec.Descriptor{}, fmt.Errorf("pause: %w", err)
			}
			defer task.Resume(context.WithoutCancel(ctx)) //nolint:errcheck // a resume that fails leaves it paused, as berth unpause would tell
		}
	}
	desc, err := rootfs.CreateDiff(ctx, info.SnapshotKey, c.client.SnapshotService(info.Snapshotter), c.client.DiffService())
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("read its changes: %w", err)
	}
	return desc, nil
}

// commandOf is the container's command line, for the image history
// (docker commit records the container's command there): without the
// probe agent's launcher and berth's init, as ps shows it; nil when its
// spec could not be read.
func commandOf(spec *oci.Spec, err error) []string {
	if err != nil || spec.Process == nil {
		return nil
	}
	return withoutInit(spec.Process.Args)
}
