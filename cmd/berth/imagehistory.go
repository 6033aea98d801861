package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth/berth/imageview"
	"github.com/berth/berth/scheduler"
)

type imageHistoryOptions struct {
	noTrunc bool
	quiet   bool
	format  string
}

func newImageHistoryCmd(g *globalOptions) *cobra.Command {
	opts := imageHistoryOptions{}
	cmd := &cobra.Command{
		Use:   "history [OPTIONS] IMAGE",
		Short: "Show how an image was built, step by step",
		Long: `Show the steps an image was made with, newest first, from its config's
history, with docker's columns. The newest step carries the image's ID; the
others show <missing> (berth keeps no intermediate images).`,
		Args: exactArgs(1, "IMAGE", "the image whose history to show"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runImageHistory(cmd, g, opts, args[0])
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.noTrunc, "no-trunc", false, "Show the steps and the ID in full")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "Only print the IDs")
	f.StringVar(&opts.format, "format", "table", "Output format: table, or json (one object per line)")
	return cmd
}

func runImageHistory(cmd *cobra.Command, g *globalOptions, opts imageHistoryOptions, ref string) error {
	if opts.format != "table" && opts.format != "json" {
		return fmt.Errorf("image history --format %q: use table or json", opts.format)
	}
	ctx := cmd.Context()
	rt, err := g.connect(ctx, scheduler.Discard)
	if err != nil {
		return err
	}
	defer rt.Close()
	found, err := rt.FindImage(ctx, ref)
	if err != nil {
		return fmt.Errorf("image history: %w", err)
	}
	rows := imageview.History(found[0], time.Now(), !opts.noTrunc)
	out := cmd.OutOrStdout()
	switch {
	case opts.quiet:
		for _, r := range rows {
			fmt.Fprintln(out, r.ID)
		}
	case opts.format == "json":
		enc := json.NewEncoder(out)
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
	default:
		tw := tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)
		fmt.Fprintln(tw, "IMAGE\tCREATED\tCREATED BY\tSIZE\tCOMMENT")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.CreatedSince, r.CreatedBy, r.Size, r.Comment)
		}
		return tw.Flush()
	}
	return nil
}
