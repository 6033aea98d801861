package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

type systemInfoOptions struct {
	format string
}

func newSystemCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "system",
		Short: "Information about berth's containerd, and installing berth offline",
	}
	opts := systemInfoOptions{}
	info := &cobra.Command{
		Use:   "info",
		Short: "Show which containerd berth uses, its version, namespace and paths",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSystemInfo(cmd, g, opts)
		},
	}
	info.Flags().StringVar(&opts.format, "format", "text", "Output format: text or json")
	cmd.AddCommand(info, newSystemInstallCmd(g))
	return cmd
}

func runSystemInfo(cmd *cobra.Command, g *globalOptions, opts systemInfoOptions) error {
	if opts.format != "text" && opts.format != "json" {
		return fmt.Errorf("system info --format %q: use text or json", opts.format)
	}
	ctx := cmd.Context()
	rt, err := g.connect(ctx, nil)
	if err != nil {
		return err
	}
	defer rt.Close()
	info, err := rt.Info(ctx)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if opts.format == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(info)
	}
	daemon := "external (" + info.Address + ")"
	if info.Managed {
		daemon = "managed by berth"
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "berth:\t%s\n", version)
	fmt.Fprintf(tw, "containerd:\t%s (%s)\n", info.Version, daemon)
	fmt.Fprintf(tw, "  address:\t%s\n", info.Address)
	if info.Managed {
		fmt.Fprintf(tw, "  root:\t%s\n", info.DaemonRoot)
		fmt.Fprintf(tw, "  log:\t%s\n", info.DaemonLog)
	}
	fmt.Fprintf(tw, "namespace:\t%s\n", info.Namespace)
	fmt.Fprintf(tw, "snapshotter:\t%s\n", info.Snapshotter)
	fmt.Fprintf(tw, "data dir:\t%s\n", info.DataDir)
	fmt.Fprintf(tw, "run dir:\t%s\n", info.RunDir)
	return tw.Flush()
}
