package main

import (
	"github.com/spf13/cobra"

	"github.com/berth/berth/fscopy"
	"github.com/berth/berth/scheduler"
)

type cpOptions struct {
	index      int
	archive    bool
	followLink bool
}

func newCpCmd(g *globalOptions) *cobra.Command {
	opts := cpOptions{}
	cmd := &cobra.Command{
		Use: `cp [OPTIONS] SERVICE:SRC_PATH DEST_PATH|-
  berth cp [OPTIONS] SRC_PATH|- SERVICE:DEST_PATH`,
		Short: "Copy files between a service container and the host",
		Long: `Copy a file or directory between a service's container (the replica
--index names) and the host, as docker compose cp does. Paths in the
container are taken from its /. An argument starting with / or . is a host
path: write ./a:b for a host file whose name holds a colon.

  SRC is a file:       DEST is made, or replaced if it is a file; if DEST is
                       an existing directory, the file goes into it. A DEST
                       ending in / must be an existing directory.
  SRC is a directory:  if DEST is an existing directory, SRC is copied into
                       it; otherwise DEST is made, with SRC's contents. A SRC
                       ending in /. copies only its contents in both cases.
  - as DEST            writes a tar stream of SRC to standard output.
  - as SRC             extracts a tar stream read from standard input into
                       DEST, which must be an existing directory.

DEST's parent directory must exist. Symlinks in a container path are
followed inside the container, never out of it to the host; a symlink
given as SRC is copied as a symlink unless -L. Modes and times are kept;
files copied into the container belong to root, those copied out to the
user running berth, unless -a keeps the source's uid and gid. The contents
of /proc, /sys and other kernel filesystems are not copied.

In a running (or paused) container berth works in the container's own view
of its files: named volumes, bind mounts and tmpfs are seen as the
container sees them. In a created or exited container it works on the
container's filesystem (its image and its changes) with no volume, bind
mount or tmpfs mounted: what is copied to such a path lands in the
container's own layer, hidden by the mount once the container runs.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCp(cmd, g, opts, args[0], args[1])
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.index, "index", 1, "Which replica of the service (from 1)")
	f.BoolVarP(&opts.archive, "archive", "a", false, "Archive mode: keep the source's uid and gid")
	f.BoolVarP(&opts.followLink, "follow-link", "L", false, "Follow a symlink given as SRC_PATH (copy what it points to)")
	return cmd
}

func runCp(cmd *cobra.Command, g *globalOptions, opts cpOptions, src, dst string) error {
	req, err := fscopy.ParseArgs(src, dst)
	if err != nil {
		return err
	}
	req.Archive, req.FollowLink = opts.archive, opts.followLink
	ctx := cmd.Context()
	p, rt, err := g.loadAndConnect(ctx)
	if err != nil {
		return err
	}
	defer rt.Close()
	c, err := scheduler.ServiceReplica(ctx, rt, p, req.Service, opts.index)
	if err != nil {
		return err
	}
	return rt.WithRoot(ctx, c, func(root string) error {
		return fscopy.Copy(req, root, cmd.InOrStdin(), cmd.OutOrStdout())
	})
}
