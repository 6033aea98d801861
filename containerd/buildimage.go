package containerd

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/containerd/build"
	"github.com/berth/berth/platform"
	"github.com/berth/berth/scheduler"
)

// builder returns the image builder on this connection, made on its first
// use.
func (c *Client) builder() (*build.Builder, error) {
	c.builderMu.Lock()
	defer c.builderMu.Unlock()
	if c.imageBuilder != nil {
		return c.imageBuilder, nil
	}
	bl, err := c.newBuilder()
	if err != nil {
		return nil, err
	}
	c.imageBuilder = bl
	return bl, nil
}

// newBuilder makes an image builder on this connection.
func (c *Client) newBuilder() (*build.Builder, error) {
	fifo := filepath.Join(c.runDir, "build-fifo")
	etc := filepath.Join(c.runDir, "build-etc")
	for _, dir := range []string{fifo, etc} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("build: %w", err)
		}
	}
	return build.New(c.client, build.Config{
		Snapshotter: c.snapshotter,
		StateDir:    filepath.Join(c.dataDir, "build", c.namespace),
		FIFODir:     fifo,
		EtcDir:      etc,
		Network:     c.buildNet,
		WriteEtc:    writeBuildEtc,
		// RUN steps are confined as containers are.
		Confine:   confinement(true, false),
		BinfmtDir: c.binfmtDir,
		EnsureImage: func(ctx context.Context, ref string, pull bool, platform ocispec.Platform) error {
			name, err := NormalizeRef(ref)
			if err != nil {
				return err
			}
			present, err := c.hasPlatform(ctx, name, platform)
			if err != nil {
				return err
			}
			if present && !pull {
				return nil
			}
			return c.Pull(ctx, ref, platformArg(platform))
		},
	})
}

// writeBuildEtc writes the hosts, hostname and resolv.conf of RUN steps in
// their build's network, as a container's are made: the host's search and
// options lines, the build network's nameservers.
func writeBuildEtc(dir string, nameservers []string) error {
	hostResolv, _ := os.ReadFile("/etc/resolv.conf")
	return writeEtcFiles(dir, etcFiles{Hostname: "berth-build", HostResolvConf: hostResolv, Nameservers: nameservers})
}

// BuildImage builds a service's image from its build section and names it
// as docker compose does (image:, else <project>-<service>), plus the
// section's tags. Output goes to out, prefixed by the service's name.
func (c *Client) BuildImage(ctx context.Context, s *compose.Service, opts scheduler.BuildOptions, out io.Writer) error {
	if s.Build == nil {
		return fmt.Errorf("service %q has no build section", s.Name)
	}
	req, err := buildRequest(s, opts, out)
	if err != nil {
		return fmt.Errorf("service %q: %w", s.Name, err)
	}
	scheduler.EmitMark(c.events, scheduler.Mark{Kind: scheduler.MarkBuildBegin, Service: s.Name})
	if _, err := c.build(ctx, req); err != nil {
		err = fmt.Errorf("service %q: build: %w", s.Name, err)
		scheduler.EmitMark(c.events, scheduler.Mark{Kind: scheduler.MarkBuildEnd, Service: s.Name, Err: err.Error()})
		return err
	}
	scheduler.EmitMark(c.events, scheduler.Mark{Kind: scheduler.MarkBuildEnd, Service: s.Name})
	// docker compose's line after a build, which scripts look for.
	c.events.Emit(scheduler.Event{Kind: scheduler.KindService, Name: s.Name, Status: scheduler.StatusDone, Text: "Built"})
	return nil
}

// buildRequest is the builder's request for s's build section with the
// build command's options; its errors do not name the service. The output
// lines are prefixed by s.Name unless it is "".
func buildRequest(s *compose.Service, opts scheduler.BuildOptions, out io.Writer) (build.Request, error) {
	b := s.Build
	if b.Refused != nil {
		return build.Request{}, b.Refused
	}
	// The platforms built for: build --platform (a comma-separated
	// list), else the service's platform: (the one it runs), else
	// build.platforms; several make an index.
	var plats []string
	switch {
	case opts.Platform != "":
		plats = strings.Split(opts.Platform, ",")
	case s.Platform != "":
		plats = []string{s.Platform}
	default:
		plats = b.Platforms
	}
	for _, p := range plats {
		if _, err := platform.Parse(p); err != nil {
			return build.Request{}, err
		}
	}
	var platform string
	var multi []string
	if len(plats) == 1 {
		platform = strings.TrimSpace(plats[0])
	} else {
		for _, p := range plats {
			multi = append(multi, strings.TrimSpace(p))
		}
	}
	var tags []string
	for _, t := range append([]string{s.ImageName()}, b.Tags...) {
		ref, err := NormalizeRef(t)
		if err != nil {
			return build.Request{}, err
		}
		tags = append(tags, ref)
	}
	args := map[string]string{}
	for k, v := range b.Args {
		args[k] = v
	}
	for k, v := range opts.Args {
		args[k] = v
	}
	network := b.Network
	if opts.Network != "" {
		network = opts.Network
	}
	var allow []build.Entitlement
	for _, a := range append(slices.Clone(b.Entitlements), opts.Allow...) {
		e, err := build.ParseEntitlement(a)
		if err != nil {
			return build.Request{}, fmt.Errorf("build: %w", err)
		}
		allow = append(allow, e)
	}
	secrets, sshAgents, contexts, err := buildInputs(b, opts.SSH)
	if err != nil {
		return build.Request{}, err
	}
	return build.Request{
		Name:       s.Name,
		ContextDir: b.Context,
		Dockerfile: b.Dockerfile,
		Inline:     b.Inline,
		Target:     b.Target,
		Args:       args,
		Labels:     b.Labels,
		Tags:       tags,
		NoCache:    b.NoCache || opts.NoCache,
		Pull:       b.Pull || opts.Pull,
		Network:    network,
		Allow:      allow,
		Memory:     opts.Memory,
		Secrets:    secrets,
		SSH:        sshAgents,
		Contexts:   contexts,
		Platform:   platform,
		Platforms:  multi,
		Out:        out,
	}, nil
}

