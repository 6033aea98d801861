package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

type pushOptions struct {
	ignoreFailures bool
	quiet          bool
}

func newPushCmd(g *globalOptions) *cobra.Command {
	opts := pushOptions{}
	cmd := &cobra.Command{
		Use:   "push [OPTIONS] [SERVICE...]",
		Short: "Push the images of the project's services to their registries",
		Long: `Push the image of every service that names one (image:), and the build's
extra tags. Services without an image name are skipped: their
<project>-<service> image has no registry to go to.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPush(cmd, g, opts, args)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.ignoreFailures, "ignore-push-failures", false, "Push what can be pushed and report the failures")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "Print no progress")
	return cmd
}

func runPush(cmd *cobra.Command, g *globalOptions, opts pushOptions, services []string) error {
	ctx := cmd.Context()
	p, err := g.loadProject(ctx, services...)
	if err != nil {
		return err
	}
	if opts.quiet {
		g.progress = "quiet"
	}
	rt, _, err := g.connectWithProgress(ctx)
	if err != nil {
		return err
	}
	defer rt.Close()
	seen := map[string]bool{}
	var failed []error
	for _, s := range p.Services {
		if len(services) > 0 && !contains(services, s.Name) {
			continue
		}
		refs := []string{}
		if s.Image != "" {
			refs = append(refs, s.Image)
		}
		if s.Build != nil {
			refs = append(refs, s.Build.Tags...)
		}
		for _, ref := range refs {
			if seen[ref] {
				continue
			}
			seen[ref] = true
			if _, err := rt.Push(ctx, ref); err != nil {
				err = fmt.Errorf("service %q: %w", s.Name, err)
				if !opts.ignoreFailures {
					return err
				}
				failed = append(failed, err)
			}
		}
	}
	for _, err := range failed {
		fmt.Fprintln(cmd.ErrOrStderr(), "warning:", err)
	}
	return nil
}
