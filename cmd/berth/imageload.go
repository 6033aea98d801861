package main

import "github.com/spf13/cobra"

func newImageLoadCmd(g *globalOptions) *cobra.Command {
	opts := loadOptions{}
	cmd := &cobra.Command{
		Use:   "load [-i ARCHIVE]",
		Short: "Load images from a tar archive (image save, docker save, OCI)",
		Long: `Load the images of an archive written by "berth image save", "docker save"
or as an OCI layout tar. Reads standard input when -i is not given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLoad(cmd, g, opts)
		},
	}
	opts.addFlags(cmd)
	return cmd
}
