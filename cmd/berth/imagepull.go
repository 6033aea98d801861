package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berth/berth/containerd"
)

type imagePullOptions struct {
	platform string
	quiet    bool
}

func newImagePullCmd(g *globalOptions) *cobra.Command {
	opts := imagePullOptions{}
	cmd := &cobra.Command{
		Use:   "pull [OPTIONS] NAME[:TAG|@DIGEST]",
		Short: "Pull an image from a registry",
		Long: `Pull an image, for this host's platform unless --platform names another, and
unpack it. It prints the pulled digest, as docker pull does.

The image's name keeps pointing at its index: pulling another platform
later adds that platform's content to the same image. A platform that runs
here only under qemu emulation is unpacked too (its pull says so); one that
cannot run here is only stored, for save and push.`,
		Example: `  berth image pull 127.0.0.1:5000/my-app:1.0`,
		Args:    exactArgs(1, "NAME", "the image to pull"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			rt, err := g.connectImages(ctx, opts.quiet)
			if err != nil {
				return err
			}
			defer rt.Close()
			before := ""
			if found, err := rt.FindImage(ctx, args[0]); err == nil {
				before = found[0].Digest
			}
			if err := rt.Pull(ctx, args[0], opts.platform); err != nil {
				return err
			}
			found, err := rt.FindImage(ctx, args[0])
			if err != nil {
				return err
			}
			name, _ := containerd.NormalizeRef(args[0])
			out := cmd.OutOrStdout()
			if !opts.quiet {
				status := "Downloaded newer image for"
				if found[0].Digest == before {
					status = "Image is up to date for"
				}
				fmt.Fprintf(out, "Digest: %s\nStatus: %s %s\n", found[0].Digest, status, args[0])
			}
			fmt.Fprintln(out, name)
			return nil
		},
	}
	cmd.Flags().StringVar(&opts.platform, "platform", "", "Pull the image for this platform (os/arch[/variant]: linux/arm64, linux/arm/v7) instead of this host's")
	cmd.Flags().BoolVarP(&opts.quiet, "quiet", "q", false, "Print only the image's full name")
	return cmd
}
