//go:build e2e

package e2e

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestPublishAndRunFromOCI: publish refuses environment variables without
// --with-env and asks -y for them and for bind mounts (as docker compose
// asks), pushes nothing then; with --with-env -y it pushes the compose files
// and the env file as an OCI artifact that -f oci://REPO:TAG loads (config)
// and runs (up) with no local file; an image is no compose artifact.
func TestPublishAndRunFromOCI(t *testing.T) {
	t.Parallel()
	registry := startRegistry(t)
	p := newProject(t, `
services:
  app:
    image: `+testImage+`
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    environment:
      HELLO: WORLD
`, map[string]string{
		"compose.override.yaml": "services:\n  app:\n    env_file: ./env/app.env\n",
		"env/app.env":           "FROM_FILE=yes\n",
		"bind.yaml":             "services:\n  app:\n    volumes:\n      - ./data:/data\n",
	})
	repo := registry + "/e2e/" + p.name + ":1"
	pushed := func() bool {
		resp, err := http.Get("http://" + registry + "/v2/e2e/" + p.name + "/tags/list")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}

	r := p.berth("publish", repo)
	if r.code == 0 || !strings.Contains(r.stderr, `service "app" has env_file declared.`+"\n"+`service "app" has environment variable(s) declared.`+"\nTo avoid leaking sensitive data,") {
		t.Errorf("publish without --with-env: %s", r)
	}
	if r := p.berth("publish", "--with-env", repo); r.code == 0 || !strings.Contains(r.stderr, "you are about to publish environment variables") || !strings.Contains(r.stderr, "app: FROM_FILE HELLO") {
		t.Errorf("publish --with-env without -y: %s", r)
	}
	if r := p.berth("-f", "compose.yaml", "-f", "bind.yaml", "publish", "--with-env", repo); r.code == 0 || !strings.Contains(r.stderr, "bind mounts") || !strings.Contains(r.stderr, "/data") {
		t.Errorf("publish of a bind mount without -y: %s", r)
	}
	if pushed() {
		t.Fatalf("a refused publish pushed %s", repo)
	}

	r = p.must("publish", "--with-env", "-y", repo)
	m := regexp.MustCompile(`published \(sha256:([0-9a-f]{64})\)`).FindStringSubmatch(r.stderr)
	if !strings.Contains(r.stderr, repo+" publishing") || m == nil {
		t.Fatalf("publish said: %s", r)
	}
	t.Cleanup(func() { os.RemoveAll(filepath.Join(berthDataDir()+"/oci", m[1])) })

	// From another directory, with nothing but the artifact.
	elsewhere := t.TempDir()
	r = p.run(elsewhere, nil, "-f", "oci://"+repo, "config")
	if r.code != 0 || !strings.Contains(r.stdout, "HELLO: WORLD") || !strings.Contains(r.stdout, `FROM_FILE: "yes"`) || !strings.Contains(r.stdout, "name: "+p.name) {
		t.Fatalf("config of the artifact: %s", r)
	}
	if r := p.run(elsewhere, nil, "-f", "oci://"+repo, "up", "-d"); r.code != 0 || !strings.Contains(r.stdout, `Your compose stack "oci://`+repo+`" is stored in "`) {
		t.Fatalf("up of the artifact does not say where its files are, as docker compose does: %s", r)
	}
	if r := p.must("exec", "-T", "app", "sh", "-c", "echo $HELLO $FROM_FILE"); r.stdout != "WORLD yes\n" {
		t.Errorf("the artifact's service sees %q, want WORLD yes", r.stdout)
	}

	pushTestImage(t, registry, "e2e/image:1")
	if r := p.run(elsewhere, nil, "-f", "oci://"+registry+"/e2e/image:1", "config"); r.code == 0 || !strings.Contains(r.stderr, "is not a compose project published as an OCI artifact") {
		t.Errorf("-f oci:// of an image: %s", r)
	}
	// One line naming the flag and what is missing (no resolver log line).
	if r := p.run(elsewhere, nil, "-f", "oci://"+registry+"/e2e/absent:1", "config"); r.code == 0 || !strings.HasPrefix(r.stderr, "compose file oci://"+registry+"/e2e/absent:1 (-f): ") ||
		!strings.Contains(r.stderr, "no such compose artifact") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("-f oci:// of nothing: %s", r)
	}

	// A stack with variables: up shows them and asks, as docker compose
	// does; no answer (stdin at its end) is no, -y or a "y" line is yes.
	vars := newProject(t, "services:\n  app:\n    image: "+testImage+"\n    command: [\"sleep\", \"600\"]\n    stop_signal: SIGKILL\n    environment:\n      GREETING: ${GREETING:-hi}\n", nil)
	varsRepo := registry + "/e2e/" + vars.name + ":1"
	r = vars.must("publish", "--with-env", "-y", varsRepo)
	if m := regexp.MustCompile(`published \(sha256:([0-9a-f]{64})\)`).FindStringSubmatch(r.stderr); m != nil {
		t.Cleanup(func() { os.RemoveAll(filepath.Join(berthDataDir()+"/oci", m[1])) })
	}
	r = vars.run(elsewhere, nil, "-f", "oci://"+varsRepo, "up", "-d")
	if r.code == 0 || !regexp.MustCompile(`(?m)^GREETING +hi +compose file +no +hi$`).MatchString(r.stdout) || !strings.Contains(r.stderr, "operation cancelled by user") {
		t.Errorf("up of a stack with variables, with no answer: %s", r)
	}
	if len(vars.ps(true)) != 0 {
		t.Errorf("a cancelled up made containers: %+v", vars.ps(true))
	}
	cmd := exec.Command(berthBin, append(globalArgs(), "-p", vars.name, "-f", "oci://"+varsRepo, "up", "-d")...)
	cmd.Dir, cmd.Stdin = elsewhere, strings.NewReader("y\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("up answered y: %v\n%s", err, out)
	}
	if r := vars.must("exec", "-T", "app", "sh", "-c", "echo $GREETING"); r.stdout != "hi\n" {
		t.Errorf("the artifact's service sees %q, want hi", r.stdout)
	}
}
