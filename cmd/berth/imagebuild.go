package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/containerd"
	"github.com/berth/berth/containerd/build"
	"github.com/berth/berth/platform"
	"github.com/berth/berth/scheduler"
)

type imageBuildOptions struct {
	tags      []string
	file      string
	buildArgs []string
	target    string
	noCache   bool
	pull      bool
	labels    []string
	platform  string
	quiet     bool
	push      bool
}

func newImageBuildCmd(g *globalOptions) *cobra.Command {
	opts := imageBuildOptions{}
	cmd := &cobra.Command{
		Use:   "build [OPTIONS] CONTEXT",
		Short: "Build an image from a Dockerfile",
		Long: `Build an image from the Dockerfile in CONTEXT (a directory) with berth's
builder: the same builder and build cache as "berth build". CONTEXT "-" reads
the context from standard input, as docker build - does: a tar of it (plain or
gzip), or a Dockerfile alone (then the context is empty).`,
		Example: `  berth image build -t my-app .
  berth image build -t registry.local:5000/my-app:1.0 -f docker/Dockerfile --build-arg VERSION=1.0 .
  berth image build -t my-app - < Dockerfile`,
		Args: exactArgs(1, "CONTEXT", "the build context directory, or - for standard input"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runImageBuild(cmd, g, opts, args[0])
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&opts.tags, "tag", "t", nil, `Name the image: NAME[:TAG] (repeatable); without one the image has no name ("<none>" in image ls)`)
	f.StringVarP(&opts.file, "file", "f", "", `The Dockerfile (default: CONTEXT/Dockerfile; a relative path is taken from the current directory, or from the context when it comes from standard input)`)
	f.StringArrayVar(&opts.buildArgs, "build-arg", nil, "Set a build argument: KEY=VALUE, or KEY to take it from the environment")
	f.StringVar(&opts.target, "target", "", "Build this stage of the Dockerfile (FROM … AS STAGE) and stop there")
	f.BoolVar(&opts.noCache, "no-cache", false, "Run every step, ignoring the build cache")
	f.BoolVar(&opts.pull, "pull", false, "Pull base images even when they are present")
	f.StringArrayVar(&opts.labels, "label", nil, "Add a label to the image: KEY=VALUE (repeatable)")
	f.StringVar(&opts.platform, "platform", "", `Platform to build for: linux/amd64, linux/arm64 or linux/arm/v7, or several, comma-separated, for an OCI index of one image per platform (default: this host's); a foreign platform's RUN steps run under qemu user emulation`)
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "Print only the image ID (sha256:…)")
	f.BoolVar(&opts.push, "push", false, "Push the image under each of its -t names when the build succeeded")
	return cmd
}

// exactArgs is cobra.ExactArgs with an error on one line that says what
// is missing: `berth image build` wants CONTEXT (…).
func exactArgs(n int, what, hint string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == n {
			return nil
		}
		return fmt.Errorf("%q wants %d argument(s), %s (%s); got %d: see %s --help", cmd.CommandPath(), n, what, hint, len(args), cmd.CommandPath())
	}
}

// imageBuild is what image build's flags and context ask for: the image
// as a compose service with a build section, so that it builds through
// the path compose services take.
type imageBuild struct {
	service *compose.Service
	opts    scheduler.BuildOptions
	// dangling: no -t, the image keeps no name.
	dangling bool
	// tags are the names the image gets, in the order given.
	tags []string
}

// untaggedBuildName starts the name a build without -t runs under until
// the image is renamed to its ID; a random suffix keeps such builds run
// at the same time apart.
const untaggedBuildName = "berth-untagged-build-"

