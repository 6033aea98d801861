package containerd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/platform"
	"github.com/berth/berth/scheduler"
)

// NormalizeRef turns a reference as people write it (busybox, me/app:1)
// into the full one containerd stores (docker.io/library/busybox:latest).
func NormalizeRef(ref string) (string, error) {
	named, err := reference.ParseDockerRef(ref)
	if err != nil {
		return "", fmt.Errorf("invalid image reference %q: %w", ref, err)
	}
	return named.String(), nil
}

// ImageSummary describes one local image.
type ImageSummary struct {
	Name   string
	Digest string
	// Size is the size of its stored content, of every platform it holds.
	Size int64
	// Platform is the platform berth runs it as (see selectPlatform).
	Platform string
	Created  time.Time
}

// Images lists the local images in berth's namespace, sorted by name. An
// image none of whose platforms is stored is left out.
func (c *Client) Images(ctx context.Context) ([]ImageSummary, error) {
	imgs, err := c.client.ImageService().List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	out := make([]ImageSummary, 0, len(imgs))
	for _, img := range imgs {
		v, err := c.imageView(ctx, img)
		if errdefs.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, ImageSummary{
			Name:     img.Name,
			Digest:   img.Target.Digest.String(),
			Size:     v.Size,
			Platform: v.Platform,
			Created:  img.CreatedAt,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Load imports an OCI image layout or `docker save` archive, keeping every
// platform of its images it holds, and unpacks for each image the
// platform berth runs it as (this host's when there, see selectPlatform)
// when that runs here. It returns the names of the images.
func (c *Client) Load(ctx context.Context, r io.Reader) ([]string, error) {
	imgs, err := c.client.Import(ctx, r,
		containerd.WithAllPlatforms(true),
		containerd.WithSkipMissing(),
		containerd.WithSkipDigestRef(func(name string) bool { return name != "" }),
		containerd.WithDigestRef(func(d digest.Digest) string { return "import-" + d.Encoded() }),
	)
	if err != nil {
		return nil, fmt.Errorf("load image archive: %w (is it an OCI layout or `docker save` tar?)", err)
	}
	if len(imgs) == 0 {
		return nil, fmt.Errorf("load image archive: it holds no image")
	}
	names := make([]string, 0, len(imgs))
	for _, img := range imgs {
		sp, err := c.platformImage(ctx, img, "")
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", img.Name, err)
		}
		if c.CanRun(sp.Platform) != platform.NotRunnable {
			i := containerd.NewImageWithPlatform(c.client, img, platforms.Only(sp.Platform))
			if err := i.Unpack(ctx, c.snapshotter); err != nil {
				return nil, fmt.Errorf("unpack %s (%s): %w", img.Name, sp, err)
			}
		}
		names = append(names, img.Name)
	}
	return names, nil
}

// Pull pulls an image for this host's platform (or plat if given),
// reporting per-layer progress on the client's events. It fetches and
// keeps that platform's manifest, config and layers under the image's
// name, which points at the image's index when it has one: a later pull
// of another platform adds that platform's content to the same image.
// The platform is unpacked when it runs here (natively or emulated, see
// CanRun); otherwise its content is only kept (for save and push). A
// platform the image does not have fails before anything is stored, with
// an error naming the platforms it has.
func (c *Client) Pull(ctx context.Context, ref, plat string) error {
	name, err := NormalizeRef(ref)
	if err != nil {
		return err
	}
	want := platforms.DefaultSpec()
	if plat != "" {
		if want, err = platform.Parse(plat); err != nil {
			return fmt.Errorf("pull %s: %w", ref, err)
		}
	}
	c.events.Emit(scheduler.Event{Kind: scheduler.KindImage, Name: ref, Status: scheduler.StatusWorking, Text: "Pulling"})
	opts := []containerd.RemoteOpt{
		containerd.WithResolver(c.resolver()),
		containerd.WithPlatformMatcher(platforms.Only(want)),
	}
	runs := c.CanRun(want)
	if runs != platform.NotRunnable {
		opts = append(opts, containerd.WithPullUnpack, containerd.WithPullSnapshotter(c.snapshotter))
	}
	if err := c.checkRemotePlatform(ctx, ref, name, want); err != nil {
		return err
	}
	stop := c.reportPull(ctx, ref)
	_, err = c.client.Pull(ctx, name, opts...)
	stop()
	if err != nil {
		return fmt.Errorf("pull %s: %w", ref, explainPull(err))
	}
	text := "Pulled"
	switch runs {
	case platform.Emulated:
		text = "Pulled (" + platform.Format(want) + ", runs emulated)"
	case platform.NotRunnable:
		text = "Pulled (" + platform.Format(want) + ", content only: it cannot run on this host)"
	}
	c.events.Emit(scheduler.Event{Kind: scheduler.KindImage, Name: ref, Status: scheduler.StatusDone, Text: text})
	return nil
}

// maxRemoteJSON bounds the index, manifest or config checkRemotePlatform
// reads from a registry.
const maxRemoteJSON = 8 << 20

// checkRemotePlatform fails when the image name names in its registry has
// no manifest for platform want, naming the platforms it has: a plain
// manifest's platform is its config's. Nothing is stored.
func (c *Client) checkRemotePlatform(ctx context.Context, ref, name string, want ocispec.Platform) error {
	resolver := c.resolver()
	resolved, desc, err := resolver.Resolve(ctx, name)
	if err != nil {
		return fmt.Errorf("pull %s: %w", ref, explainPull(err))
	}
	fetcher, err := resolver.Fetcher(ctx, resolved)
	if err != nil {
		return fmt.Errorf("pull %s: %w", ref, explainPull(err))
	}
	fetch := func(d ocispec.Descriptor, v any) error {
		rc, err := fetcher.Fetch(ctx, d)
		if err != nil {
			return fmt.Errorf("pull %s: fetch %s: %w", ref, d.Digest, explainPull(err))
		}
		defer rc.Close()
		if err := json.NewDecoder(io.LimitReader(rc, maxRemoteJSON)).Decode(v); err != nil {
			return fmt.Errorf("pull %s: read %s: %w", ref, d.Digest, err)
		}
		return nil
	}
	var have []ocispec.Platform
	switch {
	case images.IsIndexType(desc.MediaType):
		var idx ocispec.Index
		if err := fetch(desc, &idx); err != nil {
			return err
		}
		for _, m := range idx.Manifests {
			if m.Platform != nil && m.Platform.OS != "unknown" {
				have = append(have, platforms.Normalize(*m.Platform))
			}
		}
	case images.IsManifestType(desc.MediaType):
		var m ocispec.Manifest
		if err := fetch(desc, &m); err != nil {
			return err
		}
		var cfg ocispec.Image
		if err := fetch(m.Config, &cfg); err != nil {
			return err
		}
		if cfg.Architecture == "" {
			return nil // not an image config berth can tell the platform of
		}
		have = append(have, platforms.Normalize(ocispec.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant}))
	default:
		return nil // containerd's pull names what is wrong
	}
	match := platforms.Only(want)
	names := make([]string, 0, len(have))
	for _, p := range have {
		if match.Match(p) {
			return nil
		}
		names = append(names, platform.Format(p))
	}
	if len(names) == 0 {
		names = append(names, "no platform")
	}
	return fmt.Errorf("pull %s: the image has no %s manifest (it has %s): pass --platform with one of these",
		ref, platform.Format(want), strings.Join(names, ", "))
}

// explainPull adds what to do to the errors people meet when pulling.
func explainPull(err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "authorization failed"), strings.Contains(msg, "access denied"),
		strings.Contains(msg, "401"), strings.Contains(msg, "unauthorized"):
		return fmt.Errorf("%w: log in to the registry (berth reads credentials from $DOCKER_CONFIG/config.json or ~/.docker/config.json)", err)
	case errdefs.IsNotFound(err) || strings.Contains(msg, "not found"):
		return fmt.Errorf("%w: the registry has no such image or tag", err)
	case strings.Contains(msg, "connection refused"), strings.Contains(msg, "no such host"), strings.Contains(msg, "i/o timeout"), strings.Contains(msg, "network is unreachable"):
		return fmt.Errorf("%w: the registry cannot be reached; on an offline machine, `berth load -i ARCHIVE` the image instead", err)
	case strings.Contains(msg, "http: server gave HTTP response to HTTPS client"):
		return fmt.Errorf("%w: the registry speaks plain HTTP; pass --insecure-registry HOST:PORT", err)
	}
	return err
}

