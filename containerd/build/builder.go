package build

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/diff"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/identity"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"github.com/berth/berth/hostproc"
	"github.com/berth/berth/platform"
)

// emptyLayer is the diff ID of a layer that changes nothing (an empty tar).
const emptyLayer = digest.Digest("sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef")

// cacheLease is the containerd lease that keeps the build cache's blobs and
// snapshots from containerd's garbage collector. `berth builder prune`
// deletes it.
const cacheLease = "berth.build-cache"

// defaultPath is the PATH of RUN steps and of images built FROM scratch.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// EnsureFunc makes an image present in the image store and unpacked: it
// pulls it (for platform) when missing, or always when pull is set.
type EnsureFunc func(ctx context.Context, ref string, pull bool, platform ocispec.Platform) error

// Config configures a Builder.
type Config struct {
	// Snapshotter is the snapshotter layers are committed to (overlayfs).
	Snapshotter string
	// StateDir holds the cache index (<data>/build).
	StateDir string
	// FIFODir holds the FIFOs of RUN steps' output, a directory per build.
	FIFODir string
	// EtcDir holds the /etc files of RUN steps in the build's network, a
	// directory per build.
	EtcDir string
	// EnsureImage makes base images and COPY --from images present.
	EnsureImage EnsureFunc
	// Network makes the networks of RUN steps (NetworkDefault); WriteEtc
	// writes their hosts and resolv.conf.
	Network  Network
	WriteEtc EtcWriter
	// Confine is the confinement of RUN steps past containerd's default
	// spec: a container's (Docker's seccomp profile).
	Confine []oci.SpecOpts
	// BinfmtDir is where a build for a foreign platform looks for its qemu
	// binfmt_misc handler (default platform.DefaultBinfmtDir).
	BinfmtDir string
}

// Builder executes Dockerfiles on containerd: RUN in containerd tasks on
// snapshots, COPY and ADD into mounted snapshots, layers computed by
// containerd's diff service into its content store.
type Builder struct {
	client *containerd.Client
	cfg    Config
	cache  *cacheIndex
	// proc is where build owners are looked up: alive or gone.
	proc hostproc.Dir
	// bases are the base images' manifests and configs its builds read.
	bases bases
	// memo remembers its contexts' content hashes (see hashMemo).
	memo *hashMemo
	// reaped is done when the builder's first build ran Reap: what killed
	// builds left is gone for its later builds too.
	reaped sync.Once
}

// New returns a builder on a containerd client whose context carries the
// namespace to build in.
func New(client *containerd.Client, cfg Config) (*Builder, error) {
	if cfg.Snapshotter == "" {
		cfg.Snapshotter = "overlayfs"
	}
	if cfg.BinfmtDir == "" {
		cfg.BinfmtDir = platform.DefaultBinfmtDir
	}
	cache, err := openCache(filepath.Join(cfg.StateDir, "cache.json"))
	if err != nil {
		return nil, err
	}
	return &Builder{client: client, cfg: cfg, cache: cache, proc: hostproc.Host, memo: newHashMemo(memoFile(cfg.StateDir))}, nil
}

// Request is one image to build.
type Request struct {
	// Name prefixes the output lines (the service's name).
	Name string
	// ContextDir is the build context directory.
	ContextDir string
	// Dockerfile is the Dockerfile's path (relative ones are relative to
	// the context); Inline, when set, is its content instead.
	Dockerfile string
	Inline     string
	Target     string
	Args       map[string]string
	// Labels are added to the image's labels.
	Labels map[string]string
	// Tags are the full references the image is stored under.
	Tags []string
	// NoCache runs every step; Pull pulls base images even when present.
	NoCache, Pull bool
	// Network is RUN's network (see ParseNetworkMode): a network of the
	// build's own ("", "default"), "host" or "none". RUN --network
	// overrides it, RUN --network=host only when the build grants it.
	Network string
	// Allow are the entitlements the user grants the Dockerfile (see
	// Entitlement); a RUN that needs one not granted fails the build
	// before any step runs.
	Allow []Entitlement
	// Memory limits each RUN step's memory, in bytes; 0 is no limit.
	Memory int64
	// Secrets are what RUN --mount=type=secret mounts, by id.
	Secrets map[string]Secret
	// SSH are the agents RUN --mount=type=ssh forwards, by id: an agent
	// socket, or private key files berth serves as an agent.
	SSH map[string][]string
	// Contexts are the named contexts FROM and COPY --from may name
	// besides stages (build.additional_contexts).
	Contexts map[string]NamedContext
	// Platform is the platform to build for (see platform.Parse); "" is
	// this host's. RUN steps of a foreign platform run under qemu user
	// emulation, which the build checks for before it starts.
	Platform string
	// Platforms, when it has more than one, builds the image for each
	// (at the same time) and names an OCI index of them; Platform is then
	// ignored.
	Platforms []string
	// Out receives the progress lines and RUN output.
	Out io.Writer
}

