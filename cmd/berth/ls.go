package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/scheduler"
)

type lsOptions struct {
	format string
	quiet  bool
	all    bool
	filter []string
}

func newLsCmd(g *globalOptions) *cobra.Command {
	opts := lsOptions{}
	cmd := &cobra.Command{
		Use:   "ls [OPTIONS]",
		Short: "List the projects that have containers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLs(cmd, g, opts)
		},
	}
	cmd.Flags().StringVar(&opts.format, "format", "table", "Output format: table or json")
	cmd.Flags().BoolVarP(&opts.quiet, "quiet", "q", false, "Only print project names")
	cmd.Flags().BoolVarP(&opts.all, "all", "a", false, "Also list projects with no running container")
	cmd.Flags().StringArrayVar(&opts.filter, "filter", nil, "Only list projects whose name matches: name=REGEXP (repeatable: any of them)")
	return cmd
}

func runLs(cmd *cobra.Command, g *globalOptions, opts lsOptions) error {
	if opts.format != "table" && opts.format != "json" {
		return fmt.Errorf("ls --format %q: use table or json", opts.format)
	}
	match, err := projectFilter(opts.filter)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	rt, err := g.connect(ctx, scheduler.Discard)
	if err != nil {
		return err
	}
	defer rt.Close()
	cs, err := rt.Containers(ctx, "")
	if err != nil {
		return err
	}
	var rows []scheduler.ProjectSummary
	for _, s := range scheduler.SummarizeProjects(cs) {
		// The plain containers' project is berth container ls's.
		if (opts.all || s.Running > 0) && match(s.Name) && s.Name != compose.ContainersProject {
			rows = append(rows, s)
		}
	}
	out := cmd.OutOrStdout()
	switch {
	case opts.quiet:
		for _, r := range rows {
			fmt.Fprintln(out, r.Name)
		}
	case opts.format == "json":
		if rows == nil {
			rows = []scheduler.ProjectSummary{}
		}
		return json.NewEncoder(out).Encode(rows)
	default:
		tw := tabwriter.NewWriter(out, 0, 0, 3, ' ', 0)
		fmt.Fprintln(tw, "NAME\tSTATUS\tCONFIG FILES")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, r.Status, r.ConfigFiles)
		}
		return tw.Flush()
	}
	return nil
}

// projectFilter reads ls --filter: name=REGEXP, repeatable, a project
// kept when any of them matches its name (docker's filters).
func projectFilter(filters []string) (func(string) bool, error) {
	var res []*regexp.Regexp
	for _, f := range filters {
		key, value, ok := strings.Cut(f, "=")
		if !ok || key != "name" {
			return nil, fmt.Errorf("ls --filter %q: the filter is name=REGEXP", f)
		}
		re, err := regexp.Compile(value)
		if err != nil {
			return nil, fmt.Errorf("ls --filter %q: %w", f, err)
		}
		res = append(res, re)
	}
	return func(name string) bool {
		if len(res) == 0 {
			return true
		}
		for _, re := range res {
			if re.MatchString(name) {
				return true
			}
		}
		return false
	}, nil
}
