package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berth/berth/scheduler"
)

func newVolumesCmd(g *globalOptions) *cobra.Command {
	opts := volumeLsOptions{}
	cmd := &cobra.Command{
		Use:   "volumes [OPTIONS] [SERVICE...]",
		Short: "List the project's volumes",
		Long: `List the project's named volumes, as docker compose volumes does: all of
them, or with SERVICE… those that the services' containers mount. It works
from the compose file, or from -p NAME alone. --format json prints one
JSON object per volume and line; -q only the names. (berth volume ls is
the same list without the service filter.)`,
		RunE: func(cmd *cobra.Command, services []string) error {
			return runVolumes(cmd, g, opts, services)
		},
	}
	cmd.Flags().StringVar(&opts.format, "format", "table", "Output format: table or json")
	cmd.Flags().BoolVarP(&opts.quiet, "quiet", "q", false, "Only display volume names")
	return cmd
}

func runVolumes(cmd *cobra.Command, g *globalOptions, opts volumeLsOptions, services []string) error {
	if opts.format != "table" && opts.format != "json" {
		return fmt.Errorf("volumes --format %q: use table or json", opts.format)
	}
	ctx := cmd.Context()
	p, rt, cs, err := g.projectContainers(ctx, services)
	if err != nil {
		return err
	}
	defer rt.Close()
	all, err := rt.Volumes(ctx)
	if err != nil {
		return err
	}
	vols := scheduler.ProjectVolumes(p, all)
	if len(services) > 0 {
		vols = scheduler.VolumesMountedBy(vols, cs, services)
	}
	return writeVolumes(cmd.OutOrStdout(), vols, opts)
}
