package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/berth/berth/containerd"
)

type imagesOptions struct {
	format string
	quiet  bool
}

func newImagesCmd(g *globalOptions) *cobra.Command {
	opts := imagesOptions{}
	cmd := &cobra.Command{
		Use:   "images [OPTIONS] [SERVICE...]",
		Short: "List the images of the project's services that are present",
		RunE: func(cmd *cobra.Command, args []string) error {
			return runImages(cmd, g, opts, args)
		},
	}
	cmd.Flags().StringVar(&opts.format, "format", "table", "Output format: table or json")
	cmd.Flags().BoolVarP(&opts.quiet, "quiet", "q", false, "Only print image IDs")
	return cmd
}

type imageRow struct {
	Service    string `json:"Service"`
	Repository string `json:"Repository"`
	Tag        string `json:"Tag"`
	ID         string `json:"ID"`
	Size       int64  `json:"Size"`
}

func runImages(cmd *cobra.Command, g *globalOptions, opts imagesOptions, services []string) error {
	if opts.format != "table" && opts.format != "json" {
		return fmt.Errorf("images --format %q: use table or json", opts.format)
	}
	ctx := cmd.Context()
	p, rt, err := g.serviceProject(ctx, services)
	if err != nil {
		return err
	}
	defer rt.Close()
	local, err := rt.Images(ctx)
	if err != nil {
		return err
	}
	byName := map[string]containerd.ImageSummary{}
	for _, img := range local {
		byName[img.Name] = img
	}
	rows := []imageRow{}
	for _, s := range p.Services {
		if len(services) > 0 && !contains(services, s.Name) {
			continue
		}
		ref, err := containerd.NormalizeRef(s.ImageName())
		if err != nil {
			return fmt.Errorf("service %q: %w", s.Name, err)
		}
		img, ok := byName[ref]
		if !ok {
			continue
		}
		repo, tag := ref, ""
		if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
			repo, tag = ref[:i], ref[i+1:]
		}
		rows = append(rows, imageRow{Service: s.Name, Repository: repo, Tag: tag, ID: strings.TrimPrefix(img.Digest, "sha256:")[:12], Size: img.Size})
	}
	out := cmd.OutOrStdout()
	switch {
	case opts.quiet:
		for _, r := range rows {
			fmt.Fprintln(out, r.ID)
		}
	case opts.format == "json":
		return json.NewEncoder(out).Encode(rows)
	default:
		tw := tabwriter.NewWriter(out, 0, 4, 3, ' ', 0)
		fmt.Fprintln(tw, "SERVICE\tREPOSITORY\tTAG\tIMAGE ID\tSIZE")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Service, r.Repository, r.Tag, r.ID, units.HumanSize(float64(r.Size)))
		}
		return tw.Flush()
	}
	return nil
}
