package main

import "github.com/spf13/cobra"

func newImageSaveCmd(g *globalOptions) *cobra.Command {
	opts := saveOptions{}
	cmd := &cobra.Command{
		Use:   "save -o FILE IMAGE...",
		Short: "Write images to a tar archive that image load reads",
		Long: `Write local images to one archive (an OCI layout with docker's
manifest.json, so that docker load reads it too): carry it to another
machine and "berth image load -i FILE" it there. The archive holds every
platform of the images that is stored here, or with --platform only that
one (docker's flag).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSave(cmd, g, opts, args)
		},
	}
	addSaveFlags(cmd, &opts)
	return cmd
}
