package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/berth/berth/release"
	"github.com/berth/berth/systemd"
)

type systemInstallOptions struct {
	root string
	from string
	arch string
	now  bool
}

func newSystemInstallCmd(g *globalOptions) *cobra.Command {
	opts := systemInstallOptions{}
	cmd := &cobra.Command{
		Use:   "install [--root DIR] [--from ARCHIVE]",
		Short: "Install berth, containerd and runc from an offline release archive",
		Long: `Install a release archive made by make release (berth-VERSION-linux-ARCH.tar.gz,
or the directory it unpacks into) on this machine, or into DIR with --root:
berth into /usr/local/bin, containerd, its runc shim and runc into
/usr/local/lib/berth/containerd-VERSION (where berth looks for them), the
configuration berth runs containerd with into /etc/berth, and berth.service,
a systemd unit that starts that containerd at boot. Needs no Go and no network.

Before writing anything it checks the archive against a SHA256SUMS beside it
(when that lists it), that the archive is for this machine's architecture
(or --arch's, for another machine's disk mounted at --root), and every file
against the archive's own SHA256SUMS. Only files that differ are written,
each at once: installing again changes nothing.

Where systemd runs this machine (and --root is /), systemctl reloads its units
and enables berth.service, and --now starts it. Otherwise the unit is enabled
by its link in DIR; --now (with --root /) starts berth's managed containerd
from the installed files. Without --from, the release berth runs from is
installed (as the archive's install.sh does).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSystemInstall(cmd, g, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.root, "root", "/", "Root directory to install into (another machine's disk, mounted)")
	f.StringVar(&opts.from, "from", "", "Release archive (.tar.gz) or the directory it unpacks into")
	f.StringVar(&opts.arch, "arch", "", "Architecture of the machine --root belongs to: amd64, arm64 or armv7 (default: this machine's)")
	f.BoolVar(&opts.now, "now", false, "Also start containerd now (only with --root /)")
	return cmd
}

func runSystemInstall(cmd *cobra.Command, g *globalOptions, opts systemInstallOptions) error {
	ctx := cmd.Context()
	root, err := filepath.Abs(opts.root)
	if err != nil {
		return fmt.Errorf("--root %s: %w", opts.root, err)
	}
	onThisMachine := root == "/"
	if opts.now && !onThisMachine {
		return fmt.Errorf("--now starts containerd on this machine, but --root %s is another root: leave out --now", opts.root)
	}
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		return fmt.Errorf("--root %s: not a directory: create it, or mount the machine's disk there", opts.root)
	}
	from := opts.from
	if from == "" {
		if from, err = runningRelease(); err != nil {
			return err
		}
	}
	var arch release.Arch
	if opts.arch != "" {
		arch, err = release.ParseArch(opts.arch)
	} else {
		arch, err = release.DetectHostArch(ctx)
	}
	if err != nil {
		return err
	}
	m, actions, err := release.Installer{Root: root, Arch: arch}.Install(from)
	if err != nil {
		return err
	}
	w := cmd.ErrOrStderr()
	for _, a := range actions {
		if a.Changed {
			fmt.Fprintf(w, "Installed %s\n", filepath.Join(root, a.Path))
		} else {
			fmt.Fprintf(w, "%s is up to date\n", filepath.Join(root, a.Path))
		}
	}
	var sc systemd.Systemctl
	why := "--root is not /"
	if onThisMachine {
		sc, why = systemd.Detect()
	}
	switch {
	case sc != nil:
		cmds := [][]string{{"daemon-reload"}, {"enable", release.UnitName}}
		if opts.now {
			cmds[1] = []string{"enable", "--now", release.UnitName}
		}
		for _, c := range cmds {
			if err := sc.Run(ctx, c...); err != nil {
				return err
			}
		}
		printSystemctl(w, cmds, nil, "")
	default:
		made, err := release.EnableOffline(root)
		if err != nil {
			return err
		}
		if made {
			fmt.Fprintf(w, "Enabled %s (%s: its link is made in %s)\n", release.UnitName, why, filepath.Join(root, filepath.Dir(release.WantsLink)))
		}
		if opts.now {
			// berth's managed containerd, from the files just installed.
			if os.Getenv("BERTH_CONTAINERD_BIN") == "" {
				os.Setenv("BERTH_CONTAINERD_BIN", filepath.Join(root, m.ContainerdDir())) //nolint:errcheck // a valid name and value
			}
			rt, err := g.connect(ctx, nil)
			if err != nil {
				return fmt.Errorf("start containerd: %w", err)
			}
			info, err := rt.Info(ctx)
			rt.Close()
			if err != nil {
				return fmt.Errorf("start containerd: %w", err)
			}
			fmt.Fprintf(w, "containerd %s answers at %s\n", info.Version, info.Address)
		}
	}
	fmt.Fprintf(w, "berth %s for %s is installed in %s\n", m.Version, m.Arch, root)
	return nil
}

// runningRelease is the release directory this berth runs from, when it is
// one's rootfs/usr/local/bin/berth (as install.sh runs it).
func runningRelease() (string, error) {
	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		return "", fmt.Errorf("find berth's own executable: %w", err)
	}
	dir := filepath.Join(filepath.Dir(exe), "..", "..", "..", "..")
	if filepath.Join(dir, release.RootDir, release.BerthPath) == exe {
		if _, err := os.Stat(filepath.Join(dir, release.ManifestFile)); err == nil {
			return filepath.Clean(dir), nil
		}
	}
	return "", errors.New("--from: name the release archive to install (berth-VERSION-linux-ARCH.tar.gz, from make release)")
}
