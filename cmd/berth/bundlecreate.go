package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/berth/berth/bundle"
	"github.com/berth/berth/compose"
	"github.com/berth/berth/containerd"
	"github.com/berth/berth/scheduler"
)

type bundleCreateOptions struct {
	output         string
	platform       string
	includeSecrets bool
	since          string
}

func newBundleCreateCmd(g *globalOptions) *cobra.Command {
	opts := bundleCreateOptions{}
	cmd := &cobra.Command{
		Use:   "create [-o FILE] [--platform P] [--include-secrets] [--since OLD_BUNDLE] [SERVICE...]",
		Short: "Write the project and its images to one bundle file",
		Long: `Write one bundle file holding the project (its compose model as "berth
config" prints it, with the env files, configs and bind-mounted project
files it reads) and the images of its services (all, or the named ones
and what they depend on) for one platform, pinned by digest. Images are
built or pulled first, as up would. The same project and images give the
same bytes.

Secret files are left out unless --include-secrets: the bundle then lists
the secrets the box must provide. --since OLD_BUNDLE writes an update: only
the blobs OLD_BUNDLE does not have; load it on a box that loaded OLD_BUNDLE.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBundleCreate(cmd, g, opts, args)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.output, "output", "o", "", "Bundle file to write (default: PROJECT.bundle.tar)")
	f.StringVar(&opts.platform, "platform", "", "Platform of the images, e.g. linux/arm64 or linux/arm/v7 (default: this host's)")
	f.BoolVar(&opts.includeSecrets, "include-secrets", false, "Ship the secrets' files too (they are readable by whoever has the bundle)")
	f.StringVar(&opts.since, "since", "", "Write only what this earlier bundle of the project lacks (an update for a box that loaded it)")
	return cmd
}

func runBundleCreate(cmd *cobra.Command, g *globalOptions, opts bundleCreateOptions, services []string) (retErr error) {
	ctx := cmd.Context()
	platform, err := bundle.ParsePlatform(opts.platform)
	if err != nil {
		return fmt.Errorf("--platform: %w", err)
	}
	var base *bundle.Bundle
	if opts.since != "" {
		if base, err = readBundle(opts.since); err != nil {
			return fmt.Errorf("--since: %w", err)
		}
	}
	if err := g.refuseContainersProject(); err != nil {
		return err
	}
	lo := g.composeOptions()
	lo.Services = services
	p, err := compose.Load(ctx, lo)
	if err != nil {
		return err
	}
	lo.KeepEnvFiles = true
	spec, err := compose.LoadSpec(ctx, lo)
	if err != nil {
		return err
	}
	if base != nil && base.Manifest.Project != p.Name {
		return fmt.Errorf("--since %s: it is a bundle of project %s, not %s", opts.since, base.Manifest.Project, p.Name)
	}
	for _, s := range p.Services {
		if s.Platform != "" && s.Platform != platform {
			if sp, err := bundle.ParsePlatform(s.Platform); err != nil || sp != platform {
				return fmt.Errorf("service %q has platform: %s; the bundle is for %s (give --platform %s, or change the service)", s.Name, s.Platform, platform, s.Platform)
			}
		}
		if opts.platform != "" {
			s.Platform = platform
		}
		if s.PullPolicy == compose.PullAlways {
			fmt.Fprintf(cmd.ErrOrStderr(), "WARN: service %q has pull_policy: always: up on the box will try its registry (run it with --pull never there, or change the policy)\n", s.Name)
		}
	}
	rt, progress, err := g.connectWithProgress(ctx)
	if err != nil {
		return err
	}
	defer rt.Close()
	progress.Live()
	err = prepareBundleImages(cmd, rt, progress, p)
	progress.Stop()
	if err != nil {
		return err
	}
	m := &bundle.Manifest{Project: p.Name, Platform: platform}
	images := map[string]string{}
	seen := map[string]bool{}
	for _, s := range p.Services {
		name := s.ImageName()
		images[s.Name] = name
		m.Services = append(m.Services, bundle.Service{Name: s.Name, Image: name})
		if seen[name] {
			continue
		}
		seen[name] = true
		img, blobs, err := bundleImage(cmd, rt, progress, p, s, platform)
		if err != nil {
			return err
		}
		m.Images = append(m.Images, img)
		m.Blobs = append(m.Blobs, blobs...)
	}
	m.Blobs = bundle.Unique(m.Blobs)
	if base != nil {
		m.Blobs, m.Base = bundle.Since(m.Blobs, base)
		m.Base.File = filepath.Base(opts.since)
	}
	secretFiles := compose.SecretFilesLeftOut
	if opts.includeSecrets {
		secretFiles = compose.SecretFilesIncluded
	}
	model, files, secrets, err := compose.BundleModel(spec, images, secretFiles)
	if err != nil {
		return err
	}
	pf := []bundle.ProjectFile{{Path: bundle.ComposeFile, Data: model}}
	for _, f := range files {
		pf = append(pf, bundle.ProjectFile(f))
	}
	for _, s := range secrets {
		m.Secrets = append(m.Secrets, bundle.Secret(s))
	}
	output := opts.output
	if output == "" {
		output = p.Name + ".bundle.tar"
	}
	if err := writeFileAtomic(output, func(w *os.File) error { return bundle.Write(ctx, w, m, pf, rt) }); err != nil {
		return err
	}
	var shipped int64
	for _, b := range m.Blobs {
		shipped += b.Size
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "Bundle %s: project %s for %s, %d services, %d images (%s), %s of blobs shipped\n",
		output, p.Name, platform, len(m.Services), len(m.Images), units.HumanSize(float64(m.TotalSize())), units.HumanSize(float64(shipped)))
	if m.Base != nil {
		fmt.Fprintf(out, "An update of %s: the box must have loaded it (%d blobs not shipped again)\n", opts.since, len(m.Base.Blobs))
	}
	for _, s := range m.Secrets {
		if !s.Included {
			fmt.Fprintf(out, "Secret %s is not in the bundle: %s\n", s.Name, secretHint(s))
		}
	}
	return nil
}

// prepareBundleImages builds the images of the project's services that
// have a build section and are missing, and pulls the missing others
// (per their pull_policy), as up does.
func prepareBundleImages(cmd *cobra.Command, rt *containerd.Client, progress *progressWriter, p *compose.Project) error {
	ctx := cmd.Context()
	bo := scheduler.BuildOptions{Missing: true, Out: buildOutput(progress, cmd.OutOrStdout(), false)}
	if err := scheduler.Build(ctx, p, rt, rt, nil, bo); err != nil {
		return err
	}
	for _, s := range p.Services {
		if err := rt.EnsureImage(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// bundleImage describes the service's image for the bundle. An image
// present for another platform only is built for the bundle's (the
// service has a build section) or pulled for it, then described again.
func bundleImage(cmd *cobra.Command, rt *containerd.Client, progress *progressWriter, p *compose.Project, s *compose.Service, platform string) (bundle.Image, []bundle.Blob, error) {
	ctx := cmd.Context()
	img, blobs, err := rt.BundleImage(ctx, s.ImageName(), platform)
	if !errors.Is(err, containerd.ErrPlatformMissing) {
		if err != nil {
			return img, blobs, fmt.Errorf("service %q: %w", s.Name, err)
		}
		return img, blobs, nil
	}
	progress.Live()
	if s.Build != nil {
		s.Platform = platform
		err = scheduler.Build(ctx, p, rt, rt, []string{s.Name}, scheduler.BuildOptions{Out: buildOutput(progress, cmd.OutOrStdout(), false)})
	} else {
		if err = rt.Pull(ctx, s.ImageName(), platform); err != nil {
			err = fmt.Errorf("service %q: %w", s.Name, err)
		}
	}
	progress.Stop()
	if err != nil {
		return bundle.Image{}, nil, err
	}
	if img, blobs, err = rt.BundleImage(ctx, s.ImageName(), platform); err != nil {
		return img, blobs, fmt.Errorf("service %q: %w", s.Name, err)
	}
	return img, blobs, nil
}

// secretHint says how the box provides a secret the bundle lacks.
func secretHint(s bundle.Secret) string {
	if s.Environment != "" {
		return fmt.Sprintf("set %s in the environment of berth up on the box", s.Environment)
	}
	return fmt.Sprintf("put its file at %s in the project directory on the box (or create the bundle with --include-secrets)", s.File)
}

// readBundle opens and verifies a bundle file.
func readBundle(path string) (*bundle.Bundle, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := bundle.Verify(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

// writeFileAtomic writes a file through write into a temporary file next
// to it, renamed into place only when write succeeded, so that a failure
// leaves no half file behind.
func writeFileAtomic(path string, write func(*os.File) error) (retErr error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".berth-bundle-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if retErr != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := write(tmp); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
