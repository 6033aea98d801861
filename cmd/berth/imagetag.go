package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berth/berth/scheduler"
)

func newImageTagCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
		Short: "Give an image another name",
		Long: `Make TARGET a name of the image SOURCE names (a name or an image ID), as
docker tag does: to push it to a registry, name it REGISTRY/NAME[:TAG].`,
		Example: `  berth image tag my-app 127.0.0.1:5000/my-app:1.0`,
		Args:    exactArgs(2, "SOURCE and TARGET", "the image and its new name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			rt, err := g.connect(ctx, scheduler.Discard)
			if err != nil {
				return err
			}
			defer rt.Close()
			if err := rt.TagImage(ctx, args[0], args[1]); err != nil {
				return fmt.Errorf("image tag: %w", err)
			}
			return nil
		},
	}
}
