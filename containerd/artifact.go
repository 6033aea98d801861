package containerd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/remotes"
	remoteerrors "github.com/containerd/containerd/v2/core/remotes/errors"
	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// The media types of a compose project published as an OCI artifact, as
// docker compose publish writes them (docker/compose internal/oci).
const (
	// ComposeProjectArtifactType is the manifest's artifactType (OCI 1.1).
	ComposeProjectArtifactType = "application/vnd.docker.compose.project"
	// ComposeYAMLMediaType is a layer holding a compose file.
	ComposeYAMLMediaType = "application/vnd.docker.compose.file+yaml"
	// ComposeEnvFileMediaType is a layer holding an env file.
	ComposeEnvFileMediaType = "application/vnd.docker.compose.envfile"
	// ComposeEmptyConfigMediaType is the config's media type in the OCI 1.0
	// form, which has no artifactType.
	ComposeEmptyConfigMediaType = "application/vnd.docker.compose.config.empty.v1+json"
)

// Annotations of a compose artifact's layers.
const (
	annotationComposeFile    = "com.docker.compose.file"
	annotationComposeEnvFile = "com.docker.compose.envfile"
	annotationComposeExtends = "com.docker.compose.extends"
	annotationComposeVersion = "com.docker.compose.version"
)

// OCI versions of PublishCompose.
const (
	OCIVersionAuto = ""
	OCIVersion1_0  = "1.0"
	OCIVersion1_1  = "1.1"
)

// composeArtifactVersion is the compose version berth's artifacts name
// in their annotations: the one whose format it writes.
const composeArtifactVersion = "2.40.3"

// maxArtifactBlob bounds what FetchCompose reads of a manifest or layer:
// compose files and env files are small, a registry's answer need not be.
const maxArtifactBlob = 8 << 20

// ArtifactFile is one file of a compose artifact.
type ArtifactFile struct {
	// Env is set for an env file, unset for a compose file.
	Env bool
	// Name is the file's name (no directory): a compose file's own, or
	// the name an env file is referred to by from the compose files.
	Name string
	Data []byte
}

// Registry reaches registries without a containerd daemon, with berth's
// rules (plain HTTP for loopback and insecure registries, credentials
// from the docker config file).
type Registry struct{ insecure []string }

// NewRegistry returns a Registry; insecure lists the registries reached
// over plain HTTP besides loopback ones.
func NewRegistry(insecure ...string) *Registry {
	quietLibraryLogs() // the resolver's "fetch failed" lines: the errors say it
	return &Registry{insecure: insecure}
}

// PublishCompose pushes files to ref (REPO[:TAG], normalized as image
// names are) as a compose artifact, in the form docker compose publish
// writes: an image manifest with artifactType
// application/vnd.docker.compose.project, the empty config, and one layer
// a file, compose files first. ociVersion "1.1" insists on that form, "1.0"
// writes the older one (no artifactType, the config's media type saying
// what it is), and "" tries 1.1 and falls back to 1.0 when the registry
// refuses it (a 4xx other than an authentication error). It returns the
// manifest's digest.
func (r *Registry) PublishCompose(ctx context.Context, ref string, files []ArtifactFile, ociVersion string) (string, error) {
	d, err := r.publishCompose(ctx, ref, files, ociVersion)
	if err != nil {
		return "", err
	}
	return d.Digest.String(), nil
}