// build runs a build request on this connection's builder: compose
// services and `image build` alike.
func (c *Client) build(ctx context.Context, req build.Request) (*build.Result, error) {
	bl, err := c.builder()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	return bl.Build(ctx, req)
}

// ImageID is the ID (config digest) of a local image for the platform
// berth uses it for (see selectPlatform), or "" when the image is not
// present.
func (c *Client) ImageID(ctx context.Context, image string) (string, error) {
	return c.PlatformImageID(ctx, image, "")
}

// PruneBuildCache drops the build cache; see build.Builder.Prune.
func (c *Client) PruneBuildCache(ctx context.Context) (int, int64, error) {
	bl, err := c.builder()
	if err != nil {
		return 0, 0, err
	}
	return bl.Prune(ctx)
}

// buildInputs turns a build section's secrets, SSH agents and named
// contexts into the builder's: "default" without a path is the agent of
// $SSH_AUTH_SOCK, as docker compose forwards it.
func buildInputs(b *compose.Build, extraSSH map[string][]string) (map[string]build.Secret, map[string][]string, map[string]build.NamedContext, error) {
	var secrets map[string]build.Secret
	for id, sec := range b.Secrets {
		if secrets == nil {
			secrets = map[string]build.Secret{}
		}
		secrets[id] = build.Secret{File: sec.File, Data: []byte(sec.Content)}
	}
	var agents map[string][]string
	ssh := maps.Clone(b.SSH)
	for id, paths := range extraSSH {
		if ssh == nil {
			ssh = map[string][]string{}
		}
		ssh[id] = paths // build --ssh overrides the section's
	}
	for id, paths := range ssh {
		if agents == nil {
			agents = map[string][]string{}
		}
		if len(paths) == 0 {
			sock := os.Getenv("SSH_AUTH_SOCK")
			if sock == "" {
				return nil, nil, nil, fmt.Errorf("build.ssh %q: SSH_AUTH_SOCK is not set: start an ssh-agent, or give the key file (%s=~/.ssh/id_ed25519)", id, id)
			}
			paths = []string{sock}
		}
		agents[id] = slices.Clone(paths)
	}
	var contexts map[string]build.NamedContext
	for name, v := range b.Contexts {
		if contexts == nil {
			contexts = map[string]build.NamedContext{}
		}
		if ref, ok := strings.CutPrefix(v, "docker-image://"); ok {
			contexts[name] = build.NamedContext{Image: ref}
		} else {
			contexts[name] = build.NamedContext{Dir: v}
		}
	}
	return secrets, agents, contexts, nil
}

// BuildImageID builds an image from s's build section as BuildImage
// does, for `image build`: the output lines carry no prefix when s.Name is
// "", errors no service's name. It returns the image's ID. With dangling
// the image keeps no name, as `docker build` without -t leaves it: the
// name it was built under (s.ImageName()) is replaced by its ID, which
// `image ls` shows as <none> and `image prune` removes.
func (c *Client) BuildImageID(ctx context.Context, s *compose.Service, opts scheduler.BuildOptions, out io.Writer, dangling bool) (string, error) {
	req, err := buildRequest(s, opts, out)
	if err != nil {
		return "", err
	}
	res, err := c.build(ctx, req)
	if err != nil {
		return "", err
	}
	id := res.Config.String()
	if !dangling {
		return id, nil
	}
	name, err := NormalizeRef(s.ImageName())
	if err != nil {
		return "", err
	}
	// An image that has a name already (the same build with -t) stays
	// as it is: only images without a name are dangling.
	is := c.client.ImageService()
	img, err := is.Get(ctx, name)
	if err != nil {
		return "", fmt.Errorf("image %s: %w", name, err)
	}
	same, err := is.List(ctx, "target.digest=="+img.Target.Digest.String())
	if err != nil {
		return "", fmt.Errorf("list images: %w", err)
	}
	if len(same) > 1 {
		if err := is.Delete(ctx, name); err != nil {
			return "", fmt.Errorf("image %s: %w", name, err)
		}
		return id, nil
	}
	if err := c.renameImage(ctx, name, id); err != nil {
		return "", err
	}
	return id, nil
}

// renameImage gives the image named from the name to instead.
func (c *Client) renameImage(ctx context.Context, from, to string) error {
	is := c.client.ImageService()
	img, err := is.Get(ctx, from)
	if err != nil {
		return fmt.Errorf("rename image %s: %w", from, err)
	}
	img.Name = to
	if err := c.putImage(ctx, img); err != nil {
		return fmt.Errorf("rename image %s to %s: %w", from, to, err)
	}
	if err := is.Delete(ctx, from); err != nil {
		return fmt.Errorf("rename image %s to %s: %w", from, to, err)
	}
	return nil
}
