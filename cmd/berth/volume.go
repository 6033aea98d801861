package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/scheduler"
)

func newVolumeCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "volume",
		Short: "Manage the project's named volumes",
		Long: `List, inspect and remove the project's named volumes: the directories berth
keeps under its data directory (/var/lib/berth/volumes/<project>_<key>/_data
by default), created by up when a service first mounts them.

A volume is named by its key in the compose file ("data") or by its full
name ("demo_data"). The project's volumes are those its compose file
declares (not external ones), and those labelled with its name; volumes an
older berth made carry no labels and count when their name starts with
"<project>_".`,
	}
	cmd.AddCommand(newVolumeLsCmd(g), newVolumeInspectCmd(g), newVolumeRmCmd(g))
	return cmd
}

type volumeLsOptions struct {
	format string
	quiet  bool
}

func newVolumeLsCmd(g *globalOptions) *cobra.Command {
	opts := volumeLsOptions{}
	cmd := &cobra.Command{
		Use:   "ls [OPTIONS]",
		Short: "List the project's named volumes",
		Long: `List the project's named volumes that exist, as docker volume ls does:
DRIVER and VOLUME NAME. --format json prints one JSON object per volume
and line, with docker volume inspect's fields; -q only the names.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runVolumeLs(cmd, g, opts)
		},
	}
	cmd.Flags().StringVar(&opts.format, "format", "table", "Output format: table or json")
	cmd.Flags().BoolVarP(&opts.quiet, "quiet", "q", false, "Only print volume names")
	return cmd
}

func newVolumeInspectCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "inspect VOLUME...",
		Short: "Show the details of the project's named volumes",
		Long: `Print a JSON array with one object per volume, as docker volume inspect
does: Name, Driver, Mountpoint (where its content is on the host), Labels,
Scope and CreatedAt. A name of no volume of the project is an error, and
nothing is printed then.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVolumeInspect(cmd, g, args)
		},
	}
}

type volumeRmOptions struct {
	force bool
}

func newVolumeRmCmd(g *globalOptions) *cobra.Command {
	opts := volumeRmOptions{}
	cmd := &cobra.Command{
		Use:   "rm [OPTIONS] VOLUME...",
		Short: "Remove named volumes of the project, with their content",
		Long: `Remove the project's named volumes and everything in them. A volume that a
container still mounts, of any project and even stopped, is not removed:
remove the container first (berth rm -s SERVICE, or berth down). When any
volume named cannot be removed, none is. -f skips names of no volume, as
docker volume rm -f does; it does not remove a volume in use either.`,
		Aliases: []string{"remove"},
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVolumeRm(cmd, g, opts, args)
		},
	}
	cmd.Flags().BoolVarP(&opts.force, "force", "f", false, "Skip names of volumes that do not exist")
	return cmd
}

// projectVolumes loads the project (or takes its name) and lists its
// volumes.
func (o *globalOptions) projectVolumes(ctx context.Context) (*compose.Project, []scheduler.Volume, error) {
	p, rt, err := o.projectClient(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	defer rt.Close()
	all, err := rt.Volumes(ctx)
	if err != nil {
		return nil, nil, err
	}
	return p, scheduler.ProjectVolumes(p, all), nil
}

func runVolumeLs(cmd *cobra.Command, g *globalOptions, opts volumeLsOptions) error {
	if opts.format != "table" && opts.format != "json" {
		return fmt.Errorf("volume ls --format %q: use table or json", opts.format)
	}
	_, vols, err := g.projectVolumes(cmd.Context())
	if err != nil {
		return err
	}
	return writeVolumes(cmd.OutOrStdout(), vols, opts)
}

// writeVolumes prints vols as a table, JSON lines or names (-q).
func writeVolumes(out io.Writer, vols []scheduler.Volume, opts volumeLsOptions) error {
	switch {
	case opts.quiet:
		for _, v := range vols {
			fmt.Fprintln(out, v.Name)
		}
	case opts.format == "json":
		enc := json.NewEncoder(out)
		for _, v := range vols {
			if err := enc.Encode(toVolumeJSON(v)); err != nil {
				return err
			}
		}
	default:
		tw := tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)
		fmt.Fprintln(tw, "DRIVER\tVOLUME NAME")
		for _, v := range vols {
			fmt.Fprintf(tw, "%s\t%s\n", v.Driver, v.Name)
		}
		return tw.Flush()
	}
	return nil
}

func runVolumeInspect(cmd *cobra.Command, g *globalOptions, args []string) error {
	p, vols, err := g.projectVolumes(cmd.Context())
	if err != nil {
		return err
	}
	found, err := scheduler.ResolveVolumes(p, vols, args, false)
	if err != nil {
		return err
	}
	rows := make([]volumeJSON, 0, len(found))
	for _, v := range found {
		rows = append(rows, toVolumeJSON(v))
	}
	return writeIndentedJSON(cmd.OutOrStdout(), rows)
}

func runVolumeRm(cmd *cobra.Command, g *globalOptions, opts volumeRmOptions, args []string) error {
	ctx := cmd.Context()
	p, rt, err := g.projectClient(ctx, nil)
	if err != nil {
		return err
	}
	defer rt.Close()
	lock, err := lockProject(cmd, g, p.Name)
	if err != nil {
		return err
	}
	defer endProject(ctx, lock, rt, p.Name)
	removed, err := scheduler.RemoveVolumes(ctx, rt, p, args, opts.force)
	for _, name := range removed {
		fmt.Fprintln(cmd.OutOrStdout(), name)
	}
	return err
}

// volumeJSON is a volume as docker volume inspect shows it.
type volumeJSON struct {
	CreatedAt  string            `json:"CreatedAt"`
	Driver     string            `json:"Driver"`
	Labels     map[string]string `json:"Labels"`
	Mountpoint string            `json:"Mountpoint"`
	Name       string            `json:"Name"`
	Options    map[string]string `json:"Options"`
	Scope      string            `json:"Scope"`
}

func toVolumeJSON(v scheduler.Volume) volumeJSON {
	return volumeJSON{
		CreatedAt:  v.CreatedAt.Local().Format(time.RFC3339),
		Driver:     v.Driver,
		Labels:     v.Labels,
		Mountpoint: v.Mountpoint,
		Name:       v.Name,
		Scope:      "local", // a directory on this host
	}
}

// writeIndentedJSON writes v as docker's inspect commands do.
func writeIndentedJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