// Result is a built image.
type Result struct {
	// Manifest is the image's manifest descriptor (its digest is the
	// image's digest in a registry).
	Manifest ocispec.Descriptor
	// Config is the config blob's digest (the image ID).
	Config digest.Digest
	// Platform is the platform the image was built for.
	Platform ocispec.Platform
	// Steps counts the steps and how many came from the cache.
	Steps, Cached int
}

// layers is the file system a stage has built so far.
type layers struct {
	descs   []ocispec.Descriptor
	diffIDs []digest.Digest
	// chain is the chain ID of the top snapshot, "" for an empty rootfs.
	chain digest.Digest
	// key is the cache key the next step derives from.
	key string
	// created is when the newest layer was made.
	created time.Time
	// unpack makes chain's snapshots when chain is an image's, which is
	// unpacked only when a step runs on it; nil when there is nothing to
	// make (a step's snapshot, which the cache or the step made).
	unpack func(ctx context.Context) error
}

// stageResult is a finished stage.
type stageResult struct {
	layers
	image dockerspec.DockerOCIImage
	// platform is the stage's platform: the build's target, or its FROM
	// --platform.
	platform ocispec.Platform
}

// build is one Build call.
type build struct {
	b   *Builder
	req Request
	df  *Dockerfile
	ctx *Context
	out *output
	// owner names what the build makes that a killed berth leaves behind.
	owner BuildOwner
	// fifoDir holds the FIFOs of the build's RUN steps.
	fifoDir string
	sandbox sandbox
	// globals are the global ARGs' values: predefined platform args, then
	// the Dockerfile's defaults overridden by build args.
	globals map[string]string
	// target is the platform the build is for.
	target ocispec.Platform
	// lease holds what the build makes; ensure it before making anything.
	lease *buildLease

	mu      sync.Mutex
	steps   int
	cached  int
	stepNum int
}

