// Package platform owns what berth knows about OCI platforms: parsing the
// values people write (--platform, compose platform:, build.platforms),
// this host's platform, and whether this host runs a platform's binaries
// natively or under qemu user emulation through binfmt_misc. It is pure:
// it reads only the binfmt_misc directory it is given, so tests fake a
// host without emulation without touching the machine's registrations.
package platform

import (
	"fmt"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// hint is how every parse error says what to write instead.
const hint = "use OS/ARCH[/VARIANT] such as linux/amd64, linux/arm64 or linux/arm/v7"

// qemuArch names, for each architecture berth accepts (as OCI names them),
// its qemu user emulator as Debian's qemu-user-static registers it in
// binfmt_misc (qemu-NAME).
var qemuArch = map[string]string{
	"386":      "i386",
	"amd64":    "x86_64",
	"arm":      "arm",
	"arm64":    "aarch64",
	"loong64":  "loongarch64",
	"mips64le": "mips64el",
	"ppc64le":  "ppc64le",
	"riscv64":  "riscv64",
	"s390x":    "s390x",
}

// Parse reads a platform as people write it (linux/arm64, linux/arm/v7,
// linux/aarch64, or a bare architecture such as arm64, which means linux)
// and normalizes it. Only linux platforms of an architecture berth knows
// are accepted: berth runs linux containers, and a typo such as
// linux/amd46 would otherwise only fail at a registry or a RUN step. The
// error is one line saying what to write.
func Parse(s string) (ocispec.Platform, error) {
	in := strings.TrimSpace(s)
	if in == "" || strings.Contains(in, "*") {
		return ocispec.Platform{}, fmt.Errorf("invalid platform %q: %s", s, hint)
	}
	p, err := platforms.Parse(in)
	if err != nil {
		return ocispec.Platform{}, fmt.Errorf("invalid platform %q: %s", s, hint)
	}
	p = platforms.Normalize(p)
	if p.OS != "linux" {
		return ocispec.Platform{}, fmt.Errorf("unsupported platform %q: berth runs linux containers only; %s", s, hint)
	}
	if _, ok := qemuArch[p.Architecture]; !ok {
		return ocispec.Platform{}, fmt.Errorf("unknown platform %q: berth knows the architectures %s; %s", s, knownArchitectures(), hint)
	}
	return ocispec.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}, nil
}

// ParseList parses a comma-separated list of platforms (--platform
// linux/amd64,linux/arm64), each as Parse does; a platform listed twice
// is an error.
func ParseList(s string) ([]ocispec.Platform, error) {
	var out []ocispec.Platform
	seen := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		p, err := Parse(f)
		if err != nil {
			return nil, err
		}
		if seen[Format(p)] {
			return nil, fmt.Errorf("platform %s is given twice: list each platform once", Format(p))
		}
		seen[Format(p)] = true
		out = append(out, p)
	}
	return out, nil
}

// Format is how berth prints a platform: linux/arm/v7.
func Format(p ocispec.Platform) string { return platforms.Format(platforms.Normalize(p)) }

// Host is the platform of this machine, which builds and runs natively.
func Host() ocispec.Platform { return platforms.Normalize(platforms.DefaultSpec()) }

// knownArchitectures lists the architectures Parse accepts, for its error.
func knownArchitectures() string {
	var names []string
	for a := range qemuArch {
		names = append(names, a)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}
