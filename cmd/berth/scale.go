package main

import (
	"maps"
	"slices"

	"github.com/spf13/cobra"

	"github.com/berth/berth/compose"
)

type scaleOptions struct {
	noDeps bool
}

func newScaleCmd(g *globalOptions) *cobra.Command {
	opts := scaleOptions{}
	cmd := &cobra.Command{
		Use:   "scale SERVICE=NUM...",
		Short: "Set the number of containers of services",
		Long: `Scale services to NUM containers each, as "up -d --scale SERVICE=NUM
SERVICE" does: the replicas kept are not recreated (unless their
configuration changed), missing ones are created with the lowest free
numbers, and scaling down stops and removes the highest-numbered ones.
NUM 0 removes the service's containers. The services' dependencies are
started too unless --no-deps is given; other services are left alone.`,
		Example: `  berth scale web=3 worker=2
  berth scale --no-deps web=1`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runScale(cmd, g, opts, args)
		},
	}
	cmd.Flags().BoolVar(&opts.noDeps, "no-deps", false, "Do not start the services' dependencies")
	return cmd
}

func runScale(cmd *cobra.Command, g *globalOptions, opts scaleOptions, args []string) error {
	replicas, err := compose.ParseScale("scale argument", args)
	if err != nil {
		return err
	}
	services := slices.Sorted(maps.Keys(replicas))
	return runUp(cmd, g, upOptions{detach: true, noDeps: opts.noDeps, timeout: -1, scale: args}, services)
}
