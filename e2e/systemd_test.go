//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSystemd: systemd install writes a unit that runs this berth with
// the project's absolute files at boot, which systemd-analyze accepts;
// without systemd as PID 1 (as here) it says what to run and succeeds;
// uninstall removes the unit. The project is never brought up.
func TestSystemd(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  app:
    image: `+testImage+`
    command: ["sleep", "600"]
`, map[string]string{"prod.env": "TAG=1\n"})
	units := t.TempDir()
	name := "berth-" + p.name + ".service"
	bin, err := filepath.Abs(berthBin)
	if err != nil {
		t.Fatal(err)
	}

	printed := p.must("--env-file", "prod.env", "systemd", "install", "--print").stdout
	args := strings.Join(append(globalArgs(), "-p", p.name, "-f", filepath.Join(p.dir, "compose.yaml"),
		"--project-directory", p.dir, "--env-file", filepath.Join(p.dir, "prod.env")), " ")
	for _, want := range []string{
		"\nType=oneshot\n", "\nRemainAfterExit=yes\n", "\nAfter=network-online.target containerd.service berth.service\n",
		"\nExecStart=" + bin + " " + args + " up -d\n",
		"\nExecStop=" + bin + " " + args + " stop\n",
		"\nEnvironment=\"BERTH_DNS_UPSTREAM=127.0.0.1:9\"\n",
		"\nWantedBy=multi-user.target\n",
	} {
		if !strings.Contains(printed, want) {
			t.Errorf("systemd install --print lacks %q:\n%s", want, printed)
		}
	}
	if entries, _ := os.ReadDir(units); len(entries) != 0 {
		t.Errorf("--print wrote files: %v", entries)
	}

	r := p.must("--env-file", "prod.env", "systemd", "install", "--now", "--unit-dir", units)
	path := filepath.Join(units, name)
	if b, err := os.ReadFile(path); err != nil || string(b) != printed {
		t.Errorf("installed unit differs from the printed one (%v):\n%s", err, b)
	}
	if out, _ := exec.Command("ps", "-o", "comm=", "-p", "1").Output(); strings.TrimSpace(string(out)) != "systemd" {
		if !strings.Contains(r.stderr, "systemd does not run this machine") || !strings.Contains(r.stderr, "systemctl enable "+name) {
			t.Errorf("install without systemd did not say what to run:\n%s", r)
		}
	}
	if ps := p.ps(true); len(ps) != 0 {
		t.Errorf("install brought the project up here: %+v", ps)
	}
	if analyze, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Log("systemd-analyze is not installed: the unit is not verified")
	} else if out, err := exec.Command(analyze, "verify", path).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify %s: %v\n%s", path, err, out)
	}
	if r := p.must("--env-file", "prod.env", "systemd", "install", "--unit-dir", units); !strings.Contains(r.stderr, "is up to date") {
		t.Errorf("second install:\n%s", r)
	}

	p.must("systemd", "uninstall", "--unit-dir", units)
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("uninstall left %s (%v)", path, err)
	}
	if r := p.berth("systemd", "uninstall", "--unit-dir", units); r.code == 0 || !strings.Contains(r.stderr, "nothing to uninstall") {
		t.Errorf("uninstall of no unit:\n%s", r)
	}
	missing := filepath.Join(units, "missing")
	if r := p.berth("systemd", "install", "--unit-dir", missing); r.code == 0 || !strings.Contains(r.stderr, "unit directory "+missing) {
		t.Errorf("install into a missing directory:\n%s", r)
	}
}
