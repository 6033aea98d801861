package containerd

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckStaticInit(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\nimport \"net\"\nfunc main() { _ = net.ParseIP }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	build := func(cgo string, ldflags ...string) string {
		out := filepath.Join(dir, "bin-cgo"+cgo)
		args := append([]string{"build", "-o", out}, ldflags...)
		cmd := exec.Command("go", append(args, src)...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED="+cgo, "GOFLAGS=")
		cmd.Dir = dir
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Skipf("cannot build a test binary: %v\n%s", err, b)
		}
		return out
	}
	if err := checkStaticInit(build("0")); err != nil {
		t.Errorf("static binary refused: %v", err)
	}
	dynamic := build("1", "-ldflags=-linkmode=external")
	if err := checkStaticInit(dynamic); err == nil || !strings.Contains(err.Error(), "CGO_ENABLED=0") {
		t.Errorf("dynamic binary: got %v", err)
	}
	if err := checkStaticInit(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file accepted")
	}
}
