package main

import (
	"github.com/spf13/cobra"

	"github.com/berth/berth/fscopy"
)

type containerCpOptions struct {
	archive, followLink bool
}

func newContainerCpCmd(g *globalOptions) *cobra.Command {
	opts := containerCpOptions{}
	cmd := &cobra.Command{
		Use: `cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-
  berth container cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH`,
		Short: "Copy files between a container and the host",
		Long: `Copy a file or directory between a container (by name or ID) and the host,
as docker cp does; the rules are berth cp's (see berth cp --help): - as
DEST writes a tar stream, - as SRC reads one; an argument starting with /
or . is a host path.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runContainerCp(cmd, g, opts, args[0], args[1])
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.archive, "archive", "a", false, "Archive mode: keep the source's uid and gid")
	f.BoolVarP(&opts.followLink, "follow-link", "L", false, "Always follow a symlink given as SRC_PATH")
	return cmd
}

func runContainerCp(cmd *cobra.Command, g *globalOptions, opts containerCpOptions, src, dst string) error {
	req, err := fscopy.ParseArgs(src, dst)
	if err != nil {
		return err
	}
	req.Archive, req.FollowLink = opts.archive, opts.followLink
	ctx := cmd.Context()
	rt, c, err := g.connectAndFind(ctx, req.Service)
	if err != nil {
		return err
	}
	defer rt.Close()
	return rt.WithRoot(ctx, c, func(root string) error {
		return fscopy.Copy(req, root, cmd.InOrStdin(), cmd.OutOrStdout())
	})
}
