package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/berth/berth/bundle"
)

type bundleInspectOptions struct {
	format string
}

func newBundleInspectCmd() *cobra.Command {
	opts := bundleInspectOptions{}
	cmd := &cobra.Command{
		Use:   "inspect [--format table|json] FILE",
		Short: "List a bundle's project, services, images, platforms and sizes",
		Long: `Check a bundle (every blob against its digest) and list what it holds: its
project and platform, its services and their images (digest, platform,
size), the secrets the box must provide, and for an update the bundle it
was made against. Needs no containerd.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBundleInspect(cmd, opts, args[0])
		},
	}
	cmd.Flags().StringVar(&opts.format, "format", "table", "Output format: table or json")
	return cmd
}

// bundleInspectJSON is what inspect --format json prints.
type bundleInspectJSON struct {
	ID        string           `json:"id"`
	Size      int64            `json:"size"`
	TotalSize int64            `json:"totalSize"`
	Project   string           `json:"project"`
	Platform  string           `json:"platform"`
	Services  []bundle.Service `json:"services"`
	Images    []bundle.Image   `json:"images"`
	Secrets   []bundle.Secret  `json:"secrets"`
	Base      *bundle.Base     `json:"base,omitempty"`
}

func runBundleInspect(cmd *cobra.Command, opts bundleInspectOptions, file string) error {
	if opts.format != "table" && opts.format != "json" {
		return fmt.Errorf("bundle inspect --format %q: use table or json", opts.format)
	}
	b, err := readBundle(file)
	if err != nil {
		return fmt.Errorf("bundle inspect %w", err)
	}
	m := b.Manifest
	out := cmd.OutOrStdout()
	if opts.format == "json" {
		v := bundleInspectJSON{ID: b.ID, Size: b.Size, TotalSize: m.TotalSize(), Project: m.Project, Platform: m.Platform,
			Services: m.Services, Images: m.Images, Secrets: m.Secrets, Base: m.Base}
		if v.Secrets == nil {
			v.Secrets = []bundle.Secret{}
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	fmt.Fprintf(out, "Bundle:   %s (%s, %s)\n", file, b.ID, units.HumanSize(float64(b.Size)))
	fmt.Fprintf(out, "Project:  %s\nPlatform: %s\n", m.Project, m.Platform)
	if m.Base != nil {
		fmt.Fprintf(out, "Update of bundle %s (%s): the box must have loaded it (%d blobs not shipped)\n", m.Base.File, m.Base.ID, len(m.Base.Blobs))
	}
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tIMAGE")
	for _, s := range m.Services {
		fmt.Fprintf(tw, "%s\t%s\n", s.Name, s.Image)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "IMAGE\tDIGEST\tPLATFORM\tSIZE")
	for _, img := range m.Images {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", img.Name, img.Digest, img.Platform, units.HumanSize(float64(img.Size)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range m.Secrets {
		if !s.Included {
			fmt.Fprintf(out, "Secret %s is not in the bundle: %s\n", s.Name, secretHint(s))
		}
	}
	fmt.Fprintf(out, "\nTotal size of the images: %s\n", units.HumanSize(float64(m.TotalSize())))
	return nil
}
