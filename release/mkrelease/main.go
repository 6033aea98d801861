// Command mkrelease lays out one berth release archive from binaries built
// for its architecture; make release (scripts/release.sh) runs it.
//
//	go run ./release/mkrelease -arch arm64 -version v1.2.0 -berth dist/berth-v1.2.0-linux-arm64 \
//	    -containerd-version v2.4.2 -containerd-dir DIR -runc-dir DIR -o dist
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/berth/berth/containerd"
	"github.com/berth/berth/release"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mkrelease:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		arch, version, berth, probe, shim, cdVersion, cdDir, runcDir, out string
		mtime                                                             int64
	)
	flag.StringVar(&arch, "arch", "", "release architecture: amd64, arm64 or armv7")
	flag.StringVar(&version, "version", "", "berth's version")
	flag.StringVar(&berth, "berth", "", "the berth binary for the architecture")
	flag.StringVar(&probe, "probe-agent", "", "berth's probe agent (berth-probe) for the architecture; none: the release has none")
	flag.StringVar(&shim, "shim-wrapper", "", "berth-shim, the containers' runtime, for the architecture; none: the release has none")
	flag.StringVar(&cdVersion, "containerd-version", "", "containerd's version (go.mod's)")
	flag.StringVar(&cdDir, "containerd-dir", "", "directory with containerd and containerd-shim-runc-v2 for the architecture")
	flag.StringVar(&runcDir, "runc-dir", "", "directory with runc and runc.source (scripts/debian-runc.sh)")
	flag.StringVar(&out, "o", "dist", "directory to write the archive into")
	flag.Int64Var(&mtime, "mtime", 0, "modification time of every entry, in seconds since 1970 (SOURCE_DATE_EPOCH)")
	flag.Parse()
	a, err := release.ParseArch(arch)
	if err != nil {
		return err
	}
	source, err := os.ReadFile(filepath.Join(runcDir, "runc.source"))
	if err != nil {
		return fmt.Errorf("runc's source: %w", err)
	}
	runcDeb := strings.TrimSpace(string(source)) // "<sha256> runc_<version>_<arch>.deb"
	_, debName, _ := strings.Cut(runcDeb, " ")
	parts := strings.Split(strings.TrimSuffix(debName, ".deb"), "_")
	if len(parts) != 3 || parts[0] != "runc" || parts[2] != a.Debian() {
		return fmt.Errorf("%s: %q is not Debian's runc for %s", filepath.Join(runcDir, "runc.source"), runcDeb, a.Debian())
	}
	m := release.Manifest{
		Version: version, Arch: a, Containerd: cdVersion,
		Runc: parts[1], RuncDeb: runcDeb, Needs: release.RuncNeeds, ProbeAgent: probe != "",
		ShimWrapper: shim != "",
	}
	tmp, err := os.MkdirTemp("", "mkrelease-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	dir, err := release.Stage(tmp, m, release.Inputs{
		Berth:            berth,
		ProbeAgent:       probe,
		ShimWrapper:      shim,
		Containerd:       filepath.Join(cdDir, "containerd"),
		Shim:             filepath.Join(cdDir, "containerd-shim-runc-v2"),
		Runc:             filepath.Join(runcDir, "runc"),
		ContainerdConfig: []byte(containerd.ManagedConfig("", "")),
	})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	dst := filepath.Join(out, m.ArchiveName())
	f, err := os.CreateTemp(out, "."+m.ArchiveName()+".")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := release.WriteArchive(f, dir, time.Unix(mtime, 0)); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), dst); err != nil {
		return err
	}
	fmt.Println(dst)
	return nil
}
