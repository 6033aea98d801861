//go:build e2e

package e2e

import (
	"strings"
	"testing"
)

// TestPullPolicyIncludeDeps: pull SERVICE pulls that service's image
// only; --include-deps pulls its dependencies' too; --policy missing skips
// what is present (even for a service whose pull_policy is always), and
// --policy always pulls what is present, even for a service whose
// pull_policy is never.
func TestPullPolicyIncludeDeps(t *testing.T) {
	t.Parallel()
	registry := startRegistry(t)
	pushTestImage(t, registry, "e2e/app:1")
	pushTestImage(t, registry, "e2e/db:1")
	app, db := registry+"/e2e/app:1", registry+"/e2e/db:1"
	removeImages(t, app, db)
	p := newProject(t, `
services:
  app:
    image: `+app+`
    pull_policy: always
    depends_on: [db]
  db:
    image: `+db+`
    pull_policy: never
`, nil)
	pulled := func(r result, image string) bool {
		return strings.Contains(r.stderr, "Pulled") && manifestDigest(t, image) != ""
	}

	r := p.must("pull", "app")
	if !pulled(r, app) {
		t.Errorf("pull app did not pull %s:\n%s", app, r)
	}
	if manifestDigest(t, db) != "" {
		t.Errorf("pull app pulled its dependency's image %s without --include-deps:\n%s", db, r)
	}

	// db's pull_policy never: --include-deps alone skips it.
	r = p.must("pull", "--include-deps", "app")
	if manifestDigest(t, db) != "" || !strings.Contains(r.stderr, "db") {
		t.Errorf("pull --include-deps app pulled db despite its pull_policy never (or did not name it):\n%s", r)
	}
	// --policy always overrides it.
	r = p.must("pull", "--include-deps", "--policy", "always", "app")
	if !pulled(r, db) {
		t.Errorf("pull --include-deps --policy always app did not pull %s:\n%s", db, r)
	}

	// Both present: --policy missing pulls neither, although app's own
	// pull_policy is always.
	r = p.must("pull", "--policy", "missing")
	if strings.Contains(r.stderr, "Pulled") || strings.Count(r.stderr, "Skipped - Image is already present locally") != 2 {
		t.Errorf("pull --policy missing with both images present:\n%s", r)
	}
	r = p.must("pull", "--policy", "always", "db")
	if !strings.Contains(r.stderr, "Pulled") {
		t.Errorf("pull --policy always db with its image present pulled nothing:\n%s", r)
	}

	// A policy berth does not know fails before anything is pulled.
	if r := p.berth("pull", "--policy", "sometimes"); r.code == 0 || !strings.Contains(r.stderr, `--policy "sometimes"`) {
		t.Errorf("pull --policy sometimes:\n%s", r)
	}
}

// TestPushIncludeDeps: push SERVICE pushes that service's image only;
// --include-deps pushes the images of its dependencies too.
func TestPushIncludeDeps(t *testing.T) {
	t.Parallel()
	registry := startRegistry(t)
	app, lib := registry+"/e2e/app:1", registry+"/e2e/lib:1"
	p := newProject(t, `
services:
  app:
    build: .
    image: `+app+`
    depends_on: [lib]
  lib:
    build: .
    image: `+lib+`
`, map[string]string{"Dockerfile": "FROM " + testImage + "\nRUN echo " + uniq(t) + " > /token\n"})
	removeImages(t, app, lib)
	p.must("build")
	local := manifestDigest(t, app)

	r := p.must("push", "app")
	if got := registryDigest(t, registry, "e2e/app", "1"); got != local {
		t.Errorf("push app: the registry has %q, the local image is %q:\n%s", got, local, r)
	}
	if got := registryDigest(t, registry, "e2e/lib", "1"); got != "" {
		t.Errorf("push app pushed its dependency lib (%s) without --include-deps:\n%s", got, r)
	}
	r = p.must("push", "--include-deps", "app")
	if got := registryDigest(t, registry, "e2e/lib", "1"); got != manifestDigest(t, lib) {
		t.Errorf("push --include-deps app: the registry has lib %q, the local image is %q:\n%s", got, manifestDigest(t, lib), r)
	}
}
