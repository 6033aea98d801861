package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/berth/berth/bundle"
	"github.com/berth/berth/platform"
	"github.com/berth/berth/scheduler"
)

type bundleLoadOptions struct {
	dir string
}

func newBundleLoadCmd(g *globalOptions) *cobra.Command {
	opts := bundleLoadOptions{}
	cmd := &cobra.Command{
		Use:   "load [--dir DIR] FILE",
		Short: "Load a bundle on this box: its images and its project",
		Long: `Check a bundle made by "berth bundle create" (every blob against its digest),
import its images without contacting any registry, and write its project
under berth's data directory (bundles/PROJECT), where "berth -p PROJECT up"
finds it when the working directory has no compose file; with --dir, into
DIR too, where "berth up" finds it. A bundle that is truncated or damaged,
for a platform this box neither runs nor emulates, or an update whose base
bundle was not loaded here is refused, and nothing of it is left behind.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBundleLoad(cmd, g, opts, args[0])
		},
	}
	cmd.Flags().StringVar(&opts.dir, "dir", "", "Also write the project (compose.yaml and its files) into this directory")
	return cmd
}

func runBundleLoad(cmd *cobra.Command, g *globalOptions, opts bundleLoadOptions, file string) (retErr error) {
	ctx := cmd.Context()
	b, err := readBundle(file)
	if err != nil {
		return fmt.Errorf("bundle load %w", err)
	}
	m := &b.Manifest
	emulated, err := bundle.Runnable(m.Platform, platform.LocalFromEnv())
	if err != nil {
		return fmt.Errorf("bundle load %s: %w", file, err)
	}
	rt, err := g.connect(ctx, scheduler.Discard)
	if err != nil {
		return err
	}
	defer rt.Close()
	if m.Base != nil {
		missing, err := rt.MissingBlobs(ctx, m.Base.Blobs)
		if err != nil {
			return err
		}
		if len(missing) > 0 {
			return fmt.Errorf("bundle load %s: it is an update of bundle %s (%s, project %s), and this box lacks %d of the blobs it expects from it: load that bundle first", file, m.Base.File, m.Base.ID, m.Base.Project, len(missing))
		}
	}
	undo, err := rt.ImportBundle(ctx, b, func() (io.ReadCloser, error) { return os.Open(file) })
	if err != nil {
		return fmt.Errorf("bundle load %s: %w", file, err)
	}
	defer func() {
		if retErr != nil {
			undo(context.WithoutCancel(ctx)) //nolint:errcheck // the load's error is the one to report
		}
	}()
	projectDir := filepath.Join(g.bundlesDir(), m.Project)
	dirs := []string{projectDir}
	if opts.dir != "" {
		dirs = append(dirs, opts.dir)
	}
	if err := bundle.WriteProject(b, dirs...); err != nil {
		return fmt.Errorf("bundle load %s: %w", file, err)
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "Loaded bundle %s: project %s for %s, %d images\n", file, m.Project, m.Platform, len(m.Images))
	if emulated {
		fmt.Fprintf(cmd.ErrOrStderr(), "WARN: the bundle's images are for %s: this box runs them under qemu emulation\n", m.Platform)
	}
	for _, img := range m.Images {
		fmt.Fprintf(out, "Loaded image: %s@%s\n", img.Name, img.Digest)
	}
	fmt.Fprintf(out, "Project files: %s\n", projectDir)
	for _, s := range m.Secrets {
		if !s.Included {
			fmt.Fprintf(out, "Secret %s is not in the bundle: %s\n", s.Name, loadSecretHint(s, projectDir))
		}
	}
	fmt.Fprintf(out, "Next: berth -p %s up -d\n", m.Project)
	if opts.dir != "" {
		fmt.Fprintf(out, "  or: cd %s && berth up -d\n", opts.dir)
	}
	return nil
}

func loadSecretHint(s bundle.Secret, dir string) string {
	if s.Environment != "" {
		return fmt.Sprintf("set %s in the environment of berth up", s.Environment)
	}
	return fmt.Sprintf("put its file at %s before up", filepath.Join(dir, filepath.FromSlash(s.File)))
}
