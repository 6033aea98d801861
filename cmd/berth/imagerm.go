package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berth/berth/scheduler"
)

type imageRmOptions struct {
	force bool
}

func newImageRmCmd(g *globalOptions) *cobra.Command {
	opts := imageRmOptions{}
	cmd := &cobra.Command{
		Use:     "rm [OPTIONS] IMAGE...",
		Aliases: []string{"remove", "rmi"},
		Short:   "Remove images",
		Long: `Remove each named image, as docker image rm does: a name is untagged, and
the image deleted with its last name. An image ID removes all its names
(with -f when it has several). An image a container was made from is kept,
and the error names the container; -f removes it anyway when the container
is not running.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			rt, err := g.connect(ctx, scheduler.Discard)
			if err != nil {
				return err
			}
			defer rt.Close()
			var errs []error
			out := cmd.OutOrStdout()
			for _, ref := range args {
				rm, err := rt.RemoveImageRef(ctx, ref, opts.force)
				for _, u := range rm.Untagged {
					fmt.Fprintf(out, "Untagged: %s\n", u)
				}
				if rm.Deleted != "" {
					fmt.Fprintf(out, "Deleted: %s\n", rm.Deleted)
				}
				if err != nil {
					errs = append(errs, fmt.Errorf("image rm: %w", err))
				}
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().BoolVarP(&opts.force, "force", "f", false, "Remove an image that a stopped container was made from, and every name of an image given by ID")
	return cmd
}
