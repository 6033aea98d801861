package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth/berth/kube"
)

// runKubeUp is up on a cluster: convert the project, server-side apply it,
// and with --wait wait until every service is ready (healthy) and every
// Job complete. Attached (no -d, no --wait), it then follows the logs;
// Ctrl-C ends the following and leaves the project running.
func runKubeUp(cmd *cobra.Command, g *globalOptions, opts upOptions, services []string) error {
	if err := refuseKubeArgs("up", services); err != nil {
		return err
	}
	if err := checkRegistry(opts.registry); err != nil {
		return err
	}
	ctx := cmd.Context()
	p, err := g.loadProject(ctx)
	if err != nil {
		return err
	}
	// Converted before anything is built or reached: a service that
	// cannot be carried over is said first.
	m, err := kube.Convert(p, kube.ConvertOptions{})
	if err != nil {
		return err
	}
	c, err := g.dialKube(ctx)
	if err != nil {
		return err
	}
	if opts.registry != "" {
		images, err := publishImages(cmd, g, p, opts.registry, buildOptions{})
		if err != nil {
			return err
		}
		if m, err = kube.Convert(p, kube.ConvertOptions{Images: images}); err != nil {
			return err
		}
	}
	// After the dial: a cluster that is not there is the one line shown.
	for _, w := range m.Warnings {
		fmt.Fprintln(cmd.ErrOrStderr(), "WARN:", w)
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
		return c.WaitReady(wctx, p.Name, progress)
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
	err = c.Logs(ctx, p.Name, kube.LogOptions{Follow: true, Tail: -1, Sources: sources}, kubeLogLine(pr))
	if ctx.Err() != nil {
		return nil // Ctrl-C ends following; the project keeps running
	}
	return err
}
