package release

import (
	"fmt"
	"strings"
)

// Arch is a release architecture: amd64, arm64 or armv7.
type Arch string

// The architectures berth is released for.
const (
	AMD64 Arch = "amd64"
	ARM64 Arch = "arm64"
	ARMv7 Arch = "armv7"
)

// Arches are the release architectures, in the order releases list them.
var Arches = []Arch{AMD64, ARM64, ARMv7}

type archInfo struct {
	goarch, goarm, platform, debian string
	machines                        []string // uname -m values of a kernel that runs it
}

var arches = map[Arch]archInfo{
	AMD64: {goarch: "amd64", platform: "linux/amd64", debian: "amd64", machines: []string{"x86_64", "amd64"}},
	ARM64: {goarch: "arm64", platform: "linux/arm64", debian: "arm64", machines: []string{"aarch64", "arm64", "armv8b", "aarch64_be"}},
	ARMv7: {goarch: "arm", goarm: "7", platform: "linux/arm/v7", debian: "armhf", machines: []string{"armv7l", "armv8l", "armv7"}},
}

// ParseArch reads an architecture as a release names it (amd64, arm64,
// armv7) or as a platform does (linux/arm64, linux/arm/v7, arm/v7).
func ParseArch(s string) (Arch, error) {
	t := strings.TrimPrefix(strings.ToLower(s), "linux/")
	switch t {
	case "amd64", "x86_64":
		return AMD64, nil
	case "arm64", "aarch64", "arm64/v8":
		return ARM64, nil
	case "armv7", "arm/v7", "armhf":
		return ARMv7, nil
	}
	return "", fmt.Errorf("unknown architecture %q: use amd64, arm64 or armv7", s)
}

// GOARCH and GOARM are the Go toolchain's names for a.
func (a Arch) GOARCH() string { return arches[a].goarch }

// GOARM is the GOARM value that builds for a ("" but for armv7).
func (a Arch) GOARM() string { return arches[a].goarm }

// Platform is a's OCI platform: linux/amd64, linux/arm64, linux/arm/v7.
func (a Arch) Platform() string { return arches[a].platform }

// Debian is the Debian architecture of a: amd64, arm64, armhf.
func (a Arch) Debian() string { return arches[a].debian }

// HostArch tells the release architecture of a machine from its kernel's
// machine name (uname -m) and, when dpkg is there, its Debian architecture
// (dpkg --print-architecture, "" when unknown). The Debian architecture wins:
// a Raspberry Pi OS with a 32-bit (armhf) userland on a 64-bit kernel says
// aarch64, yet the arm64 runc would find no libraries there.
func HostArch(machine, dpkgArch string) (Arch, error) {
	if dpkgArch != "" {
		for _, a := range Arches {
			if arches[a].debian == dpkgArch {
				return a, nil
			}
		}
		return "", fmt.Errorf("this machine's Debian architecture %s has no berth release (there are amd64, arm64 and armhf)", dpkgArch)
	}
	for _, a := range Arches {
		for _, m := range arches[a].machines {
			if m == machine {
				return a, nil
			}
		}
	}
	return "", fmt.Errorf("this machine (%s) has no berth release (there are x86_64, aarch64 and armv7l)", machine)
}
