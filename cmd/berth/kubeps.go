package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"
)

// runKubePs is ps on a cluster: the project's pods in docker compose's
// columns, or one JSON object a line with --format json; with SERVICE
// names, those services' pods (the names checked against the compose
// file, as on one machine).
func runKubePs(cmd *cobra.Command, g *globalOptions, opts psOptions, services []string) error {
	if opts.format != "table" && opts.format != "json" {
		return fmt.Errorf("ps --format %q on a cluster: use table or json", opts.format)
	}
	ctx := cmd.Context()
	project, c, err := g.kubeServiceProject(ctx, services)
	if err != nil {
		return err
	}
	now := time.Now()
	pods, err := c.PS(ctx, project, opts.all, now)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if opts.format == "json" {
		enc := json.NewEncoder(out)
		for _, pod := range pods {
			if len(services) > 0 && !slices.Contains(services, pod.Service) {
				continue
			}
			if err := enc.Encode(psEntry{
				Name: pod.Name, Names: pod.Name, Image: pod.Image, Project: project, Service: pod.Service,
				CreatedAt: pod.Created.Format("2006-01-02 15:04:05 -0700 MST"), Created: pod.Created.Unix(),
				State: pod.State, Status: pod.Status, Health: pod.Health, ExitCode: pod.ExitCode, Ports: pod.Ports,
				RunningFor: units.HumanDuration(now.Sub(pod.Created)) + " ago",
			}); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tIMAGE\tSERVICE\tCREATED\tSTATUS\tPORTS")
	for _, pod := range pods {
		if len(services) > 0 && !slices.Contains(services, pod.Service) {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s ago\t%s\t%s\n", pod.Name, pod.Image, pod.Service, units.HumanDuration(now.Sub(pod.Created)), pod.Status, pod.Ports)
	}
	return tw.Flush()
}
