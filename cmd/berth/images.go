package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/berth/berth/containerd"
	"github.com/berth/berth/scheduler"
)

type imagesOptions struct {
	format string
	quiet  bool
}

func newImagesCmd(g *globalOptions) *cobra.Command {
	opts := imagesOptions{}
	cmd := &cobra.Command{
		Use:   "images [OPTIONS] [SERVICE...]",
		Short: "List the images used by the project's containers",
		Long: "List the images used by the project's containers, one line per container, as docker compose does:\n" +
			"CONTAINER, REPOSITORY (the short name: nginx, not docker.io/library/nginx), TAG, PLATFORM, IMAGE ID,\n" +
			"SIZE and CREATED (when the image was stored locally). Works with -p NAME alone, from the containers' labels.",
		RunE: func(cmd *cobra.Command, args []string) error {
			return runImages(cmd, g, opts, args)
		},
	}
	cmd.Flags().StringVar(&opts.format, "format", "table", "Output format: table or json")
	cmd.Flags().BoolVarP(&opts.quiet, "quiet", "q", false, "Only print image IDs")
	return cmd
}

// imageRow is one container's image. Its JSON keys are docker compose's.
type imageRow struct {
	ID            string    `json:"ID"`
	ContainerName string    `json:"ContainerName"`
	Repository    string    `json:"Repository"`
	Tag           string    `json:"Tag"`
	Platform      string    `json:"Platform"`
	Size          int64     `json:"Size"`
	LastTagTime   time.Time `json:"LastTagTime"`
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
	cs, err := rt.Containers(ctx, p.Name)
	if err != nil {
		return err
	}
	local, err := rt.Images(ctx)
	if err != nil {
		return err
	}
	// The platform of an image that does not say (none is stored) is
	// this host's.
	rows := imageRows(cs, local, services, platforms.Format(platforms.DefaultSpec()))
	return printImages(cmd.OutOrStdout(), rows, opts, time.Now())
}

// imageRows lists the images of the containers (of the services, when
// some are named) that are present locally, sorted by container name;
// platform is the one of an image that names none.
func imageRows(cs []scheduler.Container, local []containerd.ImageSummary, services []string, platform string) []imageRow {
	byName := map[string]containerd.ImageSummary{}
	for _, img := range local {
		byName[img.Name] = img
	}
	rows := []imageRow{}
	for _, c := range cs {
		if len(services) > 0 && !contains(services, c.Labels.Service()) {
			continue
		}
		name := c.Image
		if full, err := containerd.NormalizeRef(c.Image); err == nil {
			name = full
		}
		img, ok := byName[name]
		if !ok {
			continue
		}
		row := imageRow{ID: img.Digest, ContainerName: c.Name, Platform: img.Platform, Size: img.Size, LastTagTime: img.Created}
		if row.Platform == "" {
			row.Platform = platform
		}
		if ref, err := reference.ParseDockerRef(c.Image); err == nil {
			row.Repository = reference.FamiliarName(ref)
			if t, ok := ref.(reference.Tagged); ok {
				row.Tag = t.Tag()
			}
		}
		rows = append(rows, row)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].ContainerName < rows[j].ContainerName })
	return rows
}

// printImages prints the rows as docker compose images does; now dates the
// CREATED column.
func printImages(out io.Writer, rows []imageRow, opts imagesOptions, now time.Time) error {
	switch {
	case opts.quiet:
		seen := map[string]bool{}
		for _, r := range rows {
			id := strings.TrimPrefix(r.ID, "sha256:")
			if !seen[id] {
				seen[id] = true
				fmt.Fprintln(out, id)
			}
		}
		return nil
	case opts.format == "json":
		return json.NewEncoder(out).Encode(rows)
	}
	tw := tabwriter.NewWriter(out, 20, 1, 3, ' ', 0)
	fmt.Fprintln(tw, "CONTAINER\tREPOSITORY\tTAG\tPLATFORM\tIMAGE ID\tSIZE\tCREATED")
	for _, r := range rows {
		repo, tag := orNone(r.Repository), orNone(r.Tag)
		id := strings.TrimPrefix(r.ID, "sha256:")
		if len(id) > 12 {
			id = id[:12]
		}
		created := units.HumanDuration(now.UTC().Sub(r.LastTagTime)) + " ago"
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ContainerName, repo, tag, r.Platform, id,
			units.HumanSizeWithPrecision(float64(r.Size), 3), created)
	}
	return tw.Flush()
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
