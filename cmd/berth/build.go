package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/containerd/build"
	"github.com/berth/berth/scheduler"
)

type buildOptions struct {
	noCache   bool
	pull      bool
	buildArgs []string
	quiet     bool
	network   string
	allow     []string
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
	f.BoolVar(&opts.noCache, "no-cache", false, "Run every step, ignoring the build cache")
	f.BoolVar(&opts.pull, "pull", false, "Pull base images even when they are present")
	f.StringArrayVar(&opts.buildArgs, "build-arg", nil, "Set a build argument: KEY=VALUE, or KEY to take it from the environment")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "Print nothing but errors")
	f.StringVar(&opts.network, "network", "", `RUN steps' network: "default" (a network of the build's own, with NAT to the outside), "host" or "none"; overrides the build sections' network`)
	f.StringArrayVar(&opts.allow, "allow", nil, `Grant the Dockerfiles an entitlement: "network.host" lets RUN --network=host use the host's network`)
	return cmd
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
	return scheduler.BuildOptions{NoCache: o.noCache, Pull: o.pull, Args: args, Network: o.network, Allow: o.allow, Out: out}, nil
}

func runBuild(cmd *cobra.Command, g *globalOptions, opts buildOptions, services []string) error {
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
	if opts.quiet {
		g.progress = "quiet"
	}
	rt, _, err := g.connectWithProgress(ctx)
	if err != nil {
		return err
	}
	defer rt.Close()
	var only []string
	if len(services) > 0 {
		only = services
	}
	return scheduler.Build(ctx, p, rt, rt, only, bo)
}
