//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadArchives(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	oci := filepath.Join(dir, "oci.tar")
	if out, err := exec.Command(filepath.Join(repoRoot, "scripts", "busybox-image.sh"), oci, "berth-e2e.local/from-oci:1").CombinedOutput(); err != nil {
		t.Fatalf("busybox-image.sh: %v: %s", err, out)
	}
	docker := filepath.Join(dir, "docker.tar")
	if out, err := exec.Command("skopeo", "copy", "--quiet", "oci-archive:"+oci, "docker-archive:"+docker+":berth-e2e.local/from-docker:1").CombinedOutput(); err != nil {
		t.Fatalf("skopeo copy to docker-archive: %v: %s", err, out)
	}
	garbage := filepath.Join(dir, "garbage.tar")
	os.WriteFile(garbage, []byte("not an archive"), 0o644)

	p := newProject(t, `
services:
  fromdocker:
    image: berth-e2e.local/from-docker:1
    pull_policy: never
    command: [sleep, "600"]
    stop_signal: SIGKILL
`, nil)
	if r := p.must("load", "-i", docker); !strings.Contains(r.stdout, "Loaded image: berth-e2e.local/from-docker:1") {
		t.Errorf("load of a docker-save archive printed:\n%s", r)
	}
	// From standard input.
	cmd := exec.Command(berthBin, append(globalArgs(), "load")...)
	f, err := os.Open(oci)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd.Stdin = f
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "Loaded image: berth-e2e.local/from-oci:1") {
		t.Errorf("load from stdin: %v: %s", err, out)
	}
	if r := p.berth("load", "-i", garbage); r.code == 0 || !strings.Contains(r.stderr, garbage) {
		t.Errorf("load of a garbage file: %s", r)
	}
	// The docker-archive image runs (pull_policy never: it must be the loaded one).
	p.must("up", "-d")
	if ps := p.ps(false); len(ps) != 1 || ps[0].State != "running" {
		t.Errorf("ps = %+v, want the loaded image running", ps)
	}
}
