package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/berth/berth/containerd"
	"github.com/berth/berth/imageview"
	"github.com/berth/berth/scheduler"
)

// newImageCmd is `berth image`: docker's image commands, for images
// without a compose file. The top-level build, images, push, pull, rm,
// save and load stay compose's, as in docker compose.
func newImageCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image COMMAND",
		Short: "Manage images as the docker CLI does: build, ls, tag, push, pull, rm, inspect …",
		Long: `Build, list, name, move and remove images without a compose file, with the
docker CLI's commands and flags (docker image build, docker image ls …). The
images are the ones compose services use: same store, same build cache.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return unknownCommand(cmd, args[0])
			}
			return cmd.Help()
		},
	}
	cmd.AddCommand(
		newImageBuildCmd(g),
		newImageLsCmd(g),
		newImageTagCmd(g),
		newImagePushCmd(g),
		newImagePullCmd(g),
		newImageRmCmd(g),
		newImageInspectCmd(g),
		newImageHistoryCmd(g),
		newImageSaveCmd(g),
		newImageLoadCmd(g),
		newImagePruneCmd(g),
	)
	return cmd
}

// connectImages connects for an image command that reports progress
// (pull, push, build): with none when quiet.
func (o *globalOptions) connectImages(ctx context.Context, quiet bool) (*containerd.Client, error) {
	if quiet {
		o.progress = "quiet"
	}
	rt, _, err := o.connectWithProgress(ctx)
	return rt, err
}

// localImages lists the local images (see containerd.Client.LocalImages)
// for the commands that only read them.
func (o *globalOptions) localImages(ctx context.Context) ([]imageview.Image, error) {
	rt, err := o.connect(ctx, scheduler.Discard)
	if err != nil {
		return nil, err
	}
	defer rt.Close()
	return rt.LocalImages(ctx)
}
