package release

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Inputs are the files a release is made of.
type Inputs struct {
	// Berth, Containerd, Shim and Runc are the executables for the
	// release's architecture.
	Berth, Containerd, Shim, Runc string
	// ProbeAgent is berth's probe agent for the architecture, when the
	// manifest says the release has one.
	ProbeAgent string
	// ShimWrapper is berth-shim for the architecture, when the manifest
	// says the release has it.
	ShimWrapper string
	// ContainerdConfig is the configuration berth's managed containerd
	// runs with, for the systemd unit to start it with at boot.
	ContainerdConfig []byte
}

// Stage lays the release out in parent/<m.Name()>, which must not exist:
// rootfs/ as the files go on the box, the unit, README, install.sh,
// release.json and SHA256SUMS over all of them. It returns the directory.
func Stage(parent string, m Manifest, in Inputs) (_ string, retErr error) {
	if err := m.Check(); err != nil {
		return "", err
	}
	dir := filepath.Join(parent, m.Name())
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", fmt.Errorf("stage release: %w", err)
	}
	defer func() {
		if retErr != nil {
			os.RemoveAll(dir)
		}
	}()
	bins := m.Binaries()
	copies := map[string]string{bins[0]: in.Berth, bins[1]: in.Containerd, bins[2]: in.Shim, bins[3]: in.Runc}
	if m.ProbeAgent {
		copies[ProbeAgentPath] = in.ProbeAgent
	}
	if m.ShimWrapper {
		copies[ShimWrapperPath] = in.ShimWrapper
	}
	for dst, src := range copies {
		if err := copyFile(src, filepath.Join(dir, RootDir, filepath.FromSlash(dst)), 0o755); err != nil {
			return "", fmt.Errorf("stage %s: %w", dst, err)
		}
	}
	texts := map[string]struct {
		data []byte
		mode os.FileMode
	}{
		filepath.Join(RootDir, ContainerdConfPath): {in.ContainerdConfig, 0o644},
		filepath.Join(RootDir, UnitPath):           {[]byte(m.Unit()), 0o644},
		ReadmeFile:                                 {[]byte(m.Readme()), 0o644},
		ScriptFile:                                 {[]byte(m.Script()), 0o755},
		ManifestFile:                               {m.Marshal(), 0o644},
	}
	for name, t := range texts {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, t.data, t.mode); err != nil {
			return "", err
		}
	}
	sums, err := SumDir(dir)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, SumsFile), sums.Format(), 0o644); err != nil {
		return "", err
	}
	return dir, nil
}

