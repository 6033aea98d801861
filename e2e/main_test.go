//go:build e2e

// Package e2e drives the built berth binary against a real containerd
// (berth's managed daemon unless BERTH_E2E_ADDRESS is set), real network
// namespaces and real images. Run as root: make e2e.
package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// testImage is the busybox image every test uses; it is made from Debian's
// busybox-static by scripts/busybox-image.sh and loaded once per run, under
// a name nothing would pull from the internet.
const testImage = "berth-e2e.local/busybox:latest"

var (
	berthBin string
	repoRoot string
	ctrBin   string
	// daemonAddr is the containerd berth uses, for checks made without berth.
	daemonAddr string
)

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		fmt.Println("e2e: skipped: these tests run containers and need root (run `make e2e` as root)")
		os.Exit(0)
	}
	var err error
	if repoRoot, err = filepath.Abs(".."); err != nil {
		fmt.Println("e2e:", err)
		os.Exit(1)
	}
	// Names the projects do not know go to a closed loopback port: no DNS
	// query of the tests leaves this machine, and "offline" is real.
	os.Setenv("BERTH_DNS_UPSTREAM", "127.0.0.1:9")
	berthBin = os.Getenv("BERTH_BIN")
	if berthBin == "" {
		berthBin = filepath.Join(repoRoot, "bin", "berth")
	}
	if _, err := os.Stat(berthBin); err != nil {
		fmt.Printf("e2e: %s is missing: run `make build` first (or set BERTH_BIN)\n", berthBin)
		os.Exit(1)
	}
	matches, _ := filepath.Glob("/usr/local/lib/berth/containerd-*/ctr")
	if len(matches) > 0 {
		ctrBin = matches[len(matches)-1]
	}
	out, err := exec.Command(berthBin, append(globalArgs(), "system", "info", "--format", "json")...).CombinedOutput()
	var info struct{ Address string }
	if err != nil || json.Unmarshal(out, &info) != nil {
		fmt.Printf("e2e: berth system info: %v: %s\n", err, out)
		os.Exit(1)
	}
	daemonAddr = info.Address
	if err := loadTestImage(); err != nil {
		fmt.Println("e2e: prepare the test image:", err)
		os.Exit(1)
	}
	code := m.Run()
	// The single-node Kubernetes, if a test started it (kube_harness_test.go).
	if !stopKubeCluster() && code == 0 {
		code = 1
	}
	os.Exit(code)
}

func loadTestImage() error {
	dir, err := os.MkdirTemp("", "berth-e2e-image")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	archive := filepath.Join(dir, "busybox.tar")
	out, err := exec.Command(filepath.Join(repoRoot, "scripts", "busybox-image.sh"), archive, testImage).CombinedOutput()
	if err != nil {
		return fmt.Errorf("busybox-image.sh: %v: %s", err, out)
	}
	out, err = exec.Command(berthBin, append(globalArgs(), "load", "-i", archive)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("berth load: %v: %s", err, out)
	}
	return nil
}

// globalArgs are the flags every berth invocation of the suite gets.
func globalArgs() []string {
	if a := os.Getenv("BERTH_E2E_ADDRESS"); a != "" {
		return []string{"--address", a}
	}
	return nil
}
