package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/berth/berth/fscopy"
	"github.com/berth/berth/scheduler"
)

type cpOptions struct {
	all        bool
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
		Long: `Copy a file or directory between a service's containers and the host, as
docker compose cp does: into every replica of the service, or out of its
first one, unless --index names one. A service that has only one-off
containers (berth run -d) is copied into and out of those. Paths in the container are taken from
its /. An argument starting with / or . is a host path: write ./a:b for a
host file whose name holds a colon.

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
	f.IntVar(&opts.index, "index", 0, "Only this replica of the service (from 1); default: every replica when copying into the service, the first when copying out")
	f.BoolVar(&opts.all, "all", false, "Also copy into the service's one-off containers (berth run), as docker compose's deprecated --all")
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
	if opts.index < 0 {
		return fmt.Errorf("cp --index %d: give a replica number from 1", opts.index)
	}
	// A source missing on the host is named before any container is looked for.
	if req.ToContainer && req.HostPath != "-" {
		if _, err := os.Lstat(req.HostPath); os.IsNotExist(err) {
			return fmt.Errorf("cp: %s: no such file or directory on the host", req.HostPath)
		}
	}
	ctx := cmd.Context()
	p, rt, err := g.serviceProjectBy(ctx, []string{req.Service}, scheduler.ProjectWithOneOffs)
	if err != nil {
		return err
	}
	defer rt.Close()
	var targets []scheduler.Container
	if opts.index > 0 {
		c, err := scheduler.ServiceReplica(ctx, rt, p, req.Service, opts.index)
		if err != nil {
			return err
		}
		targets = []scheduler.Container{c}
	} else {
		if targets, err = scheduler.ServiceReplicas(ctx, rt, p, req.Service, opts.all); err != nil {
			return err
		}
		if !req.ToContainer {
			targets = targets[:1]
		}
	}
	stdin := cmd.InOrStdin()
	var spooled *os.File
	if req.HostPath == "-" && len(targets) > 1 {
		// Every replica gets the same tar stream: keep it to read again.
		if spooled, err = spool(stdin); err != nil {
			return err
		}
		defer spooled.Close()
		stdin = spooled
	}
	for _, c := range targets {
		if spooled != nil {
			if _, err := spooled.Seek(0, io.SeekStart); err != nil {
				return fmt.Errorf("cp: %w", err)
			}
		}
		err := rt.WithRoot(ctx, c, func(root string) error {
			return fscopy.Copy(req, root, stdin, cmd.OutOrStdout())
		})
		if err != nil {
			if len(targets) > 1 {
				return fmt.Errorf("container %s: %w", c.Name, err)
			}
			return err
		}
	}
	return nil
}

// spool copies r to an unlinked temporary file, to read it more than once.
func spool(r io.Reader) (*os.File, error) {
	f, err := os.CreateTemp("", "berth-cp-*.tar")
	if err != nil {
		return nil, fmt.Errorf("cp: keep standard input: %w", err)
	}
	os.Remove(f.Name())
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return nil, fmt.Errorf("cp: read standard input: %w", err)
	}
	return f, nil
}