// SumDir returns the SHA256 of every file under dir but SHA256SUMS, by
// slash-separated relative path.
func SumDir(dir string) (Sums, error) {
	files, err := listFiles(dir)
	if err != nil {
		return nil, err
	}
	s := Sums{}
	for _, f := range files {
		if f == SumsFile {
			continue
		}
		if s[f], err = FileSum(filepath.Join(dir, filepath.FromSlash(f))); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// listFiles lists the regular files under dir, slash-separated and
// sorted; anything but files and directories is an error.
func listFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: a release holds only files and directories", rel)
		}
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	sort.Strings(files)
	return files, err
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Unit is the systemd unit that starts berth's managed containerd at boot,
// with the configuration berth would start it with, so that berth finds it
// answering and uses it. KillMode=process leaves the shims, and so the
// containers, running when containerd restarts, as containerd's own unit does.
func (m Manifest) Unit() string {
	dir := "/" + m.ContainerdDir()
	return fmt.Sprintf(`# Installed by berth %[1]s: berth's containerd, started at boot.
# Without it berth starts the same daemon on first use.
[Unit]
Description=containerd for berth
Documentation=https://github.com/containerd/containerd
After=network.target local-fs.target

[Service]
ExecStartPre=-/sbin/modprobe overlay
ExecStart=%[2]s/containerd --config /%[3]s
Environment=PATH=%[2]s:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
Type=notify
Delegate=yes
KillMode=process
Restart=always
RestartSec=5
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
OOMScoreAdjust=-999

[Install]
WantedBy=multi-user.target
`, m.Version, dir, ContainerdConfPath)
}

// Readme is the archive's README.
func (m Manifest) Readme() string {
	return fmt.Sprintf(`berth %[1]s for linux/%[2]s, to install offline
===========================================

This archive installs berth on a Linux machine with no Go and no internet:

  /usr/local/bin/berth                     berth %[1]s (static)
%[9]s  /%[3]s/containerd            containerd %[4]s (static, what berth runs)
  /%[3]s/containerd-shim-runc-v2
  /%[3]s/runc                  runc from Debian's package %[5]s
  /%[6]s                 the configuration berth runs containerd with
  /%[7]s             starts that containerd at boot

Install (as root), from the directory this README is in:

  ./install.sh                 # or: ./install.sh --root /mnt/sdcard --arch %[2]s

which runs: ./rootfs/usr/local/bin/berth system install --from . [--root DIR]
It checks the machine's architecture and every file's SHA256 (SHA256SUMS) first,
installs only what changed (running it again changes nothing), and with systemd
enables berth.service; --now also starts containerd.

What the machine needs: Linux 4.x or newer with overlayfs and cgroups, and the
Debian packages %[8]s (Debian's runc links libseccomp dynamically; they are
installed on Debian, Raspberry Pi OS and Ubuntu with systemd, which needs them too;
otherwise: apt-get install %[8]s). They are not shipped here: a copy of
libseccomp beside runc would not get the box's security updates. iptables or
nftables (for published ports) come with the system as usual.
`, m.Version, m.Arch, m.ContainerdDir(), m.Containerd, m.Runc, ContainerdConfPath, UnitPath, strings.Join(m.Needs, " "), m.readmeExtras())
}

// readmeExtras are the README's lines for the optional static C programs
// the release has, beside berth.
func (m Manifest) readmeExtras() string {
	var b strings.Builder
	if m.ProbeAgent {
		fmt.Fprintf(&b, "  %-39s  berth's healthcheck probe agent (static)\n", "/"+ProbeAgentPath)
	}
	if m.ShimWrapper {
		fmt.Fprintf(&b, "  %-39s  the containers' runtime: containerd's runc shim,\n  %-39s  without its second cleanup of each task (static)\n", "/"+ShimWrapperPath, "")
	}
	return b.String()
}

// Script is install.sh: it checks the architecture before running the
// archive's berth (on a machine of another architecture that berth would
// not run, or would run emulated), then has berth install the release.
func (m Manifest) Script() string {
	return fmt.Sprintf(`#!/bin/sh
# Installs berth %[1]s for linux/%[2]s from this directory: see README.
# Options are berth system install's: --root DIR, --arch ARCH, --now.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
want=%[2]s
arch=""
prev=""
for a in "$@"; do
	[ "$prev" = --arch ] && arch="$a"
	case "$a" in --arch=*) arch="${a#--arch=}" ;; esac
	prev="$a"
done
if [ -z "$arch" ]; then
	machine="$(uname -m)"
	if command -v dpkg >/dev/null 2>&1; then
		machine="$(dpkg --print-architecture)"
	fi
	case "$machine" in
	x86_64 | amd64) arch=amd64 ;;
	aarch64 | arm64) arch=arm64 ;;
	armv7l | armv8l | armhf) arch=armv7 ;;
	*) arch="$machine" ;;
	esac
fi
if [ "$arch" != "$want" ]; then
	echo "install.sh: this archive is for $want, the machine is $arch: use berth-%[1]s-linux-$arch.tar.gz" >&2
	exit 1
fi
exec "$here/rootfs/%[3]s" system install --from "$here" "$@"
`, m.Version, m.Arch, BerthPath)
}
