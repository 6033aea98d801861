package main

import (
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/berth/berth/bundle"
)

// newBundleCmd is `berth bundle`: offline bundles for boxes with no registry.
func newBundleCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bundle COMMAND",
		Short: "Carry a whole project to a box with no registry: bundle create, load, inspect",
		Long: `A bundle is one file holding a compose project, ready to run, and the
images of its services for one platform, pinned by digest: make it with
"berth bundle create" where the project builds, copy it to the box, and
"berth bundle load" it there; "berth -p PROJECT up -d" then runs it
without contacting any registry. See the README for the bundle's layout.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return unknownCommand(cmd, args[0])
			}
			return cmd.Help()
		},
	}
	cmd.AddCommand(newBundleCreateCmd(g), newBundleLoadCmd(g), newBundleInspectCmd())
	return cmd
}

// bundlesDir holds the projects of the bundles loaded in the namespace,
// a directory each: <data dir>/bundles/<project>.
func (o *globalOptions) bundlesDir() string {
	return filepath.Join(o.namespaceDataDir(), "bundles")
}

// bundleComposeFile is the compose file of the loaded bundle of the
// project the user named (-p), or "" when there is none: what
// `berth -p NAME up` runs where there is no compose file.
func (o *globalOptions) bundleComposeFile() string {
	name := o.explicitName()
	if name == "" || len(o.files) > 0 || os.Getenv("COMPOSE_FILE") != "" {
		return ""
	}
	f := filepath.Join(o.bundlesDir(), name, bundle.ComposeFile)
	if _, err := os.Stat(f); err != nil {
		return ""
	}
	return f
}
