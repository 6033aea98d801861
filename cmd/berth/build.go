package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/containerd/build"
	"github.com/berth/berth/platform"
	"github.com/berth/berth/scheduler"
)

type buildOptions struct {
	noCache   bool
	pull      bool
	buildArgs []string
	quiet     bool
	network   string
	allow     []string
	memory    string
	builder   string
	withDeps  bool
	check     bool
	print     bool
	provenance,
	sbom string
	push     bool
	ssh      []string
	platform string
}

func newBuildCmd(g *globalOptions) *cobra.Command {
	opts := buildOptions{}
	cmd := &cobra.Command{
		Use:   "build [OPTIONS] [SERVICE...]",
		Short: "Build the images of services that have a build section",
		Long: `Build the services' images with berth's own builder, on containerd: no
Docker or BuildKit daemon. Steps whose inputs did not change come from the
cache; independent services, and independent stages of a Dockerfile, build
at the same time. An image is named as in docker compose: the service's
image, else <project>-<service>.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBuild(cmd, g, opts, args)
		},
	}
	f := cmd.Flags()
	opts.addImageFlags(f)
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "Print nothing but errors")
	f.StringVar(&opts.network, "network", "", `RUN steps' network: "default" (a network of the build's own, with NAT to the outside), "host" or "none"; overrides the build sections' network`)
	f.StringArrayVar(&opts.allow, "allow", nil, `Grant the Dockerfiles an entitlement: "network.host" lets RUN --network=host use the host's network, "security.insecure" lets RUN --security=insecure run privileged`)
	f.StringVarP(&opts.memory, "memory", "m", "", "Memory limit of each RUN step (e.g. 512m, 2g)")
	f.StringVar(&opts.builder, "builder", "", `The builder to use: berth has one, its own ("default")`)
	f.BoolVar(&opts.withDeps, "with-dependencies", false, "Also build the images of the services the named ones depend on")
	f.BoolVar(&opts.check, "check", false, "Run the Dockerfile checks (BuildKit's rules) instead of building; exit 1 when one warns")
	f.BoolVar(&opts.print, "print", false, "Print the build definitions as a bake file (JSON) instead of building")
	f.StringVar(&opts.provenance, "provenance", "", `Provenance attestation: berth's builder makes none, so only "false" (or "0") is accepted`)
	f.StringVar(&opts.sbom, "sbom", "", `SBOM attestation: berth's builder makes none, so only "false" (or "0") is accepted`)
	f.StringArrayVar(&opts.ssh, "ssh", nil, `Forward an SSH agent to RUN --mount=type=ssh of every build: "default" (the agent of $SSH_AUTH_SOCK) or ID=PATH[,PATH] (an agent socket or private key files)`)
	f.BoolVar(&opts.push, "push", false, "Push the built images (image: names and build tags) to their registries when every build succeeded")
	return cmd
}

// addImageFlags adds the flags that decide what a build makes (--no-cache,
// --pull, --build-arg, --platform): build's, and those of the commands
// that build to publish (convert kubernetes).
func (o *buildOptions) addImageFlags(f *pflag.FlagSet) {
	f.BoolVar(&o.noCache, "no-cache", false, "Run every step, ignoring the build cache")
	f.BoolVar(&o.pull, "pull", false, "Pull base images even when they are present")
	f.StringArrayVar(&o.buildArgs, "build-arg", nil, "Set a build argument: KEY=VALUE, or KEY to take it from the environment")
	f.StringVar(&o.platform, "platform", "", `Build every image for this platform: linux/amd64, linux/arm64 or linux/arm/v7, or for several, comma-separated, into an OCI index (default: each service's platform:, else its build.platforms, else this host's); a foreign platform's RUN steps run under qemu user emulation`)
}

// checkBuildFlags refuses what berth's builder cannot do, by flag.
func (o buildOptions) checkBuildFlags() error {
	switch o.builder {
	case "", "default", "berth":
	default:
		return fmt.Errorf("--builder %q: berth builds with its own builder on containerd; there is no other to choose (drop --builder)", o.builder)
	}
	for flag, v := range map[string]string{"--provenance": o.provenance, "--sbom": o.sbom} {
		switch strings.ToLower(v) {
		case "", "false", "0":
		default:
			return fmt.Errorf("%s %q: berth's builder makes no attestations; use %s=false or drop it", flag, v, flag)
		}
	}
	return nil
}

