//go:build e2e

package e2e

import (
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// releaseVersion is the version the release tests stamp.
const releaseVersion = "v0.0.0-e2e"

var (
	releaseOnce sync.Once
	releaseDir  string
	releaseErr  error
	releaseOut  []byte
)

// releaseDist runs make release's script once per test run, for every
// architecture, into dist/e2e (gitignored), and returns that directory.
// The containerd cross builds and Debian's runc packages are cached in
// /usr/local/lib/berth; when one is missing, this builds (or downloads) it,
// some minutes per architecture the first time.
func releaseDist(t *testing.T) string {
	t.Helper()
	releaseOnce.Do(func() {
		releaseDir = filepath.Join(repoRoot, "dist", "e2e")
		if releaseErr = os.RemoveAll(releaseDir); releaseErr != nil {
			return
		}
		cmd := exec.Command(filepath.Join(repoRoot, "scripts", "release.sh"), releaseVersion)
		cmd.Dir, cmd.Env = repoRoot, append(os.Environ(), "DIST="+releaseDir)
		start := time.Now()
		releaseOut, releaseErr = cmd.CombinedOutput()
		t.Logf("scripts/release.sh took %s", time.Since(start).Round(time.Second))
	})
	if releaseErr != nil {
		t.Fatalf("scripts/release.sh: %v\n%s", releaseErr, releaseOut)
	}
	return releaseDir
}

func TestReleaseBinariesRunUnderQemu(t *testing.T) {
	dist := releaseDist(t)
	tests := []struct {
		arch, handler, goarch string
		machine               elf.Machine
	}{
		{"amd64", "", "amd64", elf.EM_X86_64},
		{"arm64", "qemu-aarch64", "arm64", elf.EM_AARCH64},
		{"armv7", "qemu-arm", "arm", elf.EM_ARM},
	}
	for _, tt := range tests {
		t.Run(tt.arch, func(t *testing.T) {
			bin := filepath.Join(dist, "berth-"+releaseVersion+"-linux-"+tt.arch)
			f, err := elf.Open(bin)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Machine != tt.machine {
				t.Errorf("%s is for %v, want %v", bin, f.Machine, tt.machine)
			}
			for _, p := range f.Progs {
				if p.Type == elf.PT_INTERP {
					t.Errorf("%s has an interpreter: not static", bin)
				}
			}
			// Stripped for the small boxes it is carried to.
			for _, name := range []string{".symtab", ".debug_info"} {
				if f.Section(name) != nil {
					t.Errorf("%s has a %s section: not built with -s -w", bin, name)
				}
			}
			if tt.handler != "" {
				if _, err := os.Stat(filepath.Join("/proc/sys/fs/binfmt_misc", tt.handler)); err != nil {
					t.Skipf("no binfmt_misc handler %s (qemu-user-static) registered on this machine: %v", tt.handler, err)
				}
			}
			out, err := exec.Command(bin, "version").CombinedOutput()
			if err != nil {
				t.Fatalf("%s version: %v\n%s", bin, err, out)
			}
			if !strings.Contains(string(out), "berth version "+releaseVersion+"\n") || !strings.Contains(string(out), " linux/"+tt.goarch+"\n") {
				t.Errorf("%s version says:\n%s\nwant berth version %s on linux/%s", bin, out, releaseVersion, tt.goarch)
			}
		})
	}
	sums, err := os.ReadFile(filepath.Join(dist, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"amd64", "arm64", "armv7"} {
		for _, name := range []string{"berth-" + releaseVersion + "-linux-" + a, "berth-" + releaseVersion + "-linux-" + a + ".tar.gz"} {
			out, err := exec.Command("sha256sum", filepath.Join(dist, name)).Output()
			if err != nil {
				t.Fatal(err)
			}
			if line := strings.Fields(string(out))[0] + "  " + name + "\n"; !strings.Contains(string(sums), line) {
				t.Errorf("SHA256SUMS lacks %q:\n%s", line, sums)
			}
		}
	}
}

// TestReleaseInstallStartsContainerd installs the amd64 archive into an
// empty root with its own install.sh, then again with berth system install
// (nothing changes), and starts containerd from the installed files with a
// private state, root and socket.
func TestReleaseInstallStartsContainerd(t *testing.T) {
	dist := releaseDist(t)
	name := "berth-" + releaseVersion + "-linux-amd64"
	archive := filepath.Join(dist, name+".tar.gz")
	unpacked := t.TempDir()
	if out, err := exec.Command("tar", "-xzf", archive, "-C", unpacked).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v: %s", err, out)
	}
	root := t.TempDir()
	out, err := exec.Command(filepath.Join(unpacked, name, "install.sh"), "--root", root).CombinedOutput()
	if err != nil {
		t.Fatalf("install.sh --root %s: %v\n%s", root, err, out)
	}
	matches, _ := filepath.Glob(filepath.Join(root, "usr/local/lib/berth/containerd-v*"))
	if len(matches) != 1 {
		t.Fatalf("installed containerd directories: %q, want one\n%s", matches, out)
	}
	cdDir := matches[0]
	for _, f := range []string{"usr/local/bin/berth", "etc/berth/containerd.toml", "etc/systemd/system/berth.service"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("not installed: %v\n%s", err, out)
		}
	}
	// The static C programs beside berth: gcc builds them on amd64 (make
	// build needs it too), so the amd64 archive has them.
	for _, f := range []string{"usr/local/bin/berth-probe", "usr/local/bin/berth-shim"} {
		p := filepath.Join(root, f)
		if st, err := os.Stat(p); err != nil || st.Mode().Perm()&0o111 == 0 {
			t.Errorf("%s is not installed, executable: %v\n%s", f, err, out)
			continue
		}
		e, err := elf.Open(p)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if e.Machine != elf.EM_X86_64 {
			t.Errorf("%s is for %v, want x86-64", f, e.Machine)
		}
		for _, prog := range e.Progs {
			if prog.Type == elf.PT_INTERP {
				t.Errorf("%s has an interpreter: not static", f)
			}
		}
		e.Close()
	}
	var manifest struct{ ProbeAgent, ShimWrapper bool }
	if b, err := os.ReadFile(filepath.Join(unpacked, name, "release.json")); err != nil || json.Unmarshal(b, &manifest) != nil || !manifest.ProbeAgent || !manifest.ShimWrapper {
		t.Errorf("release.json does not record the probe agent and berth-shim: %+v, %v", manifest, err)
	}
	var shipped int
	filepath.WalkDir(filepath.Join(unpacked, name, "rootfs"), func(_ string, d os.DirEntry, err error) error { //nolint:errcheck // counted below
		if err == nil && d.Type().IsRegular() {
			shipped++
		}
		return err
	})
	if link, err := os.Readlink(filepath.Join(root, "etc/systemd/system/multi-user.target.wants/berth.service")); err != nil || link != "/etc/systemd/system/berth.service" {
		t.Errorf("berth.service is not enabled in the root: %q, %v", link, err)
	}
	if !strings.Contains(string(out), "berth "+releaseVersion+" for amd64 is installed in "+root) {
		t.Errorf("install.sh said:\n%s", out)
	}

	// Again, from the archive: nothing to write.
	again := runBerth(t, root, nil, nil, time.Minute, "system", "install", "--root", root, "--from", archive)
	if again.code != 0 || strings.Contains(again.stderr, "Installed") || strings.Count(again.stderr, "is up to date") != shipped {
		t.Errorf("second install changed something or failed (the archive has %d files):\n%s", shipped, again)
	}

	// containerd from the installed files, private to this test.
	d := newBarePrivateDaemon(t)
	d.env = append(d.env, "BERTH_CONTAINERD_BIN="+cdDir)
	installed := filepath.Join(root, "usr/local/bin/berth")
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(installed, args...)
		cmd.Dir, cmd.Env = d.base, append(os.Environ(), d.env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("installed berth %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	var info struct{ Address, Version string }
	if err := json.Unmarshal([]byte(run("system", "info", "--format", "json")), &info); err != nil {
		t.Fatal(err)
	}
	if info.Address != d.address() {
		t.Errorf("containerd answers at %s, want the private %s", info.Address, d.address())
	}
	pid := d.containerdPid()
	if pid == 0 {
		t.Fatal("no private containerd runs")
	}
	if exe, _ := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "exe")); exe != filepath.Join(cdDir, "containerd") {
		t.Errorf("containerd runs from %s, want the installed %s", exe, filepath.Join(cdDir, "containerd"))
	}
	archiveTar := filepath.Join(d.base, "busybox.tar")
	if out, err := exec.Command(filepath.Join(repoRoot, "scripts", "busybox-image.sh"), archiveTar, testImage).CombinedOutput(); err != nil {
		t.Fatalf("busybox-image.sh: %v: %s", err, out)
	}
	run("load", "-i", archiveTar)
	if got := run("image", "ls", "-q", testImage); strings.TrimSpace(got) == "" {
		t.Errorf("the installed containerd does not list the image just loaded")
	}
	// The shim finds runc first in containerd's directory (berth puts it
	// first on containerd's PATH); Debian's runc runs with this machine's
	// libseccomp. (A container is not run here: on a fresh data directory
	// the default bridge network would outlive the test, and a container
	// on the host's network alone fails to start its DNS daemon.)
	environ, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "environ"))
	if !strings.Contains(string(environ), "PATH="+cdDir+":") {
		t.Errorf("containerd's PATH does not start with %s", cdDir)
	}
	if out, err := exec.Command(filepath.Join(cdDir, "runc"), "--version").CombinedOutput(); err != nil || !strings.Contains(string(out), "runc version") {
		t.Errorf("installed runc --version: %v\n%s", err, out)
	}
}

