package containerd

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/platform"
	"github.com/berth/berth/scheduler"
)

// WithBinfmtDir sets the binfmt_misc directory berth reads to learn which
// foreign platforms run here under emulation (default
// platform.DefaultBinfmtDir). Tests point it at a directory of their own.
func WithBinfmtDir(dir string) Opt { return func(o *connectOptions) { o.binfmtDir = dir } }

// CanRun reports how this host runs binaries of platform p: natively,
// under qemu emulation (an enabled qemu handler in binfmt_misc), or not at
// all (see platform.Emulation).
func (c *Client) CanRun(p ocispec.Platform) platform.Runnable {
	return platform.Local(c.binfmtDir).Runs(p)
}

// StoredPlatform is one platform of a stored image and whether its
// content (manifest, config, layers) is all in the content store.
type StoredPlatform struct {
	Platform ocispec.Platform
	// Manifest is the platform's manifest.
	Manifest ocispec.Descriptor
	// Present is true when the manifest, config and every layer are stored.
	Present bool
	// Size is the size of the config and layers that are stored.
	Size int64
	// Blobs are the config and layers that are stored.
	Blobs []ocispec.Descriptor
}

// String is the platform as berth prints it: linux/arm64.
func (p StoredPlatform) String() string { return platform.Format(p.Platform) }

// imagePlatforms lists the platforms of the image target points to: an
// index's manifests (attestations left out), or the one platform of a
// plain manifest (read from its config), with what of each is stored.
// The index (or manifest) itself must be stored.
func imagePlatforms(ctx context.Context, cs content.Store, target ocispec.Descriptor) ([]StoredPlatform, error) {
	if images.IsManifestType(target.MediaType) {
		p, err := storedManifest(ctx, cs, target, nil)
		if err != nil {
			return nil, err
		}
		return []StoredPlatform{p}, nil
	}
	if !images.IsIndexType(target.MediaType) {
		return nil, fmt.Errorf("unsupported image media type %s", target.MediaType)
	}
	idx, err := readIndex(ctx, cs, target)
	if err != nil {
		return nil, err
	}
	var out []StoredPlatform
	for _, m := range idx.Manifests {
		switch {
		case images.IsIndexType(m.MediaType):
			nested, err := imagePlatforms(ctx, cs, m)
			if errdefs.IsNotFound(err) {
				continue
			}
			if err != nil {
				return nil, err
			}
			out = append(out, nested...)
		case !images.IsManifestType(m.MediaType):
		case m.Annotations["vnd.docker.reference.type"] == "attestation-manifest":
		case m.Platform != nil && m.Platform.OS == "unknown":
		default:
			p, err := storedManifest(ctx, cs, m, m.Platform)
			if err != nil {
				return nil, err
			}
			out = append(out, p)
		}
	}
	return out, nil
}

// storedManifest is what of the manifest m is stored; platform is the one
// the index gives it, or nil to read it from the config.
func storedManifest(ctx context.Context, cs content.Store, m ocispec.Descriptor, platform *ocispec.Platform) (StoredPlatform, error) {
	sp := StoredPlatform{Manifest: m}
	if platform != nil {
		sp.Platform = platforms.Normalize(*platform)
	}
	manifest, err := readManifest(ctx, cs, m)
	if errdefs.IsNotFound(err) {
		return sp, nil
	}
	if err != nil {
		return sp, err
	}
	if platform == nil {
		cfg, err := readConfig(ctx, cs, manifest.Config)
		if err != nil && !errdefs.IsNotFound(err) {
			return sp, err
		}
		sp.Platform = platforms.Normalize(ocispec.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant})
	}
	sp.Present = true
	for _, d := range append([]ocispec.Descriptor{manifest.Config}, manifest.Layers...) {
		if _, err := cs.Info(ctx, d.Digest); err != nil {
			if !errdefs.IsNotFound(err) {
				return sp, err
			}
			sp.Present = false
			continue
		}
		sp.Size += d.Size
		sp.Blobs = append(sp.Blobs, d)
	}
	return sp, nil
}

// selectPlatform picks the platform of a stored image berth uses when it
// is not told which: this host's if it is present, else the first present
// one that runs here (emulated), else the first present one. ok is false
// when no platform is present.
func selectPlatform(binfmtDir string, ps []StoredPlatform) (StoredPlatform, bool) {
	host := platforms.Default()
	emu := platform.Local(binfmtDir)
	var best StoredPlatform
	found := false
	for _, p := range ps {
		if !p.Present {
			continue
		}
		switch {
		case host.Match(p.Platform):
			if !found || !host.Match(best.Platform) || host.Less(p.Platform, best.Platform) {
				best, found = p, true
			}
		case !found:
			best, found = p, true
		case !host.Match(best.Platform) && emu.Runs(best.Platform) == platform.NotRunnable && emu.Runs(p.Platform) != platform.NotRunnable:
			best = p
		}
	}
	return best, found
}

