package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/scheduler"
)

type graphOptions struct {
	format string
}

func newGraphCmd(g *globalOptions) *cobra.Command {
	opts := graphOptions{}
	cmd := &cobra.Command{
		Use:   "graph [OPTIONS] [SERVICE...]",
		Short: "Print the services' dependency graph: depends_on conditions, networks, volumes",
		Long: `Print the dependency graph of the project's services (or of the named
services and what they depend on), as up walks it: depends_on with its
condition (service_started, service_healthy,
service_completed_successfully), required: false and restart: true,
network_mode "service:X" and volumes_from, and the networks and named
volumes each service uses. Profiles count as for up: a service the active
profiles do not enable is left out, and a dependency on it (required: false)
is marked "not enabled". Nothing runs and containerd is not needed.

Formats:
  text  a tree from each service nothing depends on down to its
        dependencies, the condition on each edge; a service already shown
        is "(see above)"; then the networks and volumes with their services
  dot   graphviz: berth graph --format dot | dot -Tsvg -o graph.svg
        (dashed: required: false, bold: restart: true, red: a cycle)
  json  the schema the README describes under "The dependency graph"

A dependency cycle fails as up does, with its path, but the graph is
printed first, with the cycle's edges marked ("cycle" in text, red in dot,
"in_cycle" and "cycle" in json).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGraph(cmd, g, opts, args)
		},
	}
	cmd.Flags().StringVar(&opts.format, "format", "text", "Output format: text, dot or json")
	return cmd
}

func runGraph(cmd *cobra.Command, g *globalOptions, opts graphOptions, services []string) error {
	var write func(*scheduler.GraphView, io.Writer) error
	switch opts.format {
	case "text":
		write = (*scheduler.GraphView).WriteText
	case "dot":
		write = (*scheduler.GraphView).WriteDOT
	case "json":
		write = (*scheduler.GraphView).WriteJSON
	default:
		return fmt.Errorf("graph --format %q: use text, dot or json", opts.format)
	}
	ctx := cmd.Context()
	p, loadErr := g.loadProject(ctx, services...)
	if loadErr != nil {
		// A cycle fails the load, with the message up gives. Load again
		// without the consistency check to show the graph and its cycle;
		// any other error is only reported.
		lo := g.composeOptions()
		lo.Services, lo.NoConsistency = services, true
		var err error
		if p, err = compose.Load(ctx, lo); err != nil {
			return loadErr
		}
	}
	v, err := scheduler.NewGraphView(p)
	if err != nil {
		if loadErr != nil {
			return loadErr
		}
		return err
	}
	if loadErr != nil && v.Cycle == nil {
		return loadErr
	}
	if err := write(v, cmd.OutOrStdout()); err != nil {
		return err
	}
	if loadErr != nil {
		return loadErr
	}
	return v.Err()
}
