//go:build e2e

package e2e

import (
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
