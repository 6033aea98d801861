package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth/berth/imageview"
)

type imageLsOptions struct {
	all    bool
	format string
	quiet  bool
}

func newImageLsCmd(g *globalOptions) *cobra.Command {
	opts := imageLsOptions{}
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS] [REPOSITORY[:TAG]]",
		Aliases: []string{"list"},
		Short:   "List local images",
		Long: `List the local images, newest first, with docker's columns. REPOSITORY
(busybox, registry.local:5000/app, or a pattern such as "team/*") lists only
the images of that repository, and of that tag when one is given.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			filter := ""
			if len(args) == 1 {
				filter = args[0]
			}
			return runImageLs(cmd, g, opts, filter)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.all, "all", "a", false, "Show all images (berth keeps no intermediate images, so this lists the same)")
	f.StringVar(&opts.format, "format", "table", "Output format: table, or json (one object per line, docker's keys)")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "Only print image IDs")
	return cmd
}

func runImageLs(cmd *cobra.Command, g *globalOptions, opts imageLsOptions, filter string) error {
	if opts.format != "table" && opts.format != "json" {
		return fmt.Errorf("image ls --format %q: use table or json", opts.format)
	}
	f, err := imageview.ParseFilter(filter)
	if err != nil {
		return err
	}
	all, err := g.localImages(cmd.Context())
	if err != nil {
		return err
	}
	var shown []imageview.Image
	for _, img := range all {
		if f.Match(img) {
			shown = append(shown, img)
		}
	}
	return writeImageRows(cmd.OutOrStdout(), imageview.Rows(shown, time.Now()), opts)
}

// writeImageRows prints image ls's rows as its flags ask.
func writeImageRows(out io.Writer, rows []imageview.Row, opts imageLsOptions) error {
	switch {
	case opts.quiet:
		seen := map[string]bool{}
		for _, r := range rows {
			if !seen[r.ID] {
				seen[r.ID] = true
				fmt.Fprintln(out, r.ID)
			}
		}
		return nil
	case opts.format == "json":
		enc := json.NewEncoder(out)
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)
	fmt.Fprintln(tw, "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Repository, r.Tag, r.ID, r.CreatedSince, r.Size)
	}
	return tw.Flush()
}
