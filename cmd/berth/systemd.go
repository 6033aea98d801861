package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berth/berth/systemd"
)

func newSystemdCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "systemd",
		Short: "Bring the project up at boot with a systemd unit",
		Long: `Install or remove a systemd unit, berth-<project>.service, that runs
"berth up -d" for the project at boot and "berth stop" when it is stopped.`,
	}
	cmd.AddCommand(newSystemdInstallCmd(g), newSystemdUninstallCmd(g))
	return cmd
}

type systemdInstallOptions struct {
	now     bool
	print   bool
	unitDir string
}

func newSystemdInstallCmd(g *globalOptions) *cobra.Command {
	opts := systemdInstallOptions{}
	cmd := &cobra.Command{
		Use:   "install [OPTIONS]",
		Short: "Write and enable a systemd unit that brings the project up at boot",
		Long: `Write berth-<project>.service into the unit directory: a oneshot service,
after network-online.target (and containerd.service, when the host has
one), that runs this berth executable with the project's name, compose
files (absolute), project directory and --env-file files, active profiles
and containerd flags:

  ExecStart=/usr/local/bin/berth -p demo -f /srv/demo/compose.yaml --project-directory /srv/demo up -d
  ExecStop=/usr/local/bin/berth -p demo -f /srv/demo/compose.yaml --project-directory /srv/demo stop

berth's own variables that are set (BERTH_DATA_DIR, BERTH_RUN_DIR, ...),
and HOME and DOCKER_CONFIG for registry credentials, are set in the unit.
Other variables of your shell are not: the compose file's ${VARIABLES}
are read at boot from the project's .env or the --env-file files only.

When systemd runs this machine, systemctl then reloads its units and
enables the new one (and starts it with --now: the project comes up now).
Otherwise the unit is written and berth says what to run. --print only
prints the unit. Installing again rewrites the unit when it changed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSystemdInstall(cmd, g, opts)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.now, "now", false, "Also start the unit now (that brings the project up)")
	f.BoolVar(&opts.print, "print", false, "Only print the unit; write nothing")
	f.StringVar(&opts.unitDir, "unit-dir", systemd.DefaultUnitDir, "Directory to write the unit into")
	// The name the first design used; kept working, not shown.
	f.StringVar(&opts.unitDir, "user-unit-dir", systemd.DefaultUnitDir, "Directory to write the unit into")
	f.MarkHidden("user-unit-dir") //nolint:errcheck // the flag is defined just above
	return cmd
}

type systemdUninstallOptions struct {
	now     bool
	unitDir string
}

func newSystemdUninstallCmd(g *globalOptions) *cobra.Command {
	opts := systemdUninstallOptions{}
	cmd := &cobra.Command{
		Use:   "uninstall [OPTIONS]",
		Short: "Disable and remove the project's systemd unit",
		Long: `Disable berth-<project>.service and remove it from the unit directory. The
project's containers are left as they are, unless --now stops the unit
first (which runs berth stop). Works with only -p NAME.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSystemdUninstall(cmd, g, opts)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.now, "now", false, "Stop the unit first (that stops the project's containers)")
	f.StringVar(&opts.unitDir, "unit-dir", systemd.DefaultUnitDir, "Directory the unit is in")
	f.StringVar(&opts.unitDir, "user-unit-dir", systemd.DefaultUnitDir, "Directory the unit is in")
	f.MarkHidden("user-unit-dir") //nolint:errcheck // the flag is defined just above
	return cmd
}

// unitEnvironment are the variables berth reads that a unit passes on
// when they are set: a system service starts with next to none.
var unitEnvironment = []string{
	"BERTH_DATA_DIR", "BERTH_RUN_DIR", "BERTH_CONTAINERD_BIN", "BERTH_SUBNET_POOL", "BERTH_DNS_UPSTREAM",
	"DOCKER_CONFIG", "HOME",
}

// unit describes the project's unit as the global flags and the
// environment give the project.
func (o *globalOptions) unit(cmd *cobra.Command) (systemd.Unit, error) {
	p, err := o.loadProject(cmd.Context())
	if err != nil {
		return systemd.Unit{}, err
	}
	exe, err := os.Executable()
	if err != nil {
		return systemd.Unit{}, fmt.Errorf("find berth's own executable for the unit: %w", err)
	}
	u := systemd.Unit{Project: p.Name, Berth: exe, Files: p.ConfigFiles, ProjectDir: p.WorkingDir, Profiles: p.Profiles}
	for _, f := range o.envFiles {
		abs, err := filepath.Abs(f) // as the compose loader reads them
		if err != nil {
			return systemd.Unit{}, fmt.Errorf("env file %s: %w", f, err)
		}
		u.EnvFiles = append(u.EnvFiles, abs)
	}
	if o.addressExplicit {
		u.GlobalArgs = append(u.GlobalArgs, "--address", o.address)
	}
	if o.namespace != defaultNamespace {
		u.GlobalArgs = append(u.GlobalArgs, "--namespace", o.namespace)
	}
	for _, r := range o.insecure {
		u.GlobalArgs = append(u.GlobalArgs, "--insecure-registry", r)
	}
	for _, k := range unitEnvironment {
		if v, ok := os.LookupEnv(k); ok && v != "" {
			u.Environment = append(u.Environment, k+"="+v)
		}
	}
	return u, nil
}

func runSystemdInstall(cmd *cobra.Command, g *globalOptions, opts systemdInstallOptions) error {
	u, err := g.unit(cmd)
	if err != nil {
		return err
	}
	if opts.print {
		text, err := u.Render()
		if err != nil {
			return err
		}
		_, err = io.WriteString(cmd.OutOrStdout(), text)
		return err
	}
	sc, why := systemd.Detect()
	res, err := systemd.Installer{Dir: opts.unitDir, Systemctl: sc}.Install(cmd.Context(), u, opts.now)
	if res.Path != "" && err == nil {
		w := cmd.ErrOrStderr()
		if res.Changed {
			fmt.Fprintf(w, "Wrote %s\n", res.Path)
		} else {
			fmt.Fprintf(w, "%s is up to date\n", res.Path)
		}
		printSystemctl(w, res.Ran, res.ToRun, why)
	}
	return err
}

func runSystemdUninstall(cmd *cobra.Command, g *globalOptions, opts systemdUninstallOptions) error {
	p, err := g.projectOrName(cmd.Context())
	if err != nil {
		return err
	}
	sc, why := systemd.Detect()
	res, err := systemd.Installer{Dir: opts.unitDir, Systemctl: sc}.Uninstall(cmd.Context(), p.Name, opts.now)
	if err != nil {
		return err
	}
	w := cmd.ErrOrStderr()
	for _, f := range append(res.Removed, res.Path) {
		fmt.Fprintf(w, "Removed %s\n", f)
	}
	printSystemctl(w, res.Ran, res.ToRun, why)
	return nil
}

// printSystemctl tells what systemctl did, or what is left to run by hand.
func printSystemctl(w io.Writer, ran, toRun [][]string, why string) {
	for _, c := range ran {
		fmt.Fprintf(w, "Ran systemctl %s\n", strings.Join(c, " "))
	}
	if len(toRun) == 0 {
		return
	}
	fmt.Fprintf(w, "%s: systemctl was not run. Where systemd runs, run:\n", why)
	for _, c := range toRun {
		fmt.Fprintf(w, "  systemctl %s\n", strings.Join(c, " "))
	}
}
