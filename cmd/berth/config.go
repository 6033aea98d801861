package main

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/spf13/cobra"

	"github.com/berth/berth/compose"
)

type configOptions struct {
	format         string
	output         string
	quiet          bool
	services       bool
	volumes        bool
	profiles       bool
	images         bool
	hash           string
	noInterpolate  bool
	noNormalize    bool
	noResolvePaths bool
	noResolveEnv   bool
	resolveDigests bool
	lockDigests    bool
	environment    bool
	networks       bool
	models         bool
	noConsistency  bool
	variables      bool
}

func newConfigCmd(g *globalOptions) *cobra.Command {
	opts := configOptions{}
	cmd := &cobra.Command{
		Use:   "config [OPTIONS] [SERVICE...]",
		Short: "Print the project's configuration: merged, interpolated and normalized",
		Long: `Print the compose configuration berth runs: all -f files merged in order,
variables interpolated, paths made absolute, defaults filled in, as
"docker compose config" prints it. Use -q to only check that it is valid.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runConfig(cmd, g, opts, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.format, "format", "yaml", "Output format: yaml or json")
	f.StringVarP(&opts.output, "output", "o", "", "Write to this file instead of standard output")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "Only validate the configuration, print nothing")
	f.BoolVar(&opts.services, "services", false, "Print the service names, one per line")
	f.BoolVar(&opts.volumes, "volumes", false, "Print the volume names, one per line")
	f.BoolVar(&opts.profiles, "profiles", false, "Print the profile names, one per line")
	f.BoolVar(&opts.images, "images", false, "Print the image names, one per line")
	f.StringVar(&opts.hash, "hash", "", `Print the config hash of the services ("*" or a comma-separated list), one per line`)
	f.BoolVar(&opts.noInterpolate, "no-interpolate", false, "Do not interpolate environment variables")
	f.BoolVar(&opts.noNormalize, "no-normalize", false, "Do not normalize the compose model")
	f.BoolVar(&opts.noResolvePaths, "no-path-resolution", false, "Do not resolve file paths")
	f.BoolVar(&opts.noResolveEnv, "no-env-resolution", false, "Do not merge the services' env_file into environment")
	f.BoolVar(&opts.resolveDigests, "resolve-image-digests", false, "Pin image tags to digests: name:tag@sha256:…, as each image's registry gives it now")
	f.BoolVar(&opts.lockDigests, "lock-image-digests", false, "Print an override file of the services' images pinned to digests (-f it after the others to run exactly those images)")
	f.BoolVar(&opts.environment, "environment", false, "Print the environment used for interpolation (KEY=VALUE, sorted)")
	f.BoolVar(&opts.networks, "networks", false, "Print the network names, one per line")
	f.BoolVar(&opts.models, "models", false, "Print the model names of the top-level models, one per line")
	f.BoolVar(&opts.noConsistency, "no-consistency", false, "Do not check the model's consistency (references to undefined networks, volumes, ...); the output may be invalid")
	f.BoolVar(&opts.variables, "variables", false, "Print the variables the files use, with their default values and whether they are required (a table; --format json or yaml for those)")
	return cmd
}

func runConfig(cmd *cobra.Command, g *globalOptions, opts configOptions, services []string) error {
	if opts.lockDigests {
		opts.resolveDigests = true // as docker compose: the override is of digests
	}
	if opts.variables {
		format := opts.format
		if !cmd.Flags().Changed("format") {
			format = "table"
		}
		return runConfigVariables(cmd, g.composeOptions(), services, format)
	}
	if opts.format != "yaml" && opts.format != "json" {
		return fmt.Errorf("config --format %q: use yaml or json", opts.format)
	}
	lo := g.composeOptions()
	lo.NoInterpolate, lo.NoNormalize, lo.NoResolvePaths, lo.KeepEnvFiles = opts.noInterpolate, opts.noNormalize, opts.noResolvePaths, opts.noResolveEnv
	lo.NoConsistency = opts.noConsistency
	if opts.noInterpolate && (opts.services || opts.volumes) {
		// As docker compose: the names, from the model not interpolated.
		model, err := compose.LoadModel(cmd.Context(), lo)
		if err != nil {
			return err
		}
		key := "services"
		if opts.volumes {
			key = "volumes"
		}
		m, _ := model[key].(map[string]any)
		for _, name := range slices.Sorted(maps.Keys(m)) {
			fmt.Fprintln(cmd.OutOrStdout(), name)
		}
		return nil
	}
	if opts.noInterpolate && !opts.profiles && !opts.images && opts.hash == "" && !opts.environment && !opts.networks && !opts.models {
		return runConfigNoInterpolate(cmd, g, lo, opts, services)
	}
	if !opts.profiles {
		lo.Services = services
	}
	spec, err := compose.LoadSpec(cmd.Context(), lo)
	if err != nil {
		return err
	}
	if opts.resolveDigests {
		if spec, err = compose.ResolveImageDigests(cmd.Context(), spec, g.digestResolver()); err != nil {
			return err
		}
	}
	if opts.lockDigests {
		spec = compose.ImagesOnly(spec)
	}
	out := cmd.OutOrStdout()
	switch {
	case opts.services:
		for _, name := range spec.ServiceNames() {
			fmt.Fprintln(out, name)
		}
		return nil
	case opts.volumes:
		for _, name := range slices.Sorted(maps.Keys(spec.Volumes)) {
			fmt.Fprintln(out, name)
		}
		return nil
	case opts.profiles:
		return printProfiles(cmd, spec)
	case opts.networks:
		for _, name := range slices.Sorted(maps.Keys(spec.Networks)) {
			fmt.Fprintln(out, name)
		}
		return nil
	case opts.models:
		for _, key := range slices.Sorted(maps.Keys(spec.Models)) {
			if m := spec.Models[key].Model; m != "" {
				fmt.Fprintln(out, m)
			}
		}
		return nil
	case opts.environment:
		for _, key := range slices.Sorted(maps.Keys(spec.Environment)) {
			fmt.Fprintf(out, "%s=%s\n", key, spec.Environment[key])
		}
		return nil
	case opts.images:
		p, err := compose.FromSpec(spec)
		if err != nil {
			return err
		}
		for _, s := range p.Services {
			fmt.Fprintln(out, s.ImageName())
		}
		return nil
	case opts.hash != "":
		return printHashes(cmd, spec, opts.hash)
	}

	var content []byte
	if opts.format == "json" {
		content, err = spec.MarshalJSON()
	} else {
		content, err = spec.MarshalYAML()
	}
	if err != nil {
		return fmt.Errorf("render configuration: %w", err)
	}
	if !opts.noInterpolate {
		// Values are printed interpolated; escape "$" so that the output,
		// read back as a compose file, means the same.
		content = bytes.ReplaceAll(content, []byte("$"), []byte("$$"))
	}
	if opts.quiet {
		return nil
	}
	if opts.output != "" {
		return os.WriteFile(opts.output, content, 0o666)
	}
	_, err = out.Write(content)
	return err
}

func printProfiles(cmd *cobra.Command, spec *types.Project) error {
	set := map[string]bool{}
	for _, s := range spec.AllServices() {
		for _, p := range s.Profiles {
			set[p] = true
		}
	}
	for _, p := range slices.Sorted(maps.Keys(set)) {
		fmt.Fprintln(cmd.OutOrStdout(), p)
	}
	return nil
}

func printHashes(cmd *cobra.Command, spec *types.Project, which string) error {
	names := spec.ServiceNames()
	if which != "*" {
		names = strings.Split(which, ",")
	}
	sort.Strings(names)
	for _, name := range names {
		s, err := spec.GetService(name)
		if err != nil {
			return fmt.Errorf("config --hash: %w", err)
		}
		h, err := compose.ServiceHash(s)
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", name, h)
	}
	return nil
}