// publishCompose is PublishCompose, returning the manifest's descriptor
// (as docker compose describes it: with its artifactType and compose's
// version annotation).
func (r *Registry) publishCompose(ctx context.Context, ref string, files []ArtifactFile, ociVersion string) (ocispec.Descriptor, error) {
	name, err := NormalizeRef(ref)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	if ociVersion != OCIVersionAuto && ociVersion != OCIVersion1_0 && ociVersion != OCIVersion1_1 {
		return ocispec.Descriptor{}, fmt.Errorf("--oci-version %q: give 1.0 or 1.1", ociVersion)
	}
	pusher, err := newResolver(r.insecure).Pusher(ctx, name)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("publish %s: %w", ref, err)
	}
	var layers []ocispec.Descriptor
	blobs := map[digest.Digest][]byte{}
	for _, f := range files {
		d := ocispec.Descriptor{
			MediaType: ComposeYAMLMediaType, Digest: digest.FromBytes(f.Data), Size: int64(len(f.Data)),
			Annotations: map[string]string{annotationComposeVersion: composeArtifactVersion, annotationComposeFile: f.Name},
		}
		if f.Env {
			d.MediaType = ComposeEnvFileMediaType
			d.Annotations = map[string]string{annotationComposeVersion: composeArtifactVersion, annotationComposeEnvFile: f.Name}
		}
		layers = append(layers, d)
		blobs[d.Digest] = f.Data
	}
	for _, l := range layers {
		if err := pushBlob(ctx, pusher, l, blobs[l.Digest]); err != nil {
			return ocispec.Descriptor{}, fmt.Errorf("publish %s: %w", ref, err)
		}
	}
	versions := []string{ociVersion}
	if ociVersion == OCIVersionAuto {
		versions = []string{OCIVersion1_1, OCIVersion1_0}
	}
	for i, v := range versions {
		d, err := pushComposeManifest(ctx, pusher, layers, v)
		var status remoteerrors.ErrUnexpectedStatus
		if err != nil && i+1 < len(versions) && errors.As(err, &status) && refusedForm(status.StatusCode) {
			continue
		}
		if err != nil {
			return ocispec.Descriptor{}, fmt.Errorf("publish %s: %w", ref, explainPull(err))
		}
		return d, nil
	}
	return ocispec.Descriptor{}, fmt.Errorf("publish %s: no OCI version to try", ref)
}

// refusedForm reports whether a registry's status says it refused the
// manifest's form (and the other form may do), not who sent it.
func refusedForm(code int) bool {
	return code >= 400 && code < 500 && !slices.Contains([]int{http.StatusUnauthorized, http.StatusForbidden, http.StatusProxyAuthRequired}, code)
}

// pushComposeManifest pushes the config and the manifest of the given
// OCI version's form.
func pushComposeManifest(ctx context.Context, pusher remotes.Pusher, layers []ocispec.Descriptor, version string) (ocispec.Descriptor, error) {
	config := ocispec.DescriptorEmptyJSON
	artifactType := ComposeProjectArtifactType
	if version == OCIVersion1_0 {
		config = ocispec.Descriptor{MediaType: ComposeEmptyConfigMediaType, Digest: ocispec.DescriptorEmptyJSON.Digest, Size: ocispec.DescriptorEmptyJSON.Size}
		artifactType = ""
	}
	if err := pushBlob(ctx, pusher, config, ocispec.DescriptorEmptyJSON.Data); err != nil {
		return ocispec.Descriptor{}, err
	}
	m, err := json.Marshal(ocispec.Manifest{
		Versioned:    specs.Versioned{SchemaVersion: 2},
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: artifactType,
		Config:       config,
		Layers:       layers,
		Annotations:  map[string]string{ocispec.AnnotationCreated: time.Now().UTC().Format(time.RFC3339)},
	})
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	d := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, ArtifactType: artifactType, Digest: digest.FromBytes(m), Size: int64(len(m))}
	if err := pushBlob(ctx, pusher, d, m); err != nil {
		return ocispec.Descriptor{}, err
	}
	d.Annotations = map[string]string{annotationComposeVersion: composeArtifactVersion}
	return d, nil
}

