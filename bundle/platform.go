package bundle

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// BinfmtDir is where the kernel lists binfmt_misc's handlers.
const BinfmtDir = "/proc/sys/fs/binfmt_misc"

// ParsePlatform parses and normalizes a platform ("linux/arm64",
// "linux/arm/v7"); "" is the host's. It returns the platform's canonical
// string.
func ParsePlatform(s string) (string, error) {
	if s == "" {
		return platforms.Format(platforms.Normalize(platforms.DefaultSpec())), nil
	}
	p, err := parsePlatform(s)
	if err != nil {
		return "", err
	}
	return platforms.Format(p), nil
}

func parsePlatform(s string) (ocispec.Platform, error) {
	p, err := platforms.Parse(s)
	if err != nil {
		return ocispec.Platform{}, fmt.Errorf("invalid platform %q: give os/arch[/variant], e.g. linux/arm64 or linux/arm/v7", s)
	}
	if p.OS != "linux" {
		return ocispec.Platform{}, fmt.Errorf("platform %q: berth runs linux images only", s)
	}
	p = platforms.Normalize(p)
	if !knownArch[p.Architecture] {
		return ocispec.Platform{}, fmt.Errorf("unknown platform %q: give one such as linux/amd64, linux/arm64 or linux/arm/v7", s)
	}
	return p, nil
}

// knownArch are the architectures images are made for (GOARCH names, as
// OCI platforms use them).
var knownArch = map[string]bool{
	"amd64": true, "arm64": true, "arm": true, "386": true, "riscv64": true,
	"ppc64le": true, "s390x": true, "mips64le": true, "loong64": true,
}

// qemuHandlers are the binfmt_misc handlers (as qemu-user-static names
// them) that run each architecture's binaries.
var qemuHandlers = map[string]string{
	"arm64":   "qemu-aarch64",
	"arm":     "qemu-arm",
	"amd64":   "qemu-x86_64",
	"386":     "qemu-i386",
	"riscv64": "qemu-riscv64",
	"ppc64le": "qemu-ppc64le",
	"s390x":   "qemu-s390x",
}

// Runnable tells whether a box of platform host runs images of platform
// target: natively (emulated false), under qemu user emulation registered
// in binfmtDir (emulated true), or not at all (an error saying how to
// enable emulation).
func Runnable(target string, host ocispec.Platform, binfmtDir string) (emulated bool, err error) {
	p, err := parsePlatform(target)
	if err != nil {
		return false, err
	}
	if platforms.Only(host).Match(p) {
		return false, nil
	}
	handler, ok := qemuHandlers[p.Architecture]
	if ok {
		b, err := os.ReadFile(filepath.Join(binfmtDir, handler))
		if err == nil && strings.HasPrefix(string(b), "enabled") {
			return true, nil
		}
	}
	return false, fmt.Errorf("the bundle is for %s and this box is %s, with no emulation for it: install qemu-user-static and register its binfmt_misc handler (%s), or make the bundle with --platform %s",
		target, platforms.Format(platforms.Normalize(host)), handlerName(handler), platforms.Format(platforms.Normalize(host)))
}

func handlerName(h string) string {
	if h == "" {
		return "none exists for this architecture"
	}
	return h
}
