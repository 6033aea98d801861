package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/berth/berth/compose"
)

type pullOptions struct {
	ignoreFailures bool
	quiet          bool
}

func newPullCmd(g *globalOptions) *cobra.Command {
	opts := pullOptions{}
	cmd := &cobra.Command{
		Use:   "pull [OPTIONS] [SERVICE...]",
		Short: "Pull the images of the project's services",
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPull(cmd, g, opts, args)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.ignoreFailures, "ignore-pull-failures", false, "Pull what can be pulled and ignore the images that fail")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "Print no progress")
	return cmd
}

func runPull(cmd *cobra.Command, g *globalOptions, opts pullOptions, services []string) error {
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

	// One pull per image, even when several services share it.
	images := map[string]*compose.Service{}
	for _, s := range p.Services {
		if len(services) > 0 && !contains(services, s.Name) {
			continue
		}
		if s.Image == "" || s.PullPolicy == compose.PullBuild {
			continue // built, not pulled
		}
		if _, ok := images[s.Image]; !ok {
			images[s.Image] = s
		}
	}
	eg, ctx := errgroup.WithContext(ctx)
	if g.parallel > 0 {
		eg.SetLimit(g.parallel)
	}
	errs := make(chan error, len(images))
	for image, s := range images {
		eg.Go(func() error {
			if err := rt.Pull(ctx, image, s.Platform); err != nil {
				err = fmt.Errorf("service %q: %w", s.Name, err)
				if opts.ignoreFailures {
					errs <- err
					return nil
				}
				return err
			}
			return nil
		})
	}
	err = eg.Wait()
	close(errs)
	for e := range errs {
		fmt.Fprintf(cmd.ErrOrStderr(), "WARN: %v\n", e)
	}
	return err
}