// TestReleaseInstallRefuses: an archive for another architecture (by
// berth system install and by its install.sh) and a damaged archive are
// refused with one line, and nothing is written.
func TestReleaseInstallRefuses(t *testing.T) {
	dist := releaseDist(t)
	arm := filepath.Join(dist, "berth-"+releaseVersion+"-linux-arm64.tar.gz")
	damaged := filepath.Join(t.TempDir(), "berth-"+releaseVersion+"-linux-amd64.tar.gz")
	b, err := os.ReadFile(filepath.Join(dist, filepath.Base(damaged)))
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x01
	sums, _ := os.ReadFile(filepath.Join(dist, "SHA256SUMS"))
	os.WriteFile(damaged, b, 0o644)                                               //nolint:errcheck // the install reads it
	os.WriteFile(filepath.Join(filepath.Dir(damaged), "SHA256SUMS"), sums, 0o644) //nolint:errcheck // the install reads it

	unpacked := t.TempDir()
	if out, err := exec.Command("tar", "-xzf", arm, "-C", unpacked).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v: %s", err, out)
	}
	tests := []struct {
		name    string
		cmd     func(root string) *exec.Cmd
		wantErr string
	}{
		{"other arch", func(root string) *exec.Cmd {
			return exec.Command(berthBin, "system", "install", "--root", root, "--from", arm)
		}, "berth-" + releaseVersion + "-linux-arm64 is for arm64, but the machine is amd64: install berth-" + releaseVersion + "-linux-amd64.tar.gz"},
		{"other arch install.sh", func(root string) *exec.Cmd {
			return exec.Command(filepath.Join(unpacked, "berth-"+releaseVersion+"-linux-arm64", "install.sh"), "--root", root)
		}, "install.sh: this archive is for arm64, the machine is amd64: use berth-" + releaseVersion + "-linux-amd64.tar.gz"},
		{"checksum mismatch", func(root string) *exec.Cmd {
			return exec.Command(berthBin, "system", "install", "--root", root, "--from", damaged)
		}, "berth-" + releaseVersion + "-linux-amd64.tar.gz: checksum mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			out, err := tt.cmd(root).CombinedOutput()
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if err == nil || len(lines) != 1 || !strings.Contains(lines[0], tt.wantErr) {
				t.Errorf("got %v:\n%s\nwant one line with %q", err, out, tt.wantErr)
			}
			if entries, _ := os.ReadDir(root); len(entries) != 0 {
				t.Errorf("a refused install left %d entries in the root", len(entries))
			}
		})
	}
}
