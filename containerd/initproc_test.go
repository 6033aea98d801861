package containerd

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
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

// TestHoldStdin runs itself in a child whose stdin is /dev/null (EOF at
// once) and checks that after holdStdin a read finds no data and no EOF.
func TestHoldStdin(t *testing.T) {
	if os.Getenv("BERTH_TEST_HOLD_STDIN") == "1" {
		if err := holdStdin(); err != nil {
			fmt.Println("holdStdin:", err)
			os.Exit(1)
		}
		if err := syscall.SetNonblock(0, true); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		n, err := syscall.Read(0, make([]byte, 1))
		fmt.Printf("read %d %v\n", n, err)
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestHoldStdin$")
	cmd.Env = append(os.Environ(), "BERTH_TEST_HOLD_STDIN=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "read -1 resource temporarily unavailable") {
		t.Errorf("stdin after holdStdin: %s (want no data and no EOF)", out)
	}
}
