//go:build e2e

package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// startRegistry runs Debian's docker-registry on a free loopback port with
// its storage in a temp dir, and stops it when the test ends.
func startRegistry(t *testing.T) string {
	t.Helper()
	return startRegistryWith(t, "")
}

// startRegistryWith starts the registry with extra YAML config appended.
func startRegistryWith(t *testing.T, extra string) string {
	t.Helper()
	addr, _ := startStoppableRegistry(t, extra)
	return addr
}

// startStoppableRegistry is startRegistryWith that also returns a function
// stopping the registry before the test ends (it may be called again).
func startStoppableRegistry(t *testing.T, extra string) (addr string, stop func()) {
	t.Helper()
	if _, err := exec.LookPath("docker-registry"); err != nil {
		t.Fatalf("docker-registry is not installed: run scripts/install-deps.sh")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = l.Addr().String()
	l.Close()
	// The images the test pulled or built under the registry's name go
	// with it: they name a port no later run has (run last, after the
	// test's projects are down).
	t.Cleanup(func() { removeImagesOf(t, addr) })
	dir := t.TempDir()
	config := fmt.Sprintf("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n%s", filepath.Join(dir, "data"), addr, extra)
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "docker-registry", "serve", filepath.Join(dir, "config.yml"))
	logPath := filepath.Join(dir, "registry.log")
	logf, err := os.Create(logPath)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			cmd.Wait() //nolint:errcheck // killed on purpose
			logf.Close()
			if t.Failed() {
				b, _ := os.ReadFile(logPath)
				t.Logf("registry log:\n%s", b)
			}
		})
	}
	t.Cleanup(stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return addr, stop
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("registry at %s did not answer: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// removeImagesOf removes the shared daemon's images whose names begin
// with registry.
func removeImagesOf(t *testing.T, registry string) {
	t.Helper()
	r := runBerth(t, "", nil, nil, 0, "image", "ls", "--format", "json")
	if r.code != 0 {
		t.Errorf("cleanup: image ls: %s", r)
		return
	}
	var refs []string
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var img struct{ Repository, Tag string }
		if line == "" || json.Unmarshal([]byte(line), &img) != nil {
			continue
		}
		if strings.HasPrefix(img.Repository, registry+"/") {
			ref := img.Repository
			if img.Tag != "" && img.Tag != "<none>" {
				ref += ":" + img.Tag
			}
			refs = append(refs, ref)
		}
	}
	if len(refs) == 0 {
		return
	}
	if r := runBerth(t, "", nil, nil, 0, append([]string{"image", "rm"}, refs...)...); r.code != 0 {
		t.Errorf("cleanup: image rm %v: %s", refs, r)
	}
}

var digestLine = regexp.MustCompile(`\(sha256:([0-9a-f]{64})\)`)

// pushTestImage writes the busybox archive and pushes it to the registry
// with skopeo; it returns the manifest digest.
func pushTestImage(t *testing.T, registry, repo string) string {
	t.Helper()
	archive := filepath.Join(t.TempDir(), "busybox.tar")
	out, err := exec.Command(filepath.Join(repoRoot, "scripts", "busybox-image.sh"), archive, registry+"/"+repo).CombinedOutput()
	if err != nil {
		t.Fatalf("busybox-image.sh: %v: %s", err, out)
	}
	m := digestLine.FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("no digest in %q", out)
	}
	if out, err := exec.Command("skopeo", "copy", "--quiet", "--dest-tls-verify=false", "oci-archive:"+archive, "docker://"+registry+"/"+repo).CombinedOutput(); err != nil {
		t.Fatalf("skopeo copy: %v: %s", err, out)
	}
	return m[1]
}

func TestPullFromLoopbackRegistry(t *testing.T) {
	t.Parallel()
	registry := startRegistry(t)
	digest := pushTestImage(t, registry, "e2e/busybox:1")
	image := registry + "/e2e/busybox:1"
	p := newProject(t, `
services:
  app:
    image: `+image+`
    command: [sleep, "600"]
    stop_signal: SIGKILL
  never:
    image: `+registry+`/e2e/absent:1
    pull_policy: never
    profiles: [never]
`, nil)

	r := p.must("pull")
	if !strings.Contains(r.stderr, "Pulled") {
		t.Errorf("pull printed no progress:\n%s", r.stderr)
	}
	r = p.must("up", "-d")
	if strings.Contains(r.stderr, "Pulling") {
		t.Errorf("up pulled an image that was present (pull_policy missing):\n%s", r.stderr)
	}
	// images lists the images of the project's containers, as compose's.
	images := p.must("images", "--format", "json").stdout
	if !strings.Contains(images, `"Repository":"`+registry+`/e2e/busybox"`) || !strings.Contains(images, digest[:12]) {
		t.Errorf("images after up = %s; want %s with ID %s (the pushed digest)", images, image, digest[:12])
	}
	if ps := p.ps(false); len(ps) != 1 || ps[0].State != "running" {
		t.Errorf("ps = %+v, want app running", ps)
	}

	r = p.berth("--profile", "never", "up", "-d", "never")
	if r.code == 0 || !strings.Contains(r.stderr, "pull_policy is never") {
		t.Errorf("pull_policy never with a missing image:\n%s", r)
	}
	for _, c := range p.ps(true) {
		if c.Service == "never" {
			t.Errorf("a container was created for the missing image: %+v", c)
		}
	}
}

func TestPullWithCredentials(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	htpasswd := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(htpasswd, []byte("e2e:"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	registry := startRegistryWith(t, "auth:\n  htpasswd:\n    realm: berth-e2e\n    path: "+htpasswd+"\n")

	// Push with skopeo using the credentials, then pull with berth: first
	// without any, then with them in a docker config file.
	archive := filepath.Join(dir, "busybox.tar")
	if out, err := exec.Command(filepath.Join(repoRoot, "scripts", "busybox-image.sh"), archive, registry+"/private/busybox:1").CombinedOutput(); err != nil {
		t.Fatalf("busybox-image.sh: %v: %s", err, out)
	}
	if out, err := exec.Command("skopeo", "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds", "e2e:s3cret", "oci-archive:"+archive, "docker://"+registry+"/private/busybox:1").CombinedOutput(); err != nil {
		t.Fatalf("skopeo copy: %v: %s", err, out)
	}
	p := newProject(t, `
services:
  app:
    image: `+registry+`/private/busybox:1
    command: [sleep, "600"]
    stop_signal: SIGKILL
`, nil)
	empty := filepath.Join(dir, "empty")
	os.MkdirAll(empty, 0o700)
	r := p.berthEnv([]string{"DOCKER_CONFIG=" + empty}, "pull")
	if r.code == 0 || !strings.Contains(r.stderr, "log in to the registry") {
		t.Errorf("pull without credentials:\n%s", r)
	}

	withCreds := filepath.Join(dir, "docker")
	os.MkdirAll(withCreds, 0o700)
	auth := base64.StdEncoding.EncodeToString([]byte("e2e:s3cret"))
	config := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, registry, auth)
	if err := os.WriteFile(filepath.Join(withCreds, "config.json"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := p.berthEnv([]string{"DOCKER_CONFIG=" + withCreds}, "up", "-d"); r.code != 0 {
		t.Fatalf("up with credentials in DOCKER_CONFIG:\n%s", r)
	}
	if ps := p.ps(false); len(ps) != 1 || ps[0].State != "running" {
		t.Errorf("ps = %+v, want app running", ps)
	}
}