func (o buildOptions) options(out io.Writer) (scheduler.BuildOptions, error) {
	args, err := compose.ParseEnvArgs("--build-arg", o.buildArgs, os.LookupEnv)
	if err != nil {
		return scheduler.BuildOptions{}, err
	}
	if o.quiet {
		out = io.Discard
	}
	if _, err := build.ParseNetworkMode(o.network); err != nil {
		return scheduler.BuildOptions{}, fmt.Errorf("--network: %w", err)
	}
	for _, a := range o.allow {
		if _, err := build.ParseEntitlement(a); err != nil {
			return scheduler.BuildOptions{}, fmt.Errorf("--allow: %w", err)
		}
	}
	var memory int64
	if o.memory != "" {
		if memory, err = units.RAMInBytes(o.memory); err != nil || memory <= 0 {
			return scheduler.BuildOptions{}, fmt.Errorf("--memory %q: give a size such as 512m or 2g", o.memory)
		}
	}
	ssh, err := parseSSHFlags(o.ssh)
	if err != nil {
		return scheduler.BuildOptions{}, err
	}
	if o.platform != "" {
		if _, err := platform.ParseList(o.platform); err != nil {
			return scheduler.BuildOptions{}, fmt.Errorf("--platform: %w", err)
		}
	}
	return scheduler.BuildOptions{NoCache: o.noCache, Pull: o.pull, Args: args, Network: o.network, Allow: o.allow, Memory: memory, SSH: ssh, Platform: o.platform, Out: out}, nil
}

func runBuild(cmd *cobra.Command, g *globalOptions, opts buildOptions, services []string) error {
	if err := opts.checkBuildFlags(); err != nil {
		return err
	}
	ctx := cmd.Context()
	p, err := g.loadProject(ctx, services...)
	if err != nil {
		return err
	}
	bo, err := opts.options(cmd.OutOrStdout())
	if err != nil {
		return err
	}
	for _, name := range services {
		if s := p.Service(name); s != nil && s.Build == nil {
			return fmt.Errorf("service %q has no build section: nothing to build (its image is pulled)", name)
		}
	}
	if opts.withDeps && len(services) > 0 {
		gr, err := scheduler.NewGraph(p)
		if err != nil {
			return err
		}
		services = gr.WithDependencies(services)
	}
	switch {
	case opts.check:
		return checkDockerfiles(cmd.OutOrStdout(), buildServices(p, services))
	case opts.print:
		return printBake(cmd.OutOrStdout(), buildServices(p, services), bo)
	}
	if opts.quiet {
		g.progress = "quiet"
	}
	rt, progress, err := g.connectWithProgress(ctx)
	if err != nil {
		return err
	}
	defer rt.Close()
	var only []string
	if len(services) > 0 {
		only = services
	}
	var built []*compose.Service
	for _, s := range p.Services {
		if s.Build != nil && (only == nil || contains(only, s.Name)) {
			built = append(built, s)
		}
	}
	if g.dryRun {
		ops, err := scheduler.DryRunBuild(ctx, p, rt, only, bo)
		if err != nil {
			return err
		}
		var steps []dryRunStep
		for _, op := range ops {
			steps = append(steps, opStep(op))
		}
		if opts.push {
			steps = append(steps, pushSteps(built)...)
		}
		printDryRun(cmd.OutOrStdout(), g, p.Name, steps, nil)
		return nil
	}
	if err := scheduler.Build(ctx, p, rt, rt, only, bo); err != nil {
		return err
	}
	if !opts.push {
		return nil
	}
	return pushServices(ctx, rt, progress, built, false, cmd.ErrOrStderr())
}

