package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"text/tabwriter"

	"github.com/compose-spec/compose-go/v2/template"
	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/berth/berth/compose"
)

// runConfigNoInterpolate prints the merged files as they are written,
// variables left in place (config --no-interpolate). As docker compose
// does, it prints the model before it is decoded, since a value such as
// "${PORT:-8080}:80" is only a port once interpolated; so the whole
// model, whatever services are named.
func runConfigNoInterpolate(cmd *cobra.Command, g *globalOptions, lo compose.Options, opts configOptions, services []string) error {
	if len(services) > 0 {
		fmt.Fprintln(cmd.ErrOrStderr(), "WARN: service filtering is not applied when --no-interpolate is set, the full model will be rendered")
	}
	model, err := compose.LoadModel(cmd.Context(), lo)
	if err != nil {
		return err
	}
	if opts.resolveDigests {
		if err := compose.ResolveModelImageDigests(cmd.Context(), model, g.digestResolver()); err != nil {
			return err
		}
	}
	if opts.lockDigests {
		compose.ImagesOnlyModel(model)
	}
	content, err := formatModel(model, opts.format)
	if err != nil {
		return fmt.Errorf("render configuration: %w", err)
	}
	if opts.quiet {
		return nil
	}
	if opts.output != "" {
		return os.WriteFile(opts.output, content, 0o666)
	}
	_, err = cmd.OutOrStdout().Write(content)
	return err
}

// formatModel renders a model (not decoded) as docker compose does.
func formatModel(model map[string]any, format string) ([]byte, error) {
	if format == "json" {
		return json.MarshalIndent(model, "", "  ")
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(model); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// runConfigVariables prints the variables the files use (config
// --variables): with format "table" docker compose's columns NAME,
// REQUIRED, DEFAULT VALUE and ALTERNATE VALUE (the value of ${X:+alt});
// "json" and "yaml" print the same as an object keyed by name.
func runConfigVariables(cmd *cobra.Command, lo compose.Options, services []string, format string) error {
	if format != "table" && format != "json" && format != "yaml" {
		return fmt.Errorf("config --variables --format %q: use table, json or yaml", format)
	}
	if len(services) > 0 {
		fmt.Fprintln(cmd.ErrOrStderr(), "WARN: service filtering is not applied when --variables is set, variables from the full model will be rendered")
	}
	model, err := compose.LoadModel(cmd.Context(), lo)
	if err != nil {
		return err
	}
	return printVariables(cmd.OutOrStdout(), template.ExtractVariables(model, template.DefaultPattern), format)
}

// printVariables prints variables in format, sorted by name.
func printVariables(w io.Writer, vars map[string]template.Variable, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "    ")
		if err := enc.Encode(vars); err != nil {
			return err
		}
		_, err := fmt.Fprintln(w)
		return err
	case "yaml":
		b, err := yaml.Marshal(vars)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	names := make([]string, 0, len(vars))
	for name := range vars {
		names = append(names, name)
	}
	sort.Strings(names)
	tw := tabwriter.NewWriter(w, 20, 1, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tREQUIRED\tDEFAULT VALUE\tALTERNATE VALUE")
	for _, name := range names {
		v := vars[name]
		fmt.Fprintf(tw, "%s\t%t\t%s\t%s\n", name, v.Required, v.DefaultValue, v.PresenceValue)
	}
	return tw.Flush()
}