// spec turns the flags into a build of the context directory (or of the
// Dockerfile inline, with an empty context); cwd resolves a relative -f.
func (o imageBuildOptions) spec(contextDir, inline, cwd string, fromStdin bool) (imageBuild, error) {
	var b imageBuild
	if o.platform != "" {
		if _, err := platform.ParseList(o.platform); err != nil {
			return b, fmt.Errorf("--platform: %w", err)
		}
	}
	for _, t := range o.tags {
		if _, err := containerd.NormalizeRef(t); err != nil {
			return b, fmt.Errorf("invalid argument %q for \"-t, --tag\" flag: invalid reference format: give NAME[:TAG] in lower case, such as my-app:1.0", t)
		}
	}
	args, err := compose.ParseEnvArgs("--build-arg", o.buildArgs, os.LookupEnv)
	if err != nil {
		return b, err
	}
	var labels map[string]string
	for _, l := range o.labels {
		k, v, _ := strings.Cut(l, "=")
		if k == "" {
			return b, fmt.Errorf("--label %q: give KEY=VALUE", l)
		}
		if labels == nil {
			labels = map[string]string{}
		}
		labels[k] = v
	}
	dockerfile := o.file
	switch {
	case inline != "" && dockerfile != "":
		return b, errors.New("-f: the Dockerfile came on standard input: drop -f, or send a tar of the context with the Dockerfile in it")
	case dockerfile != "" && !fromStdin && !filepath.IsAbs(dockerfile):
		dockerfile = filepath.Join(cwd, dockerfile)
	case dockerfile != "" && fromStdin:
		dockerfile = filepath.Join(contextDir, filepath.Clean("/"+dockerfile))
	}
	b.tags = o.tags
	image := untaggedBuildName + strings.ToLower(rand.Text()[:12])
	if len(o.tags) > 0 {
		image = o.tags[0]
	} else {
		b.dangling = true
	}
	var extra []string
	if len(o.tags) > 1 {
		extra = o.tags[1:]
	}
	platform, several := o.platform, []string(nil)
	if strings.Contains(platform, ",") {
		platform, several = "", strings.Split(o.platform, ",")
	}
	b.service = &compose.Service{
		Image:    image,
		Platform: platform,
		Build: &compose.Build{
			Platforms:  several,
			Context:    contextDir,
			Dockerfile: dockerfile,
			Inline:     inline,
			Args:       args,
			Target:     o.target,
			Labels:     labels,
			Tags:       extra,
			NoCache:    o.noCache,
			Pull:       o.pull,
		},
	}
	b.opts = scheduler.BuildOptions{Out: io.Discard}
	return b, nil
}

func runImageBuild(cmd *cobra.Command, g *globalOptions, opts imageBuildOptions, contextArg string) error {
	contextDir, inline := contextArg, ""
	if contextArg == "-" {
		sc, remove, err := build.ReadStdinContext(cmd.InOrStdin(), "")
		if err != nil {
			return err
		}
		defer remove()
		contextDir, inline = sc.Dir, sc.Inline
	} else {
		abs, err := filepath.Abs(contextArg)
		if err != nil {
			return fmt.Errorf("image build: context %s: %w", contextArg, err)
		}
		if st, err := os.Stat(abs); err != nil || !st.IsDir() {
			return fmt.Errorf("image build: the build context %s is not a directory: give the directory holding the Dockerfile (or - for standard input)", contextArg)
		}
		contextDir = abs
	}
	cwd, err := os.Getwd()
	if err != nil {
		return err
	}
	b, err := opts.spec(contextDir, inline, cwd, contextArg == "-")
	if err != nil {
		return err
	}
	if !opts.quiet {
		b.opts.Out = cmd.OutOrStdout()
	}
	ctx := cmd.Context()
	rt, err := g.connectImages(ctx, opts.quiet)
	if err != nil {
		return err
	}
	defer rt.Close()
	id, err := rt.BuildImageID(ctx, b.service, b.opts, b.opts.Out, b.dangling)
	if err != nil {
		return fmt.Errorf("image build: %w", err)
	}
	if opts.quiet {
		fmt.Fprintln(cmd.OutOrStdout(), id)
	} else {
		fmt.Fprintf(cmd.OutOrStdout(), "writing image %s done\n", id)
	}
	if !opts.push {
		return nil
	}
	if len(b.tags) == 0 {
		return errors.New("image build --push: the image has no name to push: give it one with -t REGISTRY/NAME[:TAG]")
	}
	for _, t := range b.tags {
		if _, err := rt.Push(ctx, t); err != nil {
			return err
		}
	}
	return nil
}
