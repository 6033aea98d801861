package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

type imagePushOptions struct {
	quiet bool
}

func newImagePushCmd(g *globalOptions) *cobra.Command {
	opts := imagePushOptions{}
	cmd := &cobra.Command{
		Use:   "push [OPTIONS] NAME[:TAG]",
		Short: "Push an image to its registry",
		Long: `Push a local image to the registry its name starts with (docker.io when
it names none). A multi-platform image is pushed as its index with every
platform stored here (its progress line names them); when some platform of
the index is not stored, a new index of those that are is pushed. Registries on loopback are
reached over plain HTTP; others with --insecure-registry. Credentials come
from $DOCKER_CONFIG/config.json or ~/.docker/config.json.`,
		Example: `  berth image push 127.0.0.1:5000/my-app:1.0`,
		Args:    exactArgs(1, "NAME", "the image to push"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			rt, err := g.connectImages(ctx, opts.quiet)
			if err != nil {
				return err
			}
			defer rt.Close()
			digest, err := rt.Push(ctx, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: digest: %s\n", args[0], digest)
			return nil
		},
	}
	cmd.Flags().BoolVarP(&opts.quiet, "quiet", "q", false, "Print no progress")
	return cmd
}