// Build builds an image and stores it under the request's tags.
func (b *Builder) Build(ctx context.Context, req Request) (*Result, error) {
	if req.Out == nil {
		req.Out = io.Discard
	}
	if _, err := ParseNetworkMode(req.Network); err != nil {
		return nil, err
	}
	if len(req.Platforms) > 1 {
		return b.buildIndex(ctx, req)
	}
	target := platform.Host()
	if req.Platform != "" {
		p, err := platform.Parse(req.Platform)
		if err != nil {
			return nil, err
		}
		target = p
	}
	if err := platform.Local(b.cfg.BinfmtDir).Check(target, "building for"); err != nil {
		return nil, err
	}
	df, err := req.parse()
	if err != nil {
		return nil, err
	}
	bctx, err := OpenContext(req.ContextDir, df.Path)
	if err != nil {
		return nil, err
	}
	bctx.memo = b.memo
	args := map[string]string{}
	for k, v := range platformArgs(target) {
		args[k] = v
	}
	for k, v := range req.Args {
		args[k] = v
	}
	plans, err := PlanStages(df, req.Target, args)
	if err != nil {
		return nil, err
	}
	if err := checkEntitlements(req, df, plans); err != nil {
		return nil, err
	}
	globals := platformArgs(target)
	for _, kv := range globalArgs(df.MetaArgs, req.Args) {
		k, v, _ := strings.Cut(kv, "=")
		globals[k] = v
	}
	owner, err := newOwner(b.proc)
	if err != nil {
		return nil, err
	}
	bd := &build{b: b, req: req, df: df, ctx: bctx, out: newOutput(req.Out, req.Name), globals: globals, owner: owner, target: target}
	for _, p := range plans {
		bd.steps += 1 + len(df.Stages[p.Index].Commands)
	}
	// What builds of killed berth processes left goes first, once per
	// builder (builds side by side share it); a failure to remove it does
	// not stop this build, and is reported by the build that tried.
	b.reaped.Do(func() {
		if err := b.Reap(ctx); err != nil {
			bd.out.linef("warning: %v", err)
		}
	})

	// Everything the build makes is leased (see buildLease).
	lease, ctx := newBuildLease(ctx, b.client.LeasesService(), owner)
	bd.lease = lease
	defer lease.release(context.WithoutCancel(ctx)) //nolint:errcheck // the lease expires anyway
	bd.fifoDir = filepath.Join(b.cfg.FIFODir, owner.String())
	defer os.RemoveAll(bd.fifoDir) //nolint:errcheck // Reap removes what is left
	// Each mount removes its own; what a failed unmount left is Reap's.
	defer os.Remove(bd.mountDir()) //nolint:errcheck // Reap removes what is left
	defer func() {
		if err := bd.releaseNetwork(context.WithoutCancel(ctx)); err != nil {
			bd.out.linef("warning: %v", err)
		}
	}()

	results := map[int]*future{}
	for _, p := range plans {
		results[p.Index] = &future{done: make(chan struct{})}
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, p := range plans {
		g.Go(func() error {
			deps := map[int]*stageResult{}
			for _, n := range p.Needs {
				r, err := results[n].wait(gctx)
				if err != nil {
					return err
				}
				deps[n] = r
			}
			r, err := bd.stage(gctx, p, deps)
			results[p.Index].set(r, err)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	final, _ := results[plans[len(plans)-1].Index].wait(ctx)
	start := time.Now()
	res, err := bd.writeImage(ctx, final)
	if err != nil {
		return nil, err
	}
	res.Steps, res.Cached = bd.steps, bd.cached
	if len(req.Tags) > 0 {
		bd.out.linef("naming to %s done %s", strings.Join(req.Tags, ", "), since(start))
	}
	return res, nil
}

func (r Request) parse() (*Dockerfile, error) {
	if r.Inline != "" {
		return ParseDockerfileBytes("dockerfile_inline", []byte(r.Inline))
	}
	name := r.Dockerfile
	if name == "" {
		name = "Dockerfile"
	}
	if !filepath.IsAbs(name) {
		name = filepath.Join(r.ContextDir, name)
	}
	return ParseDockerfile(name)
}

// future is a stage's result other stages wait for.
type future struct {
	done chan struct{}
	res  *stageResult
	err  error
}

func (f *future) set(r *stageResult, err error) {
	f.res, f.err = r, err
	close(f.done)
}

func (f *future) wait(ctx context.Context) (*stageResult, error) {
	select {
	case <-f.done:
		return f.res, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// platformArgs are BuildKit's predefined platform ARGs: TARGET* for the
// platform built for, BUILD* for this host, which builds.
func platformArgs(target ocispec.Platform) map[string]string {
	host := platform.Host()
	return map[string]string{
		"TARGETPLATFORM": platforms.Format(target), "TARGETOS": target.OS, "TARGETARCH": target.Architecture, "TARGETVARIANT": target.Variant,
		"BUILDPLATFORM": platforms.Format(host), "BUILDOS": host.OS, "BUILDARCH": host.Architecture, "BUILDVARIANT": host.Variant,
	}
}

// step numbers the next step for the output.
func (bd *build) step() int {
	bd.mu.Lock()
	defer bd.mu.Unlock()
	bd.stepNum++
	return bd.stepNum
}

// base resolves a stage's FROM: scratch, an earlier stage, or an image
// (pulled when missing or with --pull), unpacked.
func (bd *build) base(ctx context.Context, p StagePlan, deps map[int]*stageResult) (*stageResult, error) {
	st := bd.df.Stages[p.Index]
	n := bd.step()
	plat, err := bd.stagePlatform(st.Platform)
	if err != nil {
		return nil, err
	}
	r, err := bd.baseOf(ctx, p, deps, n, plat)
	if err != nil {
		return nil, err
	}
	switch {
	case p.BaseStage < 0:
		// The cache keys of the stage's steps start from its platform: the
		// same steps on another platform are other layers.
		r.key = platformKey(plat) + "|" + r.key
		r.platform = plat
	case st.Platform != "":
		r.platform = plat
	}
	// FROM an earlier stage without --platform keeps that stage's platform.
	return r, nil
}

// stagePlatform is a stage's platform: its FROM --platform (build args
// expanded) or the build's target. A foreign one needs emulation.
func (bd *build) stagePlatform(from string) (ocispec.Platform, error) {
	if from == "" {
		return bd.target, nil
	}
	expanded, err := expandWith(from, bd.globals)
	if err != nil {
		return ocispec.Platform{}, fmt.Errorf("%s: FROM --platform=%s: %w", bd.df.Path, from, err)
	}
	p, err := platform.Parse(expanded)
	if err != nil {
		return ocispec.Platform{}, fmt.Errorf("%s: FROM --platform=%s: %w", bd.df.Path, from, err)
	}
	if err := platform.Local(bd.b.cfg.BinfmtDir).Check(p, "building for"); err != nil {
		return ocispec.Platform{}, fmt.Errorf("%s: FROM --platform=%s: %w", bd.df.Path, from, err)
	}
	return p, nil
}

// baseOf is base's FROM for a stage of platform plat.
func (bd *build) baseOf(ctx context.Context, p StagePlan, deps map[int]*stageResult, n int, plat ocispec.Platform) (*stageResult, error) {
	if p.BaseStage >= 0 {
		d := deps[p.BaseStage]
		bd.out.stepf(n, bd.steps, "FROM %s", stageLabel(bd.df, p.BaseStage))
		r := *d
		r.descs, r.diffIDs = append([]ocispec.Descriptor{}, d.descs...), append([]digest.Digest{}, d.diffIDs...)
		return &r, nil
	}
	if strings.EqualFold(p.BaseImage, "scratch") {
		bd.out.stepf(n, bd.steps, "FROM scratch")
		img := dockerspec.DockerOCIImage{}
		img.Platform = plat
		img.Config.Env = []string{defaultPath}
		img.RootFS.Type = "layers"
		return &stageResult{image: img, layers: layers{key: "scratch"}}, nil
	}
	start := time.Now()
	bd.out.stepf(n, bd.steps, "FROM %s", p.BaseImage)
	ref := p.BaseImage
	if nc, err := bd.req.namedContext(ref); err == nil {
		if nc.Image == "" {
			return nil, fmt.Errorf("%s: FROM %s: the named context %q is a directory, which berth's builder can COPY --from but not start a stage from; give docker-image://REF or service:NAME", bd.df.Path, p.BaseImage, p.BaseImage)
		}
		ref = nc.Image
	}
	r, err := bd.b.image(ctx, ref, bd.req.Pull, plat, bd.lease.ensure)
	if err != nil {
		return nil, fmt.Errorf("%s: FROM %s: %w", bd.df.Path, p.BaseImage, err)
	}
	if len(r.image.Config.OnBuild) > 0 {
		bd.out.linef("warning: %s has ONBUILD triggers, which berth records but does not run", p.BaseImage)
	}
	_ = start
	return r, nil
}

func stageLabel(df *Dockerfile, i int) string {
	if n := df.Stages[i].Name; n != "" {
		return n
	}
	return fmt.Sprintf("stage %d", i)
}

// ociLayerType maps Docker's layer media types to OCI's (same bytes), so
// that a built image's manifest is plain OCI.
func ociLayerType(mt string) string {
	switch mt {
	case images.MediaTypeDockerSchema2Layer:
		return ocispec.MediaTypeImageLayerGzip
	case images.MediaTypeDockerSchema2LayerForeign:
		return ocispec.MediaTypeImageLayerNonDistributableGzip //nolint:staticcheck // kept as the image had it
	}
	return mt
}

// layerStep runs one file-system step: from the cache when its key is
// known and its blob and snapshot are still there, else by preparing a
// snapshot on the current chain, applying the step, and turning the change
// into a layer (nothing, when the step changed no file).
func (bd *build) layerStep(ctx context.Context, l *layers, key string, apply func(ctx context.Context, active string, mounts []mount.Mount) error) (cached bool, err error) {
	b := bd.b
	sn := b.client.SnapshotService(b.cfg.Snapshotter)
	if !bd.req.NoCache {
		if e, ok := b.cache.get(key); ok && b.usable(ctx, e) {
			bd.add(l, key, e)
			bd.mu.Lock()
			bd.cached++
			bd.mu.Unlock()
			return true, nil
		}
	}
	if err := bd.lease.ensure(ctx); err != nil {
		return false, err
	}
	if l.unpack != nil {
		if err := l.unpack(ctx); err != nil {
			return false, err
		}
	}
	cleanup := context.WithoutCancel(ctx)
	active := "berth-build-active-" + randomID()
	mounts, err := sn.Prepare(ctx, active, string(l.chain), bd.ownerLabel())
	if err != nil {
		return false, fmt.Errorf("prepare snapshot: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			sn.Remove(cleanup, active) //nolint:errcheck // the build lease collects it otherwise
		}
	}()
	if err := apply(ctx, active, mounts); err != nil {
		return false, err
	}

	var lower []mount.Mount
	if l.chain != "" {
		view := "berth-build-view-" + randomID()
		if lower, err = sn.View(ctx, view, string(l.chain), bd.ownerLabel()); err != nil {
			return false, fmt.Errorf("view snapshot: %w", err)
		}
		defer sn.Remove(cleanup, view) //nolint:errcheck // the build lease collects it otherwise
	}
	desc, err := b.client.DiffService().Compare(ctx, lower, mounts, diff.WithMediaType(ocispec.MediaTypeImageLayerGzip))
	if err != nil {
		return false, fmt.Errorf("compute layer: %w", err)
	}
	info, err := b.client.ContentStore().Info(ctx, desc.Digest)
	if err != nil {
		return false, fmt.Errorf("compute layer: %w", err)
	}
	diffID, err := digest.Parse(info.Labels["containerd.io/uncompressed"])
	if err != nil {
		return false, fmt.Errorf("compute layer: no uncompressed digest: %w", err)
	}
	e := CacheEntry{Created: time.Now().UTC()}
	if diffID == emptyLayer {
		e.Empty = true
	} else {
		e.Layer, e.DiffID = desc, diffID
		e.Chain = identity.ChainID(append(append([]digest.Digest{}, l.diffIDs...), diffID))
		if err := sn.Commit(ctx, string(e.Chain), active); err != nil && !errdefs.IsAlreadyExists(err) {
			return false, fmt.Errorf("commit snapshot: %w", err)
		} else if err == nil {
			committed = true
		}
	}
	// A build that runs every step (--no-cache) takes what its steps
	// made, never a result an earlier build recorded for the same step
	// (RUN date, apt-get update: the user asked for them to run again).
	if bd.req.NoCache {
		err = b.cache.set(key, e)
	} else {
		e, err = b.cache.put(key, e, func(old CacheEntry) bool { return b.usable(ctx, old) })
	}
	if err != nil {
		return false, err
	}
	// The step is pinned as soon as it is done, not when the build is: a
	// build that fails or is interrupted later keeps the steps it
	// finished, as BuildKit does, instead of leaving them to the
	// collector with the build's lease.
	if err := b.pin(cleanup, e); err != nil {
		return false, err
	}
	bd.add(l, key, e)
	return false, nil
}

// add appends a step's result to the stage's layers.
func (bd *build) add(l *layers, key string, e CacheEntry) {
	l.key = key
	if e.Created.After(l.created) {
		l.created = e.Created
	}
	if e.Empty {
		return
	}
	// The step's snapshot exists (the cache checked, or the step made it).
	l.unpack = nil
	l.descs = append(l.descs, e.Layer)
	l.diffIDs = append(l.diffIDs, e.DiffID)
	l.chain = e.Chain
}

// usable reports whether a cache entry's blob and snapshot still exist.
func (b *Builder) usable(ctx context.Context, e CacheEntry) bool {
	if e.Empty {
		return true
	}
	if _, err := b.client.ContentStore().Info(ctx, e.Layer.Digest); err != nil {
		return false
	}
	_, err := b.client.SnapshotService(b.cfg.Snapshotter).Stat(ctx, string(e.Chain))
	return err == nil
}

// pin adds a step's layer and snapshot to the cache lease, so they
// outlive the build's own lease.
func (b *Builder) pin(ctx context.Context, entries ...CacheEntry) error {
	ls := b.client.LeasesService()
	lease := leases.Lease{ID: cacheLease}
	if _, err := ls.Create(ctx, leases.WithID(cacheLease), leases.WithLabel(leasePurpose, "build cache")); err != nil && !errdefs.IsAlreadyExists(err) {
		return fmt.Errorf("build cache lease: %w", err)
	}
	for _, e := range entries {
		if e.Empty {
			continue
		}
		for _, r := range []leases.Resource{
			{ID: e.Layer.Digest.String(), Type: "content"},
			{ID: string(e.Chain), Type: "snapshots/" + b.cfg.Snapshotter},
		} {
			if err := ls.AddResource(ctx, lease, r); err != nil && !errdefs.IsAlreadyExists(err) {
				return fmt.Errorf("build cache lease: %w", err)
			}
		}
	}
	return nil
}

// writeImage writes the final stage's config and manifest to the content
// store and points the request's tags at them.
func (bd *build) writeImage(ctx context.Context, r *stageResult) (*Result, error) {
	img := r.image
	// The image is for the final stage's platform, whatever its base's
	// config said (an arm64 base often names no variant, an arm one v7).
	img.Platform = ocispec.Platform{OS: r.platform.OS, Architecture: r.platform.Architecture, Variant: r.platform.Variant}
	img.RootFS = ocispec.RootFS{Type: "layers", DiffIDs: r.diffIDs}
	if img.RootFS.DiffIDs == nil {
		img.RootFS.DiffIDs = []digest.Digest{}
	}
	created := r.created
	img.Created = &created
	for k, v := range bd.req.Labels {
		if img.Config.Labels == nil {
			img.Config.Labels = map[string]string{}
		}
		img.Config.Labels[k] = v
	}
	if len(img.Config.Labels) == 0 {
		img.Config.Labels = nil
	}
	cfgBytes, err := json.Marshal(img)
	if err != nil {
		return nil, err
	}
	cfgDesc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromBytes(cfgBytes), Size: int64(len(cfgBytes))}
	layers := r.descs
	if layers == nil {
		layers = []ocispec.Descriptor{}
	}
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: cfgDesc, Layers: layers}
	m.SchemaVersion = 2
	mBytes, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	mDesc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(mBytes), Size: int64(len(mBytes))}
	res := &Result{Manifest: mDesc, Config: cfgDesc.Digest, Platform: r.platform}
	res.Manifest.Platform = &ocispec.Platform{OS: img.OS, Architecture: img.Architecture, Variant: img.Variant}
	cs := bd.b.client.ContentStore()
	// The same image under the same names (a build from the cache) is
	// left as it is: nothing to write.
	if ok, err := named(ctx, bd.b.client.ImageService(), cs, bd.req.Tags, mDesc, cfgDesc.Digest); err != nil {
		return nil, err
	} else if ok {
		return res, nil
	}
	if err := bd.lease.ensure(ctx); err != nil {
		return nil, err
	}
	cfgLabels := map[string]string{}
	if r.chain != "" {
		cfgLabels["containerd.io/gc.ref.snapshot."+bd.b.cfg.Snapshotter] = string(r.chain)
	}
	if err := content.WriteBlob(ctx, cs, "berth-build-"+cfgDesc.Digest.Encoded(), strings.NewReader(string(cfgBytes)), cfgDesc, content.WithLabels(cfgLabels)); err != nil {
		return nil, fmt.Errorf("write image config: %w", err)
	}
	mLabels := map[string]string{"containerd.io/gc.ref.content.config": cfgDesc.Digest.String()}
	for i, l := range layers {
		mLabels[fmt.Sprintf("containerd.io/gc.ref.content.l.%d", i)] = l.Digest.String()
	}
	if err := content.WriteBlob(ctx, cs, "berth-build-"+mDesc.Digest.Encoded(), strings.NewReader(string(mBytes)), mDesc, content.WithLabels(mLabels)); err != nil {
		return nil, fmt.Errorf("write image manifest: %w", err)
	}
	if err := bd.b.name(ctx, bd.req.Tags, res.Manifest); err != nil {
		return nil, err
	}
	return res, nil
}

// Prune drops the build cache: the index and the lease that kept its
// layers, which containerd then collects unless an image still uses them,
// the RUN --mount=type=cache directories no running step holds, and what
// builds of killed berth processes left (Reap). It returns how many steps were forgotten and how many bytes the content
// store shrank by.
func (b *Builder) Prune(ctx context.Context) (int, int64, error) {
	if err := b.Reap(ctx); err != nil {
		return 0, 0, err
	}
	before, err := contentSize(ctx, b.client.ContentStore())
	if err != nil {
		return 0, 0, err
	}
	mountBytes, err := cacheDirs{dir: filepath.Join(b.cfg.StateDir, "cache-mounts")}.prune()
	if err != nil {
		return 0, 0, err
	}
	entries := b.cache.all()
	keys := make([]string, 0, len(entries))
	for k := range entries {
		keys = append(keys, k)
	}
	if err := b.cache.drop(keys...); err != nil {
		return 0, 0, err
	}
	if err := b.memo.forget(); err != nil {
		return 0, 0, err
	}
	err = b.client.LeasesService().Delete(ctx, leases.Lease{ID: cacheLease}, leases.SynchronousDelete)
	if err != nil && !errdefs.IsNotFound(err) {
		return 0, 0, fmt.Errorf("delete build cache lease: %w", err)
	}
	after, err := contentSize(ctx, b.client.ContentStore())
	if err != nil {
		return 0, 0, err
	}
	return len(keys), before - after + mountBytes, nil
}

func contentSize(ctx context.Context, cs content.Store) (int64, error) {
	var n int64
	err := cs.Walk(ctx, func(i content.Info) error {
		n += i.Size
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("content store: %w", err)
	}
	return n, nil
}

func randomID() string {
	b := make([]byte, 8)
	rand.Read(b) //nolint:errcheck // crypto/rand does not fail on Linux
	return hex.EncodeToString(b)
}

func since(t time.Time) string {
	d := time.Since(t)
	if d < time.Second {
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}

// output writes build progress: one line per step, prefixed by the
// service, and RUN output lines. Parallel stages share it.
type output struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
}

func newOutput(w io.Writer, name string) *output {
	return &output{w: w, prefix: name}
}

func (o *output) linef(format string, a ...any) {
	line := fmt.Sprintf(format, a...)
	if o.prefix != "" {
		line = "[" + o.prefix + "] " + line
	}
	o.write(line)
}

func (o *output) stepf(n, total int, format string, a ...any) {
	line := fmt.Sprintf(format, a...)
	if o.prefix != "" {
		line = fmt.Sprintf("[%s %d/%d] %s", o.prefix, n, total, line)
	} else {
		line = fmt.Sprintf("[%d/%d] %s", n, total, line)
	}
	o.write(line)
}

// write writes one whole line in one call, so that lines of builds
// running side by side never mix.
func (o *output) write(line string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	io.WriteString(o.w, line+"\n") //nolint:errcheck // progress output is best effort
}

// runLines takes the output of a RUN step: each line goes to the output
// with the service's prefix, and the last lines are kept for the error.
// The step's stdout and stderr are copied in by two goroutines, each
// through its own stream, so that a partial line of one never mixes with
// the other's.
type runLines struct {
	o    *output
	mu   sync.Mutex
	last []string
	out  runStream
	err  runStream
}

// runStream is one of a RUN step's output streams: it cuts what it is
// given into lines.
type runStream struct {
	r   *runLines
	buf []byte
}

// streams are the writers of the step's stdout and stderr.
func (r *runLines) streams() (stdout, stderr io.Writer) {
	r.out.r, r.err.r = r, r
	return &r.out, &r.err
}

func (s *runStream) Write(p []byte) (int, error) {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	s.buf = append(s.buf, p...)
	for {
		i := bytes.IndexByte(s.buf, '\n')
		if i < 0 {
			break
		}
		s.r.line(string(s.buf[:i]))
		s.buf = s.buf[i+1:]
	}
	return len(p), nil
}

// flush writes what is left of a last line without a newline.
func (r *runLines) flush() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range []*runStream{&r.out, &r.err} {
		if len(s.buf) > 0 {
			r.line(string(s.buf))
			s.buf = nil
		}
	}
}

// lastLines is a copy of the last lines written.
func (r *runLines) lastLines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.last...)
}

// line takes one line; r.mu is held.
func (r *runLines) line(s string) {
	// Progress meters redraw a line with carriage returns: keep what a
	// terminal would show last.
	s = strings.TrimRight(s, "\r")
	if i := strings.LastIndexByte(s, '\r'); i >= 0 {
		s = s[i+1:]
	}
	r.last = append(r.last, s)
	if len(r.last) > 10 {
		r.last = r.last[1:]
	}
	if r.o.prefix != "" {
		r.o.write(r.o.prefix + " | " + s)
	} else {
		r.o.write("| " + s)
	}
}
