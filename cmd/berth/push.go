package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/scheduler"
)

type pushOptions struct {
	ignoreFailures bool
	quiet          bool
	includeDeps    bool
}

func newPushCmd(g *globalOptions) *cobra.Command {
	opts := pushOptions{}
	cmd := &cobra.Command{
		Use:   "push [OPTIONS] [SERVICE...]",
		Short: "Push the images of the project's services to their registries",
		Long: `Push the images berth builds: each service's image name (image:) and its
build's extra tags (build.tags), each name to its own registry. As in docker
compose, services without a build section are skipped (their image comes
from a registry already), and so are built services without an image name
or tags: their <project>-<service> image has no registry to go to.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPush(cmd, g, opts, args)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.ignoreFailures, "ignore-push-failures", false, "Push what can be pushed and report the failures")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "Print no progress")
	f.BoolVar(&opts.includeDeps, "include-deps", false, "Also push the images of the services the named ones depend on")
	return cmd
}

func runPush(cmd *cobra.Command, g *globalOptions, opts pushOptions, services []string) error {
	ctx := cmd.Context()
	p, err := g.loadProject(ctx, services...)
	if err != nil {
		return err
	}
	if opts.includeDeps {
		if services, err = withDependencies(p, services); err != nil {
			return err
		}
	}
	var selected []*compose.Service
	for _, s := range p.Services {
		if len(services) == 0 || contains(services, s.Name) {
			selected = append(selected, s)
		}
	}
	if g.dryRun {
		printDryRun(cmd.OutOrStdout(), g, p.Name, pushSteps(selected), nil)
		return nil
	}
	if opts.quiet {
		g.progress = "quiet"
	}
	rt, progress, err := g.connectWithProgress(ctx)
	if err != nil {
		return err
	}
	defer rt.Close()
	return pushServices(ctx, rt, progress, selected, opts.ignoreFailures, cmd.ErrOrStderr())
}

// imagePusher pushes a local image to its registry.
type imagePusher interface {
	Push(ctx context.Context, image string) (string, error)
}

// pushRefs are the names push sends of a service: its image name and its
// build's tags, once each; none for a service without a build section.
func pushRefs(s *compose.Service, seen map[string]bool) []string {
	if s.Build == nil {
		return nil
	}
	var refs []string
	for _, ref := range append([]string{s.Image}, s.Build.Tags...) {
		if ref != "" && !seen[ref] {
			seen[ref] = true
			refs = append(refs, ref)
		}
	}
	return refs
}

// pushServices pushes the services' images (pushRefs), each name to its
// own registry and all at the same time: one that fails stops none of the
// others. The failures are returned together, or only printed to errOut
// as warnings with ignoreFailures.
func pushServices(ctx context.Context, rt imagePusher, ev scheduler.Events, services []*compose.Service, ignoreFailures bool, errOut io.Writer) error {
	seen := map[string]bool{}
	var (
		g    errgroup.Group
		mu   sync.Mutex // guards errs
		errs []error
	)
	for _, s := range services {
		refs := pushRefs(s, seen)
		if len(refs) == 0 {
			ev.Emit(scheduler.Event{Kind: scheduler.KindService, Name: s.Name, Status: scheduler.StatusDone, Text: "Skipped"})
			continue
		}
		for _, ref := range refs {
			g.Go(func() error {
				if _, err := rt.Push(ctx, ref); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("service %q: %w", s.Name, err))
					mu.Unlock()
				}
				return nil
			})
		}
	}
	g.Wait() //nolint:errcheck // the pushes' errors are in errs
	if ignoreFailures {
		for _, err := range errs {
			fmt.Fprintln(errOut, "warning:", err)
		}
		return nil
	}
	return errors.Join(errs...)
}
