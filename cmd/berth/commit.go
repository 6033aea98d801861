package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berth/berth/containerd"
	"github.com/berth/berth/scheduler"
)

type commitOptions struct {
	author  string
	message string
	changes []string
	pause   bool
	index   int
}

func newCommitCmd(g *globalOptions) *cobra.Command {
	opts := commitOptions{}
	cmd := &cobra.Command{
		Use:   "commit [OPTIONS] SERVICE REPOSITORY[:TAG]",
		Short: "Create a new image from a service container's changes",
		Long: `Make an image of a service's container (the replica --index names), as
"docker commit" does: the container's image with one more layer holding
what changed in the container's filesystem, and its config changed by the
Dockerfile instructions of -c (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL,
ONBUILD, USER, VOLUME, WORKDIR, STOPSIGNAL, HEALTHCHECK, SHELL).
Volumes, bind mounts and tmpfs are not part of it, nor /.berth, where
berth mounts its healthcheck probe agent. A running container
is paused while its changes are read unless --pause=false.

berth keeps no unnamed images: give the new image's name. It works from
-p NAME alone, with no compose file.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return errors.New("commit: give the new image's name: berth commit SERVICE REPOSITORY[:TAG] (berth keeps no unnamed images)")
			}
			return runCommit(cmd, g, opts, args[0], args[1])
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.author, "author", "a", "", `Author (e.g. "John Hannibal Smith <hannibal@a-team.com>")`)
	f.StringVarP(&opts.message, "message", "m", "", "Commit message")
	f.StringArrayVarP(&opts.changes, "change", "c", nil, `Apply a Dockerfile instruction to the image (repeatable), e.g. -c "ENV DEBUG=true"`)
	f.BoolVarP(&opts.pause, "pause", "p", true, "Pause the container while its changes are read")
	f.IntVar(&opts.index, "index", 1, "Which replica of the service (from 1)")
	return cmd
}

func runCommit(cmd *cobra.Command, g *globalOptions, opts commitOptions, service, image string) error {
	if _, err := containerd.NormalizeRef(image); err != nil {
		return err
	}
	if opts.index < 1 {
		return fmt.Errorf("commit --index %d: give a replica number from 1", opts.index)
	}
	// Checked before the container is looked for, or paused.
	if err := containerd.CheckChanges(opts.changes); err != nil {
		return err
	}
	ctx := cmd.Context()
	p, err := g.projectOrName(ctx)
	if err != nil {
		return err
	}
	rt, progress, err := g.connectWithProgress(ctx)
	if err != nil {
		return err
	}
	defer rt.Close()
	c, err := scheduler.ServiceReplica(ctx, rt, p, service, opts.index)
	if err != nil {
		return err
	}
	progress.Emit(scheduler.Event{Kind: scheduler.KindContainer, Name: c.Name, Status: scheduler.StatusWorking, Text: "Committing"})
	id, err := rt.Commit(ctx, c, containerd.CommitRequest{
		Image: image, Author: opts.author, Message: opts.message, Changes: opts.changes, Pause: opts.pause,
	})
	if err != nil {
		progress.Emit(scheduler.Event{Kind: scheduler.KindContainer, Name: c.Name, Status: scheduler.StatusError, Text: "Error"})
		return err
	}
	progress.Emit(scheduler.Event{Kind: scheduler.KindContainer, Name: c.Name, Status: scheduler.StatusDone, Text: "Committed as " + id})
	return nil
}
