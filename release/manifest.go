package release

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"
)

// The files at the top of a release directory, beside rootfs/.
const (
	ManifestFile = "release.json"
	SumsFile     = "SHA256SUMS"
	ReadmeFile   = "README"
	ScriptFile   = "install.sh"
	// RootDir holds the files as they go on the box, relative to its /.
	RootDir = "rootfs"
)

// Paths on the box, relative to its root.
const (
	BerthPath = "usr/local/bin/berth"
	// ProbeAgentPath is berth's healthcheck probe agent, beside berth,
	// where berth looks for it.
	ProbeAgentPath = "usr/local/bin/berth-probe"
	// ShimWrapperPath is berth-shim, the runtime berth gives its
	// containers (a wrapper of containerd's runc shim), beside berth,
	// where berth looks for it.
	ShimWrapperPath    = "usr/local/bin/berth-shim"
	ContainerdConfPath = "etc/berth/containerd.toml"
	UnitPath           = "etc/systemd/system/" + UnitName
	// UnitName is the systemd unit that starts berth's containerd at boot.
	// Not berth-<something>.service: those are projects' units.
	UnitName = "berth.service"
)

// Manifest says what a release archive holds; it is release.json.
type Manifest struct {
	// Version is berth's version.
	Version string `json:"version"`
	// Arch is the architecture every binary in the archive is for.
	Arch Arch `json:"arch"`
	// Containerd is the containerd version (v2.4.2), as berth's go.mod has it.
	Containerd string `json:"containerd"`
	// Runc is the version of Debian's runc package the runc comes from, and
	// RuncDeb the package's file name and SHA256.
	Runc    string `json:"runc"`
	RuncDeb string `json:"runcDeb,omitempty"`
	// Needs are the Debian packages the box must have for these binaries
	// (Debian's runc links libseccomp dynamically).
	Needs []string `json:"needs"`
	// ProbeAgent says the archive holds berth's probe agent (a static C
	// program, built where a C compiler for the architecture is at hand;
	// without it berth probes healthchecks by exec, as before).
	ProbeAgent bool `json:"probeAgent,omitempty"`
	// ShimWrapper says the archive holds berth-shim (a static C program,
	// built as the probe agent is; without it berth's containers run
	// under containerd's runc shim by name).
	ShimWrapper bool `json:"shimWrapper,omitempty"`
}

// RuncNeeds are the Debian packages Debian's runc links against.
var RuncNeeds = []string{"libc6", "libseccomp2"}

// Name is the release's name, its archive's name without .tar.gz and the
// directory the archive unpacks into: berth-<version>-linux-<arch>.
func (m Manifest) Name() string { return "berth-" + m.Version + "-linux-" + string(m.Arch) }

// ArchiveName is the archive's file name.
func (m Manifest) ArchiveName() string { return m.Name() + ".tar.gz" }

// ContainerdDir is where containerd, its runc shim and runc go on the box,
// relative to its root: where berth looks for its managed daemon.
func (m Manifest) ContainerdDir() string {
	return "usr/local/lib/berth/containerd-v" + strings.TrimPrefix(m.Containerd, "v")
}

// Binaries are the executables of the release, as paths on the box.
func (m Manifest) Binaries() []string {
	d := m.ContainerdDir()
	bins := []string{BerthPath, path.Join(d, "containerd"), path.Join(d, "containerd-shim-runc-v2"), path.Join(d, "runc")}
	if m.ProbeAgent {
		bins = append(bins, ProbeAgentPath)
	}
	if m.ShimWrapper {
		bins = append(bins, ShimWrapperPath)
	}
	return bins
}

// Check fails for a manifest that does not name a whole release.
func (m Manifest) Check() error {
	if _, err := ParseArch(string(m.Arch)); err != nil || string(m.Arch) != strings.ToLower(string(m.Arch)) {
		return fmt.Errorf("%s: arch %q is not a release architecture (amd64, arm64, armv7)", ManifestFile, m.Arch)
	}
	for k, v := range map[string]string{"version": m.Version, "containerd": m.Containerd, "runc": m.Runc} {
		if v == "" || strings.ContainsAny(v, "/\\ \n") || v == "." || v == ".." {
			return fmt.Errorf("%s: %s %q is missing or not a version", ManifestFile, k, v)
		}
	}
	return nil
}

// ParseManifest reads release.json.
func ParseManifest(b []byte) (Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return Manifest{}, fmt.Errorf("%s: %w", ManifestFile, err)
	}
	return m, m.Check()
}

// Marshal writes release.json.
func (m Manifest) Marshal() []byte {
	b, _ := json.MarshalIndent(m, "", "  ") //nolint:errcheck // strings only: cannot fail
	return append(b, '\n')
}