// buildServices are the services with a build section among the named
// ones (all when none is named), sorted by name.
func buildServices(p *compose.Project, names []string) []*compose.Service {
	var out []*compose.Service
	for _, s := range p.Services {
		if s.Build != nil && (len(names) == 0 || slices.Contains(names, s.Name)) {
			out = append(out, s)
		}
	}
	return out
}

// checkDockerfiles prints the Dockerfile checks' warnings of each
// service's build, as docker build --check does, and fails when there is
// any.
func checkDockerfiles(out io.Writer, services []*compose.Service) error {
	n := 0
	for _, s := range services {
		ws, err := build.Request{ContextDir: s.Build.Context, Dockerfile: s.Build.Dockerfile, Inline: s.Build.Inline}.Check()
		if err != nil {
			return fmt.Errorf("service %q: %w", s.Name, err)
		}
		for _, w := range ws {
			fmt.Fprintf(out, "%s: %s\n", s.Name, w)
		}
		n += len(ws)
	}
	if n == 0 {
		fmt.Fprintln(out, "Check complete, no warnings found.")
		return nil
	}
	fmt.Fprintf(out, "Check complete, %d warnings have been found!\n", n)
	return exitError{code: 1}
}

// bakeTarget is a service's build as a docker buildx bake file target.
type bakeTarget struct {
	Context    string            `json:"context"`
	Dockerfile string            `json:"dockerfile,omitempty"`
	Inline     string            `json:"dockerfile-inline,omitempty"`
	Args       map[string]string `json:"args,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	Tags       []string          `json:"tags"`
	Target     string            `json:"target,omitempty"`
	Network    string            `json:"network,omitempty"`
	NoCache    bool              `json:"no-cache,omitempty"`
	Pull       bool              `json:"pull,omitempty"`
}

// printBake prints the services' builds as the bake file docker compose
// build --print prints: a default group of one target per service.
func printBake(out io.Writer, services []*compose.Service, bo scheduler.BuildOptions) error {
	type group struct {
		Targets []string `json:"targets"`
	}
	file := struct {
		Group  map[string]group      `json:"group"`
		Target map[string]bakeTarget `json:"target"`
	}{Group: map[string]group{"default": {Targets: []string{}}}, Target: map[string]bakeTarget{}}
	for _, s := range services {
		b := s.Build
		args := maps.Clone(b.Args)
		for k, v := range bo.Args {
			if args == nil {
				args = map[string]string{}
			}
			args[k] = v
		}
		network := b.Network
		if bo.Network != "" {
			network = bo.Network
		}
		t := bakeTarget{Context: b.Context, Dockerfile: b.Dockerfile, Inline: b.Inline, Args: args, Labels: b.Labels,
			Tags: append([]string{s.ImageName()}, b.Tags...), Target: b.Target, Network: network,
			NoCache: b.NoCache || bo.NoCache, Pull: b.Pull || bo.Pull}
		file.Group["default"] = group{Targets: append(file.Group["default"].Targets, s.Name)}
		file.Target[s.Name] = t
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(file)
}

// parseSSHFlags reads --ssh values as docker compose does: "default" (or
// "", which needs $SSH_AUTH_SOCK), or ID, or ID=PATH[,PATH...]; relative
// paths are made absolute.
func parseSSHFlags(values []string) (map[string][]string, error) {
	if len(values) == 0 {
		return nil, nil
	}
	out := map[string][]string{}
	for _, v := range values {
		if v == "" {
			// As docker compose: an empty --ssh is the default agent.
			if os.Getenv("SSH_AUTH_SOCK") == "" {
				return nil, errors.New("invalid empty ssh agent socket: make sure SSH_AUTH_SOCK is set (or give --ssh ID=PATH to a key)")
			}
			v = "default"
		}
		id, paths, _ := strings.Cut(v, "=")
		if id == "" {
			return nil, fmt.Errorf("--ssh %q: give default, or ID=PATH", v)
		}
		list := []string{}
		if paths != "" {
			for _, p := range strings.Split(paths, ",") {
				abs, err := filepath.Abs(p)
				if err != nil {
					return nil, fmt.Errorf("--ssh %q: %w", v, err)
				}
				list = append(list, abs)
			}
		}
		out[id] = list
	}
	return out, nil
}
