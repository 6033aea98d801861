package release

import (
	"bytes"
	"context"
	"os/exec"
	"strings"

	"golang.org/x/sys/unix"
)

// DetectHostArch is HostArch for the machine berth runs on: its kernel's
// machine name and, when dpkg is on PATH, its Debian architecture.
func DetectHostArch(ctx context.Context) (Arch, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", err
	}
	machine := string(bytes.TrimRight(u.Machine[:], "\x00"))
	dpkgArch := ""
	if p, err := exec.LookPath("dpkg"); err == nil {
		if out, err := exec.CommandContext(ctx, p, "--print-architecture").Output(); err == nil {
			dpkgArch = strings.TrimSpace(string(out))
		}
	}
	return HostArch(machine, dpkgArch)
}
