//go:build e2e

package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestImageDigests: config --resolve-image-digests and --lock-image-digests
// pin the services' images to the digests their registry gives, as docker
// compose does (the lock file is an override of images alone); publish
// --resolve-image-digests adds that override to the artifact as
// image-digests.yaml, so that -f oci:// runs the pinned images. An image
// the registry does not have fails, naming the service.
func TestImageDigests(t *testing.T) {
	t.Parallel()
	registry := startRegistry(t)
	digest := "sha256:" + strings.TrimPrefix(pushTestImage(t, registry, "e2e/app:1"), "sha256:")
	image := registry + "/e2e/app:1"
	pinned := image + "@" + digest
	p := newProject(t, `
services:
  app:
    image: `+image+`
    command: ["sleep", "600"]
  again:
    image: `+image+`
`, map[string]string{"absent.yaml": "services:\n  absent:\n    image: " + registry + "/e2e/absent:1\n"})

	lock := "services:\n  again:\n    image: " + pinned + "\n  app:\n    image: " + pinned + "\n"
	if got := p.must("config", "--lock-image-digests").stdout; got != lock {
		t.Errorf("config --lock-image-digests =\n%s\nwant\n%s", got, lock)
	}
	if got := p.must("config", "--no-interpolate", "--lock-image-digests").stdout; got != lock {
		t.Errorf("config --no-interpolate --lock-image-digests =\n%s\nwant\n%s", got, lock)
	}
	full := p.must("config", "--resolve-image-digests").stdout
	if strings.Count(full, "image: "+pinned) != 2 || !strings.Contains(full, "- sleep") || !strings.Contains(full, "name: "+p.name) {
		t.Errorf("config --resolve-image-digests:\n%s", full)
	}
	// The lock file, given after the others, pins what runs.
	p.write("lock.yaml", lock)
	if got := p.must("-f", "compose.yaml", "-f", "lock.yaml", "config", "--images").stdout; got != pinned+"\n"+pinned+"\n" {
		t.Errorf("config --images with the lock file = %q, want %s twice", got, pinned)
	}

	r := p.berth("-f", "compose.yaml", "-f", "absent.yaml", "config", "--lock-image-digests")
	if r.code == 0 || !strings.Contains(r.stderr, `service "absent"`) || !strings.Contains(r.stderr, "e2e/absent:1") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("config --lock-image-digests of an image the registry does not have:\n%s", r)
	}

	// A publish that cannot resolve an image pushes nothing.
	repo := registry + "/e2e/" + p.name + ":1"
	if r := p.berth("-f", "compose.yaml", "-f", "absent.yaml", "publish", "--resolve-image-digests", repo); r.code == 0 || !strings.Contains(r.stderr, `service "absent"`) {
		t.Errorf("publish --resolve-image-digests with an image the registry does not have:\n%s", r)
	}
	if resp, err := http.Get("http://" + registry + "/v2/e2e/" + p.name + "/tags/list"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("a failed publish pushed %s", repo)
		}
	}
	p.must("publish", "--resolve-image-digests", repo)
	req, _ := http.NewRequest(http.MethodGet, "http://"+registry+"/v2/e2e/"+p.name+"/manifests/1", nil)
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	manifest, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(manifest), `"image-digests.yaml"`) {
		t.Errorf("the artifact has no image-digests.yaml layer:\n%s", manifest)
	}
	elsewhere := t.TempDir()
	r = p.run(elsewhere, nil, "-f", "oci://"+repo, "config", "--images")
	if r.code != 0 || r.stdout != pinned+"\n"+pinned+"\n" {
		t.Errorf("config --images of the published artifact = %q, want %s twice\n%s", r.stdout, pinned, r)
	}
	t.Cleanup(func() {
		entries, _ := os.ReadDir(berthDataDir() + "/oci")
		for _, e := range entries {
			if b, err := os.ReadFile(filepath.Join(berthDataDir()+"/oci", e.Name(), "compose.yaml")); err == nil && strings.Contains(string(b), registry) {
				os.RemoveAll(filepath.Join(berthDataDir()+"/oci", e.Name()))
			}
		}
	})
}

// TestPublishApp: publish --app copies the services' images into the
// artifact's repository and pushes, by digest, an index listing them whose
// subject is the compose artifact, as docker compose does; the tag still
// names the compose artifact, which -f oci:// runs.
func TestPublishApp(t *testing.T) {
	t.Parallel()
	registry := startRegistry(t)
	digest := "sha256:" + strings.TrimPrefix(pushTestImage(t, registry, "e2e/app:1"), "sha256:")
	p := newProject(t, `
services:
  app:
    image: `+registry+`/e2e/app:1
    command: ["sleep", "600"]
`, nil)
	repo := registry + "/e2e/" + p.name + ":1"
	r := p.must("publish", "--app", repo)
	m := regexp.MustCompile(`published \((sha256:[0-9a-f]{64})\)\n1 images copied into .*, listed in the index (sha256:[0-9a-f]{64})`).FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("publish --app said:\n%s", r)
	}
	artifact, index := m[1], m[2]
	get := func(ref, accept string) (int, []byte) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+registry+"/v2/e2e/"+p.name+"/manifests/"+ref, nil)
		req.Header.Set("Accept", accept)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	code, b := get(index, "application/vnd.oci.image.index.v1+json")
	var idx struct {
		Manifests []struct{ Digest string }
		Subject   struct{ Digest string }
	}
	if err := json.Unmarshal(b, &idx); code != http.StatusOK || err != nil {
		t.Fatalf("the index %s in the repository: HTTP %d %v\n%s", index, code, err, b)
	}
	if idx.Subject.Digest != artifact || len(idx.Manifests) != 1 || idx.Manifests[0].Digest != digest {
		t.Errorf("the index = %s; want subject %s and the image %s", b, artifact, digest)
	}
	if code, b := get(digest, "application/vnd.oci.image.manifest.v1+json,application/vnd.oci.image.index.v1+json"); code != http.StatusOK {
		t.Errorf("the image %s was not copied into the repository: HTTP %d %s", digest, code, b)
	}
	if code, _ := get("1", "application/vnd.oci.image.manifest.v1+json"); code != http.StatusOK {
		t.Errorf("the tag no longer names the compose artifact: HTTP %d", code)
	}
	r = p.run(t.TempDir(), nil, "-f", "oci://"+repo, "config", "--images")
	if r.code != 0 || r.stdout != registry+"/e2e/app:1@"+digest+"\n" {
		t.Errorf("config --images of the artifact = %q, want the image pinned\n%s", r.stdout, r)
	}
	t.Cleanup(func() {
		entries, _ := os.ReadDir(berthDataDir() + "/oci")
		for _, e := range entries {
			if b, err := os.ReadFile(filepath.Join(berthDataDir()+"/oci", e.Name(), "compose.yaml")); err == nil && strings.Contains(string(b), registry) {
				os.RemoveAll(filepath.Join(berthDataDir()+"/oci", e.Name()))
			}
		}
	})
}
