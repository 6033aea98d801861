package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at link time (-ldflags "-X main.version=...").
var version = "dev"

type versionOptions struct {
	short  bool
	format string
}

func newVersionCmd(_ *globalOptions) *cobra.Command {
	opts := versionOptions{}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Show the berth version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runVersion(cmd, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.short, "short", false, "Print only the version number")
	cmd.Flags().StringVarP(&opts.format, "format", "f", "pretty", `Output format: pretty, or json ({"version":"…"})`)
	return cmd
}

func runVersion(cmd *cobra.Command, opts versionOptions) error {
	out := cmd.OutOrStdout()
	switch opts.format {
	case "pretty", "":
	case "json":
		return json.NewEncoder(out).Encode(struct {
			Version string `json:"version"`
		}{version})
	default:
		return fmt.Errorf("version --format %q: use pretty or json", opts.format)
	}
	if opts.short {
		fmt.Fprintln(out, version)
		return nil
	}
	fmt.Fprintf(out, "berth version %s\n", version)
	fmt.Fprintf(out, "  go:              %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, m := range info.Deps {
			switch m.Path {
			case "github.com/containerd/containerd/v2":
				fmt.Fprintf(out, "  containerd client: %s\n", m.Version)
			case "github.com/compose-spec/compose-go/v2":
				fmt.Fprintf(out, "  compose-go:      %s\n", m.Version)
			}
		}
	}
	return nil
}
