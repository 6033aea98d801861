package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/kube"
)

// runKubeUp is up on a cluster: convert the project, server-side apply it,
// and with --wait wait until every service is ready (healthy) and every
// Job complete. Attached (no -d, no --wait), it then follows the logs;
// Ctrl-C ends the following and leaves the project running.
//
// With SERVICE names it applies only the objects of those services and of
// the services they depend on (not with --no-deps), and of the project's
// that these use (kube.Manifests.ForServices), waits for these services
// only and follows the named ones' logs (their dependencies' too with
// --attach-dependencies); other services' objects on the cluster are left
// as they are.
func runKubeUp(cmd *cobra.Command, g *globalOptions, opts upOptions, services []string) error {
	if err := checkRegistry(opts.registry); err != nil {
		return err
	}
	ctx := cmd.Context()
	p, err := g.loadKubeProject(ctx, services)
	if err != nil {
		return err
	}
	selected, err := kubeSelection(p, services, opts.noDeps)
	if err != nil {
		return err
	}
	// Converted before anything is built or reached: a service that
	// cannot be carried over is said first. The whole project is
	// converted, names resolving as they do when all of it is up.
	m, err := kube.Convert(p, kube.ConvertOptions{})
	if err != nil {
		return err
	}
	c, err := g.dialKube(ctx)
	if err != nil {
		return err
	}
	if opts.registry != "" {
		images, err := publishImages(cmd, g, projectOf(p, selected), opts.registry, buildOptions{})
		if err != nil {
			return err
		}
		if m, err = kube.Convert(p, kube.ConvertOptions{Images: images}); err != nil {
			return err
		}
	}
	m = m.ForServices(selected)
	// After the dial: a cluster that is not there is the one line shown.
	for _, w := range m.Warnings {
		fmt.Fprintln(cmd.ErrOrStderr(), "WARN:", w)
	}
	if opts.noDeps {
		if err := warnMissingDeps(ctx, cmd.ErrOrStderr(), c, p, selected); err != nil {
			return err
		}
	}
	pw, err := g.progressWriter()
	if err != nil {
		return err
	}
	pw.w = cmd.ErrOrStderr()
	progress := kubeProgress(pw)
	if err := c.Apply(ctx, m.Namespace, m.Objects, progress); err != nil {
		return err
	}
	if opts.wait {
		wctx := ctx
		if opts.waitTimeout > 0 {
			var cancel context.CancelFunc
			wctx, cancel = context.WithTimeout(ctx, time.Duration(opts.waitTimeout)*time.Second)
			defer cancel()
		}
		return c.WaitServicesReady(wctx, p.Name, selected, progress)
	}
	if opts.detach {
		return nil
	}
	pr := g.newTermLogPrinter(cmd.OutOrStdout(), nil, opts.noColor, !opts.noLogPrefix, opts.timestamps)
	sources := func(names []string) {
		for _, n := range names {
			pr.addSource(n, n)
		}
	}
	attached := namesOrNil(services)
	if opts.attachDeps {
		attached = selected
	}
	err = c.Logs(ctx, p.Name, kube.LogOptions{Services: attached, Follow: true, Tail: -1, Sources: sources}, kubeLogLine(pr))
	if ctx.Err() != nil {
		return nil // Ctrl-C ends following; the project keeps running
	}
	return err
}

// projectOf is p with only the services selected (nil: all of them), for
// what up SERVICE... builds and pushes.
func projectOf(p *compose.Project, selected []string) *compose.Project {
	if selected == nil {
		return p
	}
	q := *p
	q.Services = slices.DeleteFunc(slices.Clone(p.Services), func(s *compose.Service) bool { return !slices.Contains(selected, s.Name) })
	return &q
}

// warnMissingDeps warns, for up --no-deps, of each dependency of the
// selected services that has nothing on the cluster: the pods of a
// service that waits for it to be healthy or completed stay in their
// init containers until it is up, as no waiting is dropped from the
// objects (they are the ones a full up applies).
func warnMissingDeps(ctx context.Context, w io.Writer, c *kube.Client, p *compose.Project, selected []string) error {
	waits := map[string][]string{} // dependency: services of selected that depend on it
	for _, name := range selected {
		s := p.Service(name)
		for _, dep := range slices.Sorted(maps.Keys(s.DependsOn)) {
			if !slices.Contains(selected, dep) && p.Service(dep) != nil {
				waits[dep] = append(waits[dep], name)
			}
		}
	}
	missing, err := c.Missing(ctx, p.Name, slices.Sorted(maps.Keys(waits)))
	if err != nil {
		return err
	}
	for _, dep := range missing {
		for _, name := range waits[dep] {
			switch p.Service(name).DependsOn[dep].Condition {
			case compose.ConditionHealthy, compose.ConditionCompletedSuccessfully:
				fmt.Fprintf(w, "WARN: service %s depends on %s, which has nothing on the cluster (--no-deps): %s's pods wait for it before they start; berth up -d %s runs it\n", name, dep, name, dep)
			default:
				fmt.Fprintf(w, "WARN: service %s depends on %s, which has nothing on the cluster (--no-deps): %s must retry until %s answers; berth up -d %s runs it\n", name, dep, name, dep, dep)
			}
		}
	}
	return nil
}
