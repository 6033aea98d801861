//go:build e2e

package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var imageLine = regexp.MustCompile(`(?m)^ *(?:- )?image: (\S+)$`)

// TestConvertKubernetesRegistry: convert kubernetes --registry builds the
// project's build: services, pushes each image once to the registry and
// names it in the manifests by the digest the registry serves; again, the
// cached build gives the same bytes. A registry that cannot be reached
// fails naming the service, the image and the registry, writes nothing
// and leaves no tag behind.
func TestConvertKubernetesRegistry(t *testing.T) {
	t.Parallel()
	registry := startRegistry(t)
	p := newProject(t, `
services:
  api:
    build: ./api
  db:
    build: ./db
    image: ${DB_IMAGE}
  migrate:
    build: ./db
    image: ${DB_IMAGE}
  cache:
    image: `+testImage+`
`, map[string]string{
		"api/Dockerfile": "FROM " + testImage + "\nARG FLAVOR=plain\nLABEL flavor=$FLAVOR\nCOPY api.txt /api.txt\n",
		"api/api.txt":    "api\n",
		"db/Dockerfile":  "FROM " + testImage + "\nCOPY db.txt /db.txt\n",
		"db/db.txt":      "db\n",
	})
	dbImage := p.name + "/db:1"
	p.write(".env", "DB_IMAGE="+dbImage+"\n")
	removeImages(t, "docker.io/library/"+p.name+"-api:latest", "docker.io/"+dbImage)

	r := p.must("convert", "kubernetes", "--registry", registry)
	refs := map[string]string{}
	for _, m := range imageLine.FindAllStringSubmatch(r.stdout, -1) {
		refs[m[1]] = m[1]
	}
	api := registry + "/" + p.name + "-api@sha256:"
	db := registry + "/" + p.name + "/db@sha256:"
	var apiRef, dbRef string
	for ref := range refs {
		switch {
		case strings.HasPrefix(ref, api):
			apiRef = ref
		case strings.HasPrefix(ref, db):
			dbRef = ref
		}
	}
	if apiRef == "" || dbRef == "" {
		t.Fatalf("convert kubernetes --registry names no %s... or %s... image:\n%s", api, db, r)
	}
	// db and migrate share the image: built and pushed once, one digest.
	if n := strings.Count(r.stdout, "image: "+dbRef+"\n"); n != 2 {
		t.Errorf("%s is the image of %d containers, want 2 (db and migrate)", dbRef, n)
	}
	if n := strings.Count(r.stderr, "Image "+registry+"/"+p.name+"/db:1"+"  Pushed"); n != 1 {
		t.Errorf("the shared db image was pushed %d times, want once:\n%s", n, r.stderr)
	}
	if !strings.Contains(r.stdout, "image: "+testImage+"\n") {
		t.Errorf("the pulled cache service does not keep its image %s:\n%s", testImage, r.stdout)
	}
	// The registry serves each digest, and the pushed tag points to it.
	for ref, tag := range map[string]string{apiRef: "latest", dbRef: "1"} {
		repo, digest, _ := strings.Cut(strings.TrimPrefix(ref, registry+"/"), "@")
		if got := registryManifest(t, registry, repo, digest); got != digest {
			t.Errorf("registry serves %s@%s as %s", repo, digest, got)
		}
		if got := registryManifest(t, registry, repo, tag); got != digest {
			t.Errorf("registry's %s:%s is %s, want the manifests' %s", repo, tag, got, digest)
		}
	}

	// Again: the build is cached, the digests and so the bytes the same.
	if again := p.must("convert", "kubernetes", "--registry", registry); again.stdout != r.stdout {
		t.Errorf("a second convert kubernetes --registry differs from the first:\nfirst:\n%s\nsecond:\n%s", r.stdout, again.stdout)
	}

	// A build argument reaches the build: api's image (its label) changes,
	// db's does not.
	spicy := p.must("convert", "kubernetes", "--registry", registry, "--build-arg", "FLAVOR=spicy")
	if strings.Contains(spicy.stdout, "image: "+apiRef+"\n") || !strings.Contains(spicy.stdout, "image: "+api) {
		t.Errorf("convert kubernetes --build-arg FLAVOR=spicy kept api's image %s (or named none):\n%s", apiRef, spicy.stdout)
	}
	if !strings.Contains(spicy.stdout, "image: "+dbRef+"\n") {
		t.Errorf("convert kubernetes --build-arg changed db's image, which has no such argument:\n%s", spicy.stdout)
	}

	// A registry that does not answer: one line per image, nothing written.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	t.Cleanup(func() { removeImagesOf(t, closed) })
	out := filepath.Join(t.TempDir(), "k8s")
	r = p.berth("convert", "kubernetes", "--registry", closed, "-o", out)
	want := `service "api": push image ` + closed + "/" + p.name + "-api to registry " + closed + ": "
	if r.code == 0 || !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, `services "db", "migrate": push image `+closed+"/"+dbImage+" to registry "+closed) || !strings.Contains(r.stderr, "--no-push") {
		t.Errorf("convert kubernetes to an unreachable registry, want a failure with %q, naming db and migrate, suggesting --no-push:\n%s", want, r)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a failed convert kubernetes made %s", out)
	}
	if images := p.must("image", "ls").stdout; strings.Contains(images, closed) {
		t.Errorf("a failed push left its tag behind:\n%s", images)
	}
}

// registryManifest fetches repo's manifest by tag or digest from the
// registry and returns its digest, checked against the bytes served.
func registryManifest(t *testing.T, registry, repo, ref string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+registry+"/v2/"+repo+"/manifests/"+ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", strings.Join([]string{
		"application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
		"application/vnd.docker.distribution.manifest.list.v2+json", "application/vnd.docker.distribution.manifest.v2+json",
	}, ", "))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("fetch %s:%s: %v", repo, ref, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("fetch %s manifest %s: %s %v: %s", repo, ref, resp.Status, err, body)
	}
	sum := sha256.Sum256(body)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	if header := resp.Header.Get("Docker-Content-Digest"); header != digest {
		t.Errorf("registry's %s:%s: Docker-Content-Digest %s, body's digest %s", repo, ref, header, digest)
	}
	return digest
}
