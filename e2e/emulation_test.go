//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPlatformBinfmtRegister runs install-deps' binfmt_register against a
// fake binfmt_misc directory (a regular register file records what would be
// registered): a missing handler is registered from its .conf with the F flag
// added, a handler already there is left alone, and a second run changes
// nothing. The machine's real registrations are not touched.
func TestPlatformBinfmtRegister(t *testing.T) {
	dir, confdir := t.TempDir(), t.TempDir()
	write := func(path, content string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "register"), "")
	write(filepath.Join(dir, "qemu-arm"), "enabled\n") // already registered: left alone
	aarch64 := `:qemu-aarch64:M::\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/libexec/qemu-binfmt/aarch64-binfmt-P:OP`
	write(filepath.Join(confdir, "qemu-aarch64.conf"), "# from qemu-user-static\n"+aarch64+"\n")
	write(filepath.Join(confdir, "qemu-arm.conf"), ":qemu-arm:M::x:y:/nonexistent:OPF\n")

	run := func() string {
		t.Helper()
		cmd := exec.Command("bash", "-c", `. scripts/lib/binfmt.sh && binfmt_register "$1" "$2"`, "bash", dir, confdir)
		cmd.Dir = repoRoot
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("binfmt_register: %v: %s", err, out)
		}
		return string(out)
	}
	out := run()
	if !strings.Contains(out, "registered qemu-aarch64") || strings.Contains(out, "qemu-arm ") {
		t.Errorf("binfmt_register said %q, want it to register qemu-aarch64 only", out)
	}
	if got, want := readFile(t, filepath.Join(dir, "register")), aarch64+"F"; got != want {
		t.Errorf("register got %q, want %q", got, want)
	}
	// The handler now exists (the kernel would have made the file): a second run registers nothing.
	write(filepath.Join(dir, "qemu-aarch64"), "enabled\n")
	write(filepath.Join(dir, "register"), "")
	if out := run(); out != "" {
		t.Errorf("second binfmt_register said %q, want nothing", out)
	}
	if got := readFile(t, filepath.Join(dir, "register")); got != "" {
		t.Errorf("second run wrote %q to register, want nothing", got)
	}

	// A missing .conf is one clear line and a failure.
	os.Remove(filepath.Join(dir, "qemu-aarch64"))
	os.Remove(filepath.Join(confdir, "qemu-aarch64.conf"))
	cmd := exec.Command("bash", "-c", `. scripts/lib/binfmt.sh && binfmt_register "$1" "$2"`, "bash", dir, confdir)
	cmd.Dir = repoRoot
	out2, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out2), "apt-get install qemu-user-static") {
		t.Errorf("binfmt_register without a .conf: err %v, output %q; want a failure naming qemu-user-static", err, out2)
	}
}

// debianArm64 makes an arm64 Debian bookworm-slim archive in dir, under
// the script's default name: its cache key holds the name, so only that one
// comes from the cache after the first run (about 7 minutes under qemu).
func debianArm64(t *testing.T, dir string) string {
	t.Helper()
	archive := filepath.Join(dir, "debian-arm64.tar")
	out, err := exec.Command(filepath.Join(repoRoot, "scripts", "debian-image.sh"), "--arch", "arm64", archive).CombinedOutput()
	if err != nil {
		t.Fatalf("debian-image.sh --arch arm64: %v: %s", err, out)
	}
	return archive
}

// TestPlatformDebianImage checks debian-image.sh --arch: the arm64
// archive's config says linux/arm64 and its shell is an aarch64 binary; an
// unknown architecture is one line and no archive.
func TestPlatformDebianImage(t *testing.T) {
	dir := t.TempDir()
	archive := debianArm64(t, dir)
	layout := filepath.Join(dir, "layout")
	if err := os.MkdirAll(layout, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("tar", "-xf", archive, "-C", layout).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v: %s", err, out)
	}
	var index, manifest struct {
		Manifests []struct{ Digest string }
		Config    struct{ Digest string }
		Layers    []struct{ Digest string }
	}
	blob := func(d string) string { return filepath.Join(layout, "blobs", "sha256", strings.TrimPrefix(d, "sha256:")) }
	decode := func(path string, v any) {
		t.Helper()
		if err := json.Unmarshal([]byte(readFile(t, path)), v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	decode(filepath.Join(layout, "index.json"), &index)
	decode(blob(index.Manifests[0].Digest), &manifest)
	var config struct{ Architecture, OS, Variant string }
	decode(blob(manifest.Config.Digest), &config)
	if config.OS != "linux" || config.Architecture != "arm64" || config.Variant != "" {
		t.Errorf("config platform %+v, want linux/arm64", config)
	}
	// ELF header of /usr/bin/dash: e_machine (bytes 18-19) 0xb7 is aarch64.
	out, err := exec.Command("sh", "-c", `tar -xzOf "$1" ./usr/bin/dash | head -c 20 | od -An -tx1`, "sh", blob(manifest.Layers[0].Digest)).Output()
	if f := strings.Fields(string(out)); err != nil || len(f) != 20 || f[0] != "7f" || f[18] != "b7" || f[19] != "00" {
		t.Errorf("/usr/bin/dash header %q (%v), want an aarch64 ELF", out, err)
	}

	bad := filepath.Join(dir, "bad.tar")
	res, err := exec.Command(filepath.Join(repoRoot, "scripts", "debian-image.sh"), "--arch", "mips", bad).CombinedOutput()
	if err == nil || strings.Count(strings.TrimSpace(string(res)), "\n") != 0 || !strings.Contains(string(res), `unknown architecture "mips"`) {
		t.Errorf("debian-image.sh --arch mips: %v: %q, want one line naming the architecture", err, res)
	}
	if _, err := os.Stat(bad); err == nil {
		t.Errorf("debian-image.sh --arch mips left %s", bad)
	}
}
