package containerd

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// labelDistributionSource is containerd's annotation naming the repository
// a descriptor's content comes from (labels.LabelDistributionSource),
// which docker compose sets on the images it copies for publish --app.
const labelDistributionSource = "containerd.io/distribution.source"

// maxManifest bounds a manifest or index read while images are copied.
const maxManifest = 4 << 20

// PublishApp is PublishCompose for docker compose publish --app: the
// compose artifact is pushed to ref, then each of images (the services'
// images, pinned to digests) is copied into ref's repository (its index
// or manifest, with every manifest, config and layer it refers to), and
// an image index listing them, whose subject is the compose artifact, is
// pushed by digest, untagged: ref still names the compose artifact, and
// the index is its referrer. It returns the artifact's and the index's
// digests.
func (r *Registry) PublishApp(ctx context.Context, ref string, files []ArtifactFile, ociVersion string, images []string) (artifact, index string, retErr error) {
	subject, err := r.publishCompose(ctx, ref, files, ociVersion)
	if err != nil {
		return "", "", err
	}
	name, err := NormalizeRef(ref)
	if err != nil {
		return "", "", err
	}
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return "", "", fmt.Errorf("publish %s: %w", ref, err)
	}
	repo := reference.TrimNamed(named).String()
	resolver := newResolver(r.insecure)
	// No tag: manifests go by their digests.
	pusher, err := resolver.Pusher(ctx, repo)
	if err != nil {
		return "", "", fmt.Errorf("publish %s: %w", ref, err)
	}
	manifests := []ocispec.Descriptor{}
	for _, image := range images {
		d, err := copyImage(ctx, resolver, pusher, image)
		if err != nil {
			return "", "", fmt.Errorf("publish %s: copy image %s: %w", ref, image, explainPull(err))
		}
		manifests = append(manifests, d)
	}
	b, err := json.Marshal(ocispec.Index{
		Versioned:   specs.Versioned{SchemaVersion: 2},
		MediaType:   ocispec.MediaTypeImageIndex,
		Manifests:   manifests,
		Subject:     &subject,
		Annotations: map[string]string{annotationComposeVersion: composeArtifactVersion},
	})
	if err != nil {
		return "", "", err
	}
	d := ocispec.Descriptor{
		MediaType: ocispec.MediaTypeImageIndex, ArtifactType: ComposeProjectArtifactType,
		Digest: digest.FromBytes(b), Size: int64(len(b)),
		Annotations: map[string]string{annotationComposeVersion: composeArtifactVersion},
	}
	if err := pushBlob(ctx, pusher, d, b); err != nil {
		return "", "", fmt.Errorf("publish %s: the index of its images: %w", ref, explainPull(err))
	}
	return subject.Digest.String(), d.Digest.String(), nil
}

// copyImage copies image (REPO[:TAG][@DIGEST]) from its registry through
// pusher, and returns the descriptor of what it named, annotated with its
// source as docker compose annotates it.
func copyImage(ctx context.Context, resolver remotes.Resolver, pusher remotes.Pusher, image string) (ocispec.Descriptor, error) {
	name, err := NormalizeRef(image)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	src, desc, err := resolver.Resolve(ctx, name)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	fetcher, err := resolver.Fetcher(ctx, src)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	if err := copyContent(ctx, fetcher, pusher, desc); err != nil {
		return ocispec.Descriptor{}, err
	}
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	if desc.Annotations == nil {
		desc.Annotations = map[string]string{}
	}
	desc.Annotations[labelDistributionSource+"."+reference.Domain(named)] = reference.Path(named)
	return desc, nil
}

// copyContent copies desc, what it refers to first (an index's manifests,
// a manifest's config and layers), so that the registry never holds a
// manifest whose content it lacks. What the destination has is skipped.
func copyContent(ctx context.Context, fetcher remotes.Fetcher, pusher remotes.Pusher, desc ocispec.Descriptor) error {
	if !images.IsManifestType(desc.MediaType) && !images.IsIndexType(desc.MediaType) {
		w, err := pusher.Push(ctx, desc)
		if errdefs.IsAlreadyExists(err) {
			return nil
		}
		if err != nil {
			return err
		}
		defer w.Close()
		rc, err := fetcher.Fetch(ctx, desc)
		if err != nil {
			return err
		}
		defer rc.Close()
		if err := content.Copy(ctx, w, rc, desc.Size, desc.Digest); err != nil && !errdefs.IsAlreadyExists(err) {
			return fmt.Errorf("%s: %w", desc.Digest, err)
		}
		return nil
	}
	if desc.Size > maxManifest {
		return fmt.Errorf("%s: a manifest of %d bytes", desc.Digest, desc.Size)
	}
	b, err := fetchBlob(ctx, fetcher, desc)
	if err != nil {
		return err
	}
	var children []ocispec.Descriptor
	if images.IsIndexType(desc.MediaType) {
		var idx ocispec.Index
		if err := json.Unmarshal(b, &idx); err != nil {
			return fmt.Errorf("%s: %w", desc.Digest, err)
		}
		children = idx.Manifests
	} else {
		var m ocispec.Manifest
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("%s: %w", desc.Digest, err)
		}
		children = append([]ocispec.Descriptor{m.Config}, m.Layers...)
	}
	for _, c := range children {
		if strings.HasPrefix(c.MediaType, "application/vnd.oci.image.layer.nondistributable") {
			continue // not for registries to hold, by its definition
		}
		if err := copyContent(ctx, fetcher, pusher, c); err != nil {
			return err
		}
	}
	return pushBlob(ctx, pusher, desc, b)
}