// presentNames lists the present platforms, as "linux/amd64, linux/arm64"
// ("none" when none is).
func presentNames(ps []StoredPlatform) string {
	var names []string
	for _, p := range ps {
		if p.Present {
			names = append(names, p.String())
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// platformImage picks the platform of a stored image to use: the one
// asked for ("" for selectPlatform's choice). The error names the image,
// the platform asked and those it holds, and satisfies errdefs.IsNotFound.
func (c *Client) platformImage(ctx context.Context, img images.Image, want string) (StoredPlatform, error) {
	ps, err := imagePlatforms(ctx, c.client.ContentStore(), img.Target)
	if err != nil {
		return StoredPlatform{}, fmt.Errorf("image %s: %w", img.Name, err)
	}
	if want == "" {
		if p, ok := selectPlatform(c.binfmtDir, ps); ok {
			return p, nil
		}
		return StoredPlatform{}, fmt.Errorf("image %s: its content is not stored (no platform of it is present): pull it again: %w", img.Name, errdefs.ErrNotFound)
	}
	wp, err := platform.Parse(want)
	if err != nil {
		return StoredPlatform{}, err
	}
	match := platforms.Only(wp)
	for _, p := range ps {
		if p.Present && match.Match(p.Platform) {
			return p, nil
		}
	}
	return StoredPlatform{}, fmt.Errorf("image %s has no %s content here (it holds %s): pull it with --platform %s: %w",
		img.Name, platform.Format(wp), presentNames(ps), platform.Format(wp), errdefs.ErrNotFound)
}

// readJSON reads the blob d and decodes it into v.
func readJSON(ctx context.Context, cs content.Provider, d ocispec.Descriptor, v any) error {
	b, err := content.ReadBlob(ctx, cs, d)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", d.Digest, err)
	}
	return nil
}

func readIndex(ctx context.Context, cs content.Provider, d ocispec.Descriptor) (ocispec.Index, error) {
	var idx ocispec.Index
	return idx, readJSON(ctx, cs, d, &idx)
}

func readManifest(ctx context.Context, cs content.Provider, d ocispec.Descriptor) (ocispec.Manifest, error) {
	var m ocispec.Manifest
	return m, readJSON(ctx, cs, d, &m)
}

func readConfig(ctx context.Context, cs content.Provider, d ocispec.Descriptor) (ocispec.Image, error) {
	var cfg ocispec.Image
	return cfg, readJSON(ctx, cs, d, &cfg)
}

// hasPlatform reports whether the local image ref (normalized) has a
// manifest for platform p whose config is present: an index may list
// platforms whose content was never fetched.
func (c *Client) hasPlatform(ctx context.Context, ref string, p ocispec.Platform) (bool, error) {
	img, err := c.client.ImageService().Get(ctx, ref)
	if errdefs.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	m, err := images.Manifest(ctx, c.client.ContentStore(), img.Target, platforms.Only(p))
	if err != nil {
		return false, nil //nolint:nilerr // no manifest for p (or its content is missing): not present
	}
	if _, err := c.client.ContentStore().Info(ctx, m.Config.Digest); err != nil {
		return false, nil //nolint:nilerr // the config is not here: not present
	}
	return true, nil
}

// platformArg is p as Pull takes it: "" for this host's platform, so that
// pulls for the host stay as they were.
func platformArg(p ocispec.Platform) string {
	if platforms.Only(platform.Host()).Match(p) && p.Architecture == platform.Host().Architecture {
		return ""
	}
	return platforms.Format(p)
}

// warnEmulated warns, once per service and command, that s runs platform
// p under qemu emulation (the caller checked that it can).
func (c *Client) warnEmulated(s *compose.Service, p ocispec.Platform) {
	if _, warned := c.emulatedWarned.LoadOrStore(s.Name, true); warned {
		return
	}
	msg := fmt.Sprintf("service %q runs %s emulated (qemu) on this %s host: slower than native", s.Name, platform.Format(p), platform.Format(platform.Host()))
	if s.Platform == "" {
		msg = fmt.Sprintf("service %q: the image's platform (%s) does not match this host's (%s) and no platform was requested: it runs emulated (qemu), slower than native", s.Name, platform.Format(p), platform.Format(platform.Host()))
	}
	c.events.Emit(scheduler.Event{Kind: scheduler.KindService, Name: s.Name, Status: scheduler.StatusWarning, Text: "Warning", Detail: msg})
}

// PlatformImageID is ImageID for a service of platform platform ("" as
// ImageID): the ID of the image's content for that platform, which is
// what its containers are made from; "" when that content is not here.
func (c *Client) PlatformImageID(ctx context.Context, image, platform string) (string, error) {
	ref, err := NormalizeRef(image)
	if err != nil {
		return "", err
	}
	rec, err := c.client.ImageService().Get(ctx, ref)
	if errdefs.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("image %s: %w", image, err)
	}
	sp, err := c.platformImage(ctx, rec, platform)
	if errdefs.IsNotFound(err) {
		return "", nil // named, but not stored for that platform
	}
	if err != nil {
		return "", err
	}
	m, err := readManifest(ctx, c.client.ContentStore(), sp.Manifest)
	if err != nil {
		return "", fmt.Errorf("image %s: read its manifest: %w", image, err)
	}
	return m.Config.Digest.String(), nil
}