// pushBlob pushes one blob (or manifest) unless the registry has it.
func pushBlob(ctx context.Context, pusher remotes.Pusher, d ocispec.Descriptor, data []byte) error {
	w, err := pusher.Push(ctx, d)
	if errdefs.IsAlreadyExists(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer w.Close()
	if err := content.Copy(ctx, w, bytes.NewReader(data), d.Size, d.Digest); err != nil && !errdefs.IsAlreadyExists(err) {
		return err
	}
	return nil
}

// FetchCompose reads the compose artifact at ref (REPO[:TAG] or
// REPO@DIGEST): its manifest's digest and its files, compose files in
// their order. An image index (docker compose publish --app) is followed
// to its compose artifact. Anything that is not a compose artifact is
// refused, and so are layers of other media types.
func (r *Registry) FetchCompose(ctx context.Context, ref string) (string, []ArtifactFile, error) {
	name, err := NormalizeRef(ref)
	if err != nil {
		return "", nil, err
	}
	resolver := newResolver(r.insecure)
	_, desc, err := resolver.Resolve(ctx, name)
	if err != nil {
		return "", nil, fmt.Errorf("fetch %s: %w", ref, explainFetchArtifact(err))
	}
	fetcher, err := resolver.Fetcher(ctx, name)
	if err != nil {
		return "", nil, fmt.Errorf("fetch %s: %w", ref, err)
	}
	b, err := fetchBlob(ctx, fetcher, desc)
	if err != nil {
		return "", nil, fmt.Errorf("fetch %s: %w", ref, err)
	}
	if images.IsIndexType(desc.MediaType) {
		var index ocispec.Index
		if err := json.Unmarshal(b, &index); err != nil {
			return "", nil, fmt.Errorf("fetch %s: index: %w", ref, err)
		}
		i := slices.IndexFunc(index.Manifests, func(d ocispec.Descriptor) bool { return d.ArtifactType == ComposeProjectArtifactType })
		if i < 0 {
			return "", nil, fmt.Errorf("fetch %s: it is an image index without a compose project", ref)
		}
		desc = index.Manifests[i]
		if b, err = fetchBlob(ctx, fetcher, desc); err != nil {
			return "", nil, fmt.Errorf("fetch %s: %w", ref, err)
		}
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return "", nil, fmt.Errorf("fetch %s: manifest: %w", ref, err)
	}
	if m.ArtifactType != ComposeProjectArtifactType && (m.ArtifactType != "" || m.Config.MediaType != ComposeEmptyConfigMediaType) {
		kind := m.ArtifactType
		if kind == "" {
			kind = m.Config.MediaType
		}
		return "", nil, fmt.Errorf("%s is not a compose project published as an OCI artifact (it is %s)", ref, kind)
	}
	var files []ArtifactFile
	for _, l := range m.Layers {
		var f ArtifactFile
		switch l.MediaType {
		case ComposeYAMLMediaType:
			f.Name = l.Annotations[annotationComposeFile]
			if _, ok := l.Annotations[annotationComposeExtends]; ok {
				return "", nil, fmt.Errorf("fetch %s: it holds files of extends: (%s), which berth does not read from artifacts yet", ref, f.Name)
			}
		case ComposeEnvFileMediaType:
			f.Env, f.Name = true, l.Annotations[annotationComposeEnvFile]
		case ComposeEmptyConfigMediaType:
			continue
		default:
			return "", nil, fmt.Errorf("fetch %s: layer %s has media type %s, not a compose file or env file", ref, l.Digest, l.MediaType)
		}
		if f.Data, err = fetchBlob(ctx, fetcher, l); err != nil {
			return "", nil, fmt.Errorf("fetch %s: %w", ref, err)
		}
		files = append(files, f)
	}
	return desc.Digest.String(), files, nil
}

// fetchBlob reads a blob, at most maxArtifactBlob bytes, checking its
// digest.
func fetchBlob(ctx context.Context, fetcher remotes.Fetcher, d ocispec.Descriptor) ([]byte, error) {
	if d.Size > maxArtifactBlob {
		return nil, fmt.Errorf("%s is %d bytes, more than a compose artifact's %d", d.Digest, d.Size, maxArtifactBlob)
	}
	rc, err := fetcher.Fetch(ctx, d)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, d.Size+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) != d.Size || digest.FromBytes(b) != d.Digest {
		return nil, fmt.Errorf("%s: the registry sent other content", d.Digest)
	}
	return b, nil
}

// explainFetchArtifact is explainPull for a compose artifact: what to do
// when the registry has none, or cannot be reached (an archive of an image
// is no help then).
func explainFetchArtifact(err error) error {
	msg := err.Error()
	switch {
	case errdefs.IsNotFound(err) || strings.Contains(msg, "not found"):
		return fmt.Errorf("%w: the registry has no such compose artifact (berth publish REPOSITORY[:TAG] pushes one)", err)
	case strings.Contains(msg, "connection refused"), strings.Contains(msg, "no such host"), strings.Contains(msg, "i/o timeout"), strings.Contains(msg, "network is unreachable"):
		return fmt.Errorf("%w: the registry cannot be reached", err)
	}
	return explainPull(err)
}

// ResolveDigest asks image's registry what image (REPO[:TAG]) points at
// now and returns its digest: the manifest's, or the index's of a
// multi-platform image, as docker's distribution inspect gives it (what
// compose's --resolve-image-digests pins). Nothing is pulled; credentials
// are read as for pull.
func (r *Registry) ResolveDigest(ctx context.Context, image string) (string, error) {
	name, err := NormalizeRef(image)
	if err != nil {
		return "", err
	}
	_, desc, err := newResolver(r.insecure).Resolve(ctx, name)
	if err != nil {
		return "", explainPull(err)
	}
	return desc.Digest.String(), nil
}
