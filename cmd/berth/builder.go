package main

import (
	"fmt"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/berth/berth/scheduler"
)

func newBuilderCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "builder",
		Short: "Manage the build cache",
	}
	cmd.AddCommand(newBuilderPruneCmd(g))
	return cmd
}

type builderPruneOptions struct {
	force bool
}

func newBuilderPruneCmd(g *globalOptions) *cobra.Command {
	opts := builderPruneOptions{}
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Remove the build cache",
		Long: `Forget every cached build step and let containerd collect the layers and
snapshots only the cache kept. Layers of images that exist stay. The next
build of each image runs all its steps.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBuilderPrune(cmd, g, opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.force, "force", "f", false, "Do not ask for confirmation (berth never asks; accepted for docker compatibility)")
	return cmd
}

func runBuilderPrune(cmd *cobra.Command, g *globalOptions, _ builderPruneOptions) error {
	ctx := cmd.Context()
	rt, err := g.connect(ctx, scheduler.Discard)
	if err != nil {
		return err
	}
	defer rt.Close()
	steps, freed, err := rt.PruneBuildCache(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Removed %d cached steps; reclaimed %s\n", steps, units.HumanSize(float64(freed)))
	return nil
}
