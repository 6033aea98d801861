package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/berth/berth/scheduler"
)

type imagePruneOptions struct {
	all   bool
	force bool
}

func newImagePruneCmd(g *globalOptions) *cobra.Command {
	opts := imagePruneOptions{}
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove dangling images (with -a, every image no container uses)",
		Long: `Remove the dangling images (those with no name: built without -t, or whose
name went to another image), or with -a every image no container was made
from. It asks first unless -f (or -y) is given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runImagePrune(cmd, g, opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.all, "all", "a", false, "Remove every image no container was made from, not only dangling ones")
	cmd.Flags().BoolVarP(&opts.force, "force", "f", false, "Do not ask for confirmation")
	return cmd
}

func runImagePrune(cmd *cobra.Command, g *globalOptions, opts imagePruneOptions) error {
	if !opts.force && !g.assumeYes {
		what := "all dangling images"
		if opts.all {
			what = "all images without at least one container associated to them"
		}
		if !term.IsTerminal(int(os.Stdin.Fd())) {
			return errors.New("image prune: it asks before removing " + what + ", and standard input is no terminal: pass -f")
		}
		ok, err := askYesNo(os.Stderr, os.Stdin, "WARNING! This will remove "+what+".\nAre you sure you want to continue?")
		if err != nil || !ok {
			return err
		}
	}
	ctx := cmd.Context()
	rt, err := g.connect(ctx, scheduler.Discard)
	if err != nil {
		return err
	}
	defer rt.Close()
	removed, err := rt.PruneImages(ctx, opts.all)
	out := cmd.OutOrStdout()
	var freed int64
	if len(removed) > 0 {
		fmt.Fprintln(out, "Deleted Images:")
	}
	for _, rm := range removed {
		for _, u := range rm.Untagged {
			fmt.Fprintf(out, "untagged: %s\n", u)
		}
		if rm.Deleted != "" {
			fmt.Fprintf(out, "deleted: %s\n", rm.Deleted)
			freed += rm.Size
		}
	}
	if len(removed) > 0 {
		fmt.Fprintln(out)
	}
	fmt.Fprintf(out, "Total reclaimed space: %s\n", units.HumanSize(float64(freed)))
	return err
}