// explainPush is explainPull for a push: an unreachable registry is one
// to fix or to choose, not one to work around by loading an archive.
func explainPush(err error) error {
	msg := err.Error()
	for _, unreachable := range []string{"connection refused", "no such host", "i/o timeout", "network is unreachable"} {
		if strings.Contains(msg, unreachable) {
			return fmt.Errorf("%w: the registry cannot be reached", err)
		}
	}
	return explainPull(err)
}

// reportPull emits per-layer byte counts while a pull runs, from the content
// store's ingest statuses, and a "Download complete" when a layer's ingest
// ends; the returned func stops it.
func (c *Client) reportPull(ctx context.Context, image string) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		active := map[string]bool{}
		complete := func(layer string) {
			c.events.Emit(scheduler.Event{Kind: scheduler.KindLayer, Name: layer, Parent: image, Status: scheduler.StatusDone, Text: "Download complete"})
			delete(active, layer)
		}
		defer func() {
			for layer := range active {
				complete(layer)
			}
		}()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			statuses, err := c.client.ContentStore().ListStatuses(ctx)
			if err != nil {
				continue
			}
			now := map[string]bool{}
			for _, s := range statuses {
				if !strings.HasPrefix(s.Ref, "layer-") {
					continue
				}
				layer := shortLayer(s.Ref)
				now[layer], active[layer] = true, true
				c.events.Emit(scheduler.Event{
					Kind: scheduler.KindLayer, Name: layer, Parent: image,
					Status: scheduler.StatusWorking, Text: "Downloading", Current: s.Offset, Total: s.Total,
				})
			}
			for layer := range active {
				if !now[layer] {
					complete(layer)
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

func shortLayer(ref string) string {
	ref = strings.TrimPrefix(ref, "layer-")
	ref = strings.TrimPrefix(ref, "sha256:")
	if len(ref) > 12 {
		ref = ref[:12]
	}
	return ref
}

// hasImage reports whether ref is in the image store.
func (c *Client) hasImage(ctx context.Context, ref string) (bool, error) {
	_, err := c.client.ImageService().Get(ctx, ref)
	if err == nil {
		return true, nil
	}
	if errdefs.IsNotFound(err) {
		return false, nil
	}
	return false, err
}

// hasImagePlatform reports whether ref is in the image store with the
// content of platform ("" for any platform berth would run it as).
func (c *Client) hasImagePlatform(ctx context.Context, ref, plat string) (bool, error) {
	img, err := c.client.ImageService().Get(ctx, ref)
	if errdefs.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if plat != "" {
		if _, err := platform.Parse(plat); err != nil {
			return false, err
		}
	}
	_, err = c.platformImage(ctx, img, plat)
	if errdefs.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// EnsureImage makes the service's image available according to its pull
// policy; an image stored without the content of the service's platform:
// is missing. Images of services with a build section are built before
// this (scheduler.Build); a missing one here was not built (--no-build).
func (c *Client) EnsureImage(ctx context.Context, s *compose.Service) error {
	if err := c.ensureMountImages(ctx, s); err != nil {
		return err
	}
	image := s.ImageName()
	ref, err := NormalizeRef(image)
	if err != nil {
		return fmt.Errorf("service %q: %w", s.Name, err)
	}
	present, err := c.hasImagePlatform(ctx, ref, s.Platform)
	if err != nil {
		return fmt.Errorf("service %q: look up image %s: %w", s.Name, image, err)
	}
	pull, err := pullNeeded(s, present)
	if err != nil {
		return err
	}
	if pull {
		return c.pullFor(ctx, s, image)
	}
	c.events.Emit(scheduler.Event{Kind: scheduler.KindImage, Name: image, Status: scheduler.StatusDone, Text: "Present"})
	return nil
}

// pullNeeded applies a service's pull_policy to whether its image is
// present: pull it, use it, or refuse with what to do.
func pullNeeded(s *compose.Service, present bool) (bool, error) {
	image := s.ImageName()
	switch {
	case s.PullPolicy == compose.PullAlways:
		return true, nil
	case present:
		return false, nil
	case s.PullPolicy == compose.PullNever:
		return false, fmt.Errorf("service %q: image %s is not present and pull_policy is never: `berth load -i ARCHIVE` it, or change pull_policy", s.Name, image)
	case s.PullPolicy == compose.PullBuild && !s.HasBuild:
		return false, fmt.Errorf("service %q: image %s is not present and pull policy build does not pull it (the service has no build section): `berth pull %s`, or drop --pull build", s.Name, image, s.Name)
	case s.PullPolicy == compose.PullBuild || (s.HasBuild && s.Image == ""):
		return false, fmt.Errorf("service %q: image %s is not built yet: run `berth build %s` (or `berth up` without --no-build)", s.Name, image, s.Name)
	}
	return true, nil
}

func (c *Client) pullFor(ctx context.Context, s *compose.Service, image string) error {
	if err := c.Pull(ctx, image, s.Platform); err != nil {
		return fmt.Errorf("service %q: %w", s.Name, err)
	}
	return nil
}
