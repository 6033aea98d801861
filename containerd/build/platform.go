package build

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// DefaultBinfmtDir is where the kernel lists the binfmt_misc handlers that
// run foreign binaries (qemu user emulation).
const DefaultBinfmtDir = "/proc/sys/fs/binfmt_misc"

// qemuArch names the qemu user emulator of each architecture berth builds
// and runs foreign images for, as Debian's qemu-user-static registers it in
// binfmt_misc (qemu-NAME).
var qemuArch = map[string]string{
	"amd64":   "x86_64",
	"arm64":   "aarch64",
	"arm":     "arm",
	"386":     "i386",
	"ppc64le": "ppc64le",
	"s390x":   "s390x",
	"riscv64": "riscv64",
}

// ParsePlatform parses a --platform or compose platform value (os/arch or
// os/arch/variant: linux/arm64, linux/arm/v7, linux/amd64) into its
// normalized form. Only linux and the architectures qemu emulates are
// accepted, so an unknown value fails here, before anything is made.
func ParsePlatform(s string) (ocispec.Platform, error) {
	hint := "use OS/ARCH[/VARIANT] such as linux/amd64, linux/arm64 or linux/arm/v7"
	if strings.TrimSpace(s) == "" || strings.Count(s, "/") < 1 {
		return ocispec.Platform{}, fmt.Errorf("invalid platform %q: %s", s, hint)
	}
	p, err := platforms.Parse(s)
	if err != nil {
		return ocispec.Platform{}, fmt.Errorf("invalid platform %q: %s", s, hint)
	}
	p = platforms.Normalize(p)
	if p.OS != "linux" {
		return ocispec.Platform{}, fmt.Errorf("unsupported platform %q: berth runs linux containers only; %s", s, hint)
	}
	if _, ok := qemuArch[p.Architecture]; !ok {
		return ocispec.Platform{}, fmt.Errorf("unknown platform %q: berth knows the architectures amd64, arm64, arm, 386, ppc64le, s390x and riscv64; %s", s, hint)
	}
	return ocispec.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}, nil
}

// HostPlatform is the platform of this machine, which builds and runs
// natively.
func HostPlatform() ocispec.Platform {
	return platforms.Normalize(platforms.DefaultSpec())
}

// Native reports whether this host runs binaries of platform p without
// emulation (an amd64 host runs 386 too, an arm64 host arm).
func Native(p ocispec.Platform) bool {
	return platforms.Only(platforms.DefaultSpec()).Match(p)
}

// CheckEmulation returns nil when this host can run binaries of platform
// p: natively, or through an enabled binfmt_misc handler for its qemu user
// emulator in dir (DefaultBinfmtDir; tests give another). what says what
// needs it ("building for", "running"); the error is one line saying how
// to enable emulation.
func CheckEmulation(dir string, p ocispec.Platform, what string) error {
	if Native(p) {
		return nil
	}
	if emulated(dir, p) {
		return nil
	}
	return fmt.Errorf("%s %s on this %s host needs qemu user emulation: run scripts/install-deps.sh, or apt-get install qemu-user-static and register binfmt_misc handlers",
		what, platforms.Format(p), platforms.Format(HostPlatform()))
}

// emulated reports whether binfmt_misc in dir is enabled and has an enabled
// handler for p's qemu emulator: one named qemu-ARCH (Debian's and
// tonistiigi/binfmt's name), or any whose interpreter is that emulator.
func emulated(dir string, p ocispec.Platform) bool {
	name, ok := qemuArch[p.Architecture]
	if !ok {
		return false
	}
	if st, err := os.ReadFile(filepath.Join(dir, "status")); err != nil || strings.TrimSpace(string(st)) != "enabled" {
		return false
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if e.Name() == "register" || e.Name() == "status" || e.IsDir() {
			continue
		}
		enabled, interp := readHandler(filepath.Join(dir, e.Name()))
		if !enabled {
			continue
		}
		base := filepath.Base(interp)
		if e.Name() == "qemu-"+name || base == "qemu-"+name || base == "qemu-"+name+"-static" || strings.HasPrefix(base, name+"-binfmt") {
			return true
		}
	}
	return false
}

// readHandler reads a binfmt_misc handler file: whether it is enabled, and
// its interpreter.
func readHandler(path string) (enabled bool, interpreter string) {
	f, err := os.Open(path)
	if err != nil {
		return false, ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "enabled":
			enabled = true
		case strings.HasPrefix(line, "interpreter "):
			interpreter = strings.TrimPrefix(line, "interpreter ")
		}
	}
	return enabled, interpreter
}

// platformKey is a platform as the build cache keys and messages name it.
func platformKey(p ocispec.Platform) string {
	return platforms.Format(p)
}

// ParsePlatforms parses a comma-separated list of platforms (--platform
// linux/amd64,linux/arm64), each as ParsePlatform does; a platform listed
// twice is an error.
func ParsePlatforms(s string) ([]ocispec.Platform, error) {
	var out []ocispec.Platform
	seen := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		p, err := ParsePlatform(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		if seen[platforms.Format(p)] {
			return nil, fmt.Errorf("platform %s is given twice: list each platform once", platforms.Format(p))
		}
		seen[platforms.Format(p)] = true
		out = append(out, p)
	}
	return out, nil
}
