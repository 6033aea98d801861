package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/containerd"
)

type publishOptions struct {
	withEnv        bool
	yes            bool
	ociVersion     string
	resolveDigests bool
	app            bool
}

func newPublishCmd(g *globalOptions) *cobra.Command {
	opts := publishOptions{}
	cmd := &cobra.Command{
		Use:   "publish [OPTIONS] REPOSITORY[:TAG]",
		Short: "Publish the compose files to a registry as an OCI artifact",
		Long: `Push the project's compose files (and with --with-env its env files) to a
registry as an OCI artifact, in the form docker compose publish writes, so
that "berth -f oci://REPOSITORY[:TAG] up" (or docker compose) runs the
project from there. Every profile's services are published.

As docker compose does, publish refuses services that have a build
section but no image, include:, and environment variables or env files
unless --with-env. Where docker compose asks for confirmation (bind mounts,
and the variables published with --with-env), berth fails unless -y.
The services' images are not pushed: push them with "berth push".
With --resolve-image-digests the artifact also holds image-digests.yaml,
an override pinning each service's image to the digest its registry
gives for it now, so that whoever runs the artifact runs those images.
--app (which implies --resolve-image-digests) also copies the services'
images into REPOSITORY, listed in an image index whose subject is the
compose artifact, pushed by digest (REPOSITORY[:TAG] still names the
compose artifact), as docker compose publish --app does.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPublish(cmd, g, opts, args[0])
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.withEnv, "with-env", false, "Include environment variables and env files in the published artifact")
	f.BoolVarP(&opts.yes, "yes", "y", false, `Assume "yes" as answer to all prompts (bind mounts, environment variables)`)
	f.BoolVar(&opts.resolveDigests, "resolve-image-digests", false, "Pin image tags to digests: add an override of the images as name:tag@sha256:… (asked of their registries) to the artifact")
	f.BoolVar(&opts.app, "app", false, "Publish the application: also copy the services' images into the repository, in an index whose subject is the compose artifact (implies --resolve-image-digests)")
	f.StringVar(&opts.ociVersion, "oci-version", "", `OCI image/artifact specification version: "1.0" or "1.1" (default: 1.1, else 1.0 when the registry refuses it)`)
	return cmd
}

func runPublish(cmd *cobra.Command, g *globalOptions, opts publishOptions, repo string) error {
	if opts.ociVersion != containerd.OCIVersionAuto && opts.ociVersion != containerd.OCIVersion1_0 && opts.ociVersion != containerd.OCIVersion1_1 {
		return fmt.Errorf("--oci-version %q: give 1.0 or 1.1", opts.ociVersion)
	}
	if _, err := containerd.NormalizeRef(repo); err != nil {
		return err
	}
	ctx := cmd.Context()
	lo := g.composeOptions()
	lo.Profiles = []string{"*"}
	lo.KeepEnvFiles = true
	spec, err := compose.LoadSpec(ctx, lo)
	if err != nil {
		return err
	}
	files, err := compose.PublishFiles(spec, compose.PublishOptions{WithEnv: opts.withEnv, Yes: opts.yes})
	if err != nil {
		return err
	}
	var images []string
	if opts.resolveDigests || opts.app {
		// Last, as docker compose adds it: it overrides the files' images.
		resolved, err := compose.ResolveImageDigests(ctx, spec, g.digestResolver())
		if err != nil {
			return err
		}
		for _, name := range resolved.ServiceNames() {
			images = append(images, resolved.Services[name].Image)
		}
		override, err := compose.ImagesOnly(resolved).MarshalYAML()
		if err != nil {
			return fmt.Errorf("publish: image digests: %w", err)
		}
		files = append(files, compose.PublishedFile{Name: compose.ImageDigestsFile, Data: override})
	}
	out := make([]containerd.ArtifactFile, 0, len(files))
	for _, f := range files {
		out = append(out, containerd.ArtifactFile(f))
	}
	stderr := cmd.ErrOrStderr()
	fmt.Fprintf(stderr, "%s publishing\n", repo)
	registry := containerd.NewRegistry(g.insecure...)
	if opts.app {
		digest, index, err := registry.PublishApp(ctx, repo, out, opts.ociVersion, images)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "%s published (%s)\n", repo, digest)
		fmt.Fprintf(stderr, "%d images copied into %s, listed in the index %s\n", len(images), repo, index)
		return nil
	}
	digest, err := registry.PublishCompose(ctx, repo, out, opts.ociVersion)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%s published (%s)\n", repo, digest)
	return nil
}

// digestResolver asks the images' registries for their digests
// (--resolve-image-digests, --lock-image-digests).
func (o *globalOptions) digestResolver() compose.DigestResolver {
	return containerd.NewRegistry(o.insecure...).ResolveDigest
}

// registryArtifacts reads compose artifacts (-f oci://) from registries.
type registryArtifacts struct{ r *containerd.Registry }

var _ compose.ArtifactFetcher = registryArtifacts{}

func (a registryArtifacts) FetchCompose(ctx context.Context, ref string) (string, []compose.PublishedFile, error) {
	digest, files, err := a.r.FetchCompose(ctx, ref)
	if err != nil {
		return "", nil, err
	}
	out := make([]compose.PublishedFile, 0, len(files))
	for _, f := range files {
		out = append(out, compose.PublishedFile(f))
	}
	return digest, out, nil
}
