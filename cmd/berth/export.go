package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berth/berth/containerd"
	"github.com/berth/berth/fscopy"
	"github.com/berth/berth/scheduler"
)

type exportOptions struct {
	output string
	index  int
}

func newExportCmd(g *globalOptions) *cobra.Command {
	opts := exportOptions{}
	cmd := &cobra.Command{
		Use:   "export [OPTIONS] SERVICE",
		Short: "Export a service container's filesystem as a tar archive",
		Long: `Write the filesystem of a service's container (the replica --index names),
running or not, as a tar archive: its image with the changes made in the
container, as "docker export" does. Volumes, bind mounts and tmpfs are not
part of it, nor /.berth, where berth mounts its healthcheck probe agent. The archive goes to the file -o names, else to standard
output (which must not be a terminal). It works from -p NAME alone, with
no compose file.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExport(cmd, g, opts, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.output, "output", "o", "", "Write to this file instead of standard output")
	f.IntVar(&opts.index, "index", 1, "Which replica of the service (from 1)")
	return cmd
}

func runExport(cmd *cobra.Command, g *globalOptions, opts exportOptions, service string) (retErr error) {
	if opts.output == "" && isTerminal(cmd.OutOrStdout()) {
		return errors.New("export: refusing to write a tar archive to a terminal: give -o FILE or redirect standard output")
	}
	if opts.index < 1 {
		return fmt.Errorf("export --index %d: give a replica number from 1", opts.index)
	}
	if err := checkOutputDir("export", opts.output); err != nil {
		return err
	}
	ctx := cmd.Context()
	p, err := g.projectOrName(ctx)
	if err != nil {
		return err
	}
	rt, err := g.connect(ctx, scheduler.Discard)
	if err != nil {
		return err
	}
	defer rt.Close()
	c, err := scheduler.ServiceReplica(ctx, rt, p, service, opts.index)
	if err != nil {
		return err
	}
	var w io.Writer = cmd.OutOrStdout()
	var tmp *os.File
	if opts.output != "" {
		// Written next to the target and renamed, so that a failed export
		// leaves no half archive behind.
		tmp, err = os.CreateTemp(filepath.Dir(opts.output), ".berth-export-*")
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		defer func() {
			if retErr != nil {
				tmp.Close()
				os.Remove(tmp.Name())
			}
		}()
		w = tmp
	}
	// berth's own mount points (the probe agent's) are not the container's.
	reserved := strings.TrimPrefix(containerd.ReservedDir, "/")
	if err := rt.WithFilesystem(ctx, c, func(root string) error { return fscopy.Export(root, w, reserved) }); err != nil {
		return fmt.Errorf("export %s (container %s): %w", service, c.Name, err)
	}
	if tmp == nil {
		return nil
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := os.Rename(tmp.Name(), opts.output); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// checkOutputDir fails when the directory -o FILE is to be written in is
// not there, before anything is asked of containerd: the error names the
// flag and what to do, not a temporary file's name.
func checkOutputDir(command, output string) error {
	if output == "" {
		return nil
	}
	dir := filepath.Dir(output)
	st, err := os.Stat(dir)
	switch {
	case os.IsNotExist(err):
		return fmt.Errorf("%s -o %s: directory %s does not exist: create it first", command, output, dir)
	case err != nil:
		return fmt.Errorf("%s -o %s: %w", command, output, err)
	case !st.IsDir():
		return fmt.Errorf("%s -o %s: %s is not a directory", command, output, dir)
	}
	return nil
}
