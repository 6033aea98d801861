package platform

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

// BinfmtDirEnv names the environment variable that points berth at another
// binfmt_misc directory, so that tests can fake a host without emulation.
const BinfmtDirEnv = "BERTH_BINFMT_DIR"

// Runnable says how a host runs a platform's binaries.
type Runnable int

const (
	// NotRunnable: neither natively nor emulated.
	NotRunnable Runnable = iota
	// Native: the host's own platform, or one it runs natively (an amd64
	// host runs 386, an arm64 host arm).
	Native
	// Emulated: through an enabled qemu binfmt_misc handler.
	Emulated
)

// String is the mode as messages name it.
func (r Runnable) String() string {
	switch r {
	case Native:
		return "native"
	case Emulated:
		return "emulated"
	default:
		return "not runnable"
	}
}

// Emulation is what decides whether a host runs a platform: the host's
// platform and its binfmt_misc directory.
type Emulation struct {
	// Host is the host's platform.
	Host ocispec.Platform
	// BinfmtDir is the host's binfmt_misc directory.
	BinfmtDir string
}

// Local is this machine's Emulation, reading binfmt_misc in dir
// (DefaultBinfmtDir when dir is "").
func Local(dir string) Emulation {
	if dir == "" {
		dir = DefaultBinfmtDir
	}
	return Emulation{Host: Host(), BinfmtDir: dir}
}

// LocalFromEnv is Local of the directory BinfmtDirEnv names, if set.
func LocalFromEnv() Emulation { return Local(os.Getenv(BinfmtDirEnv)) }

// Runs reports how the host runs binaries of platform p: natively, under
// qemu emulation (binfmt_misc enabled, with an enabled handler for p's
// emulator), or not at all.
func (e Emulation) Runs(p ocispec.Platform) Runnable {
	if platforms.Only(e.Host).Match(p) {
		return Native
	}
	if p.OS == "linux" && e.emulated(p) {
		return Emulated
	}
	return NotRunnable
}

// Check returns nil when the host runs binaries of platform p, natively or
// emulated, and otherwise the one-line error saying how to enable
// emulation. what says what needs it ("building for", "running").
func (e Emulation) Check(p ocispec.Platform, what string) error {
	if e.Runs(p) != NotRunnable {
		return nil
	}
	handler := "qemu-" + p.Architecture
	if name, ok := qemuArch[p.Architecture]; ok {
		handler = "qemu-" + name
	}
	return fmt.Errorf("%s %s on this %s host needs qemu user emulation: run scripts/install-deps.sh, or apt-get install qemu-user-static and register binfmt_misc handlers (no enabled %s handler is in %s)",
		what, Format(p), Format(e.Host), handler, e.BinfmtDir)
}

// emulated reports whether binfmt_misc in e.BinfmtDir is enabled (its
// status file, when there is one, says so) and has an enabled handler for
// p's qemu emulator: one named qemu-ARCH (Debian's and tonistiigi/binfmt's
// name), or any whose interpreter is that emulator.
func (e Emulation) emulated(p ocispec.Platform) bool {
	name, ok := qemuArch[p.Architecture]
	if !ok {
		return false
	}
	if st, err := os.ReadFile(filepath.Join(e.BinfmtDir, "status")); err == nil && strings.TrimSpace(string(st)) != "enabled" {
		return false
	}
	entries, err := os.ReadDir(e.BinfmtDir)
	if err != nil {
		return false
	}
	for _, ent := range entries {
		if ent.Name() == "register" || ent.Name() == "status" || ent.IsDir() {
			continue
		}
		enabled, interp := readHandler(filepath.Join(e.BinfmtDir, ent.Name()))
		if !enabled {
			continue
		}
		base := filepath.Base(interp)
		if ent.Name() == "qemu-"+name || base == "qemu-"+name || base == "qemu-"+name+"-static" || strings.HasPrefix(base, name+"-binfmt") {
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
