package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/berth/berth/imageview"
)

type imageLsOptions struct {
	all    bool
	format string
	quiet  bool
	tree   bool
}

func newImageLsCmd(g *globalOptions) *cobra.Command {
	opts := imageLsOptions{}
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS] [REPOSITORY[:TAG]]",
		Aliases: []string{"list"},
		Short:   "List local images",
		Long: `List the local images, newest first, with docker's columns. REPOSITORY
(busybox, registry.local:5000/app, or a pattern such as "team/*") lists only
the images of that repository, and of that tag when one is given.

--tree lists under each image the platforms it holds (a multi-platform
image pulled for linux/arm64 and this host's shows both), with each
platform's manifest digest and the size of its stored content; with
--all also the platforms its index lists whose content is not stored.`,
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
	f.BoolVarP(&opts.all, "all", "a", false, "Show all images (berth keeps no intermediate images, so this lists the same); with --tree, also platforms not stored")
	f.StringVar(&opts.format, "format", "table", "Output format: table, or json (one object per line, docker's keys)")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "Only print image IDs")
	f.BoolVar(&opts.tree, "tree", false, "List the platforms of each image under it (as docker image ls --tree)")
	return cmd
}

func runImageLs(cmd *cobra.Command, g *globalOptions, opts imageLsOptions, filter string) error {
	if opts.format != "table" && opts.format != "json" {
		return fmt.Errorf("image ls --format %q: use table or json", opts.format)
	}
	if opts.tree && (opts.quiet || opts.format != "table") {
		return fmt.Errorf("image ls --tree prints a table: drop --quiet and --format")
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
	if opts.tree {
		return writeImageTree(cmd.OutOrStdout(), imageview.Tree(shown, opts.all))
	}
	return writeImageRows(cmd.OutOrStdout(), imageview.Rows(shown, time.Now()), opts)
}

// writeImageTree prints image ls --tree: each image's line, then one line
// per platform under it ("├─ linux/amd64"), a blank line between images,
// the columns aligned across all of them.
func writeImageTree(out io.Writer, images []imageview.TreeImage) error {
	type line struct{ name, id, size, present string }
	lines := []line{{"IMAGE", "ID", "CONTENT SIZE", "PRESENT"}}
	for i, img := range images {
		if i > 0 {
			lines = append(lines, line{})
		}
		lines = append(lines, line{name: img.Name, id: img.ID, size: img.ContentSize})
		for j, p := range img.Platforms {
			branch := "├─ "
			if j == len(img.Platforms)-1 {
				branch = "└─ "
			}
			present := "yes"
			if !p.Present {
				present = "no"
			}
			lines = append(lines, line{branch + p.Platform, p.ID, p.ContentSize, present})
		}
	}
	nameW, sizeW := 0, 0
	for _, l := range lines {
		nameW = max(nameW, utf8.RuneCountInString(l.name))
		sizeW = max(sizeW, len(l.size))
	}
	for _, l := range lines {
		if l.name == "" {
			fmt.Fprintln(out)
			continue
		}
		row := fmt.Sprintf("%s%s   %-12s   %-*s   %s", l.name, strings.Repeat(" ", nameW-utf8.RuneCountInString(l.name)), l.id, sizeW, l.size, l.present)
		if _, err := fmt.Fprintln(out, strings.TrimRight(row, " ")); err != nil {
			return err
		}
	}
	return nil
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
