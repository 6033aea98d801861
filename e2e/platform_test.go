//go:build e2e

package e2e

import (
	"archive/tar"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/docker/go-units"
)

// imageLsRow is the part of `image ls --format json` the tests read.
type imageLsRow struct {
	Repository, Tag, ID, Size string
}

// imageLs lists the images of repository ref (image ls REF).
func imageLs(t *testing.T, p *project, ref string) []imageLsRow {
	t.Helper()
	var rows []imageLsRow
	dec := json.NewDecoder(strings.NewReader(p.must("image", "ls", "--format", "json", ref).stdout))
	for dec.More() {
		var r imageLsRow
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	return rows
}

// humanSize reads a size as image ls prints it (1.05MB).
func humanSize(t *testing.T, s string) int64 {
	t.Helper()
	n, err := units.FromHumanSize(s)
	if err != nil {
		t.Fatalf("size %q: %v", s, err)
	}
	return n
}

// TestPullForeignPlatform pulls the arm64 manifest of a multi-platform
// image (the bug of issue 15: "Pulled", then up, save and images failed
// on the missing amd64 content), runs it under qemu, then pulls the
// native platform into the same image.
func TestPullForeignPlatform(t *testing.T) {
	t.Parallel()
	registry := startRegistry(t)
	multi := pushMultiArchImage(t, registry, "e2e/multi:1")
	ref := registry + "/e2e/multi:1"
	removeImagesAtEnd(t, ref)
	p := newProject(t, `
services:
  arm:
    image: `+ref+`
    platform: linux/arm64
    command: [uname, -m]
`, nil)

	r := p.must("image", "pull", "--platform", "linux/arm64", ref)
	if !strings.Contains(r.stderr, "Pulled (linux/arm64") {
		t.Errorf("a foreign-platform pull does not say which platform it pulled:\n%s", r)
	}
	if !strings.Contains(r.stdout, "Digest: "+multi.Index) {
		t.Errorf("image pull printed another digest than the index's %s:\n%s", multi.Index, r)
	}
	rows := imageLs(t, p, ref)
	if len(rows) != 1 || humanSize(t, rows[0].Size) < 500_000 {
		t.Fatalf("image ls after the arm64 pull = %+v; want one row with the arm64 content's size (about 1MB)", rows)
	}
	armOnly := humanSize(t, rows[0].Size)
	if got := p.must("image", "inspect", "-f", "{{.Os}}/{{.Architecture}}", ref).stdout; strings.TrimSpace(got) != "linux/arm64" {
		t.Errorf("image inspect platform = %q, want linux/arm64", got)
	}
	archive := filepath.Join(t.TempDir(), "multi.tar")
	p.must("image", "save", "-o", archive, ref)
	if fi, err := os.Stat(archive); err != nil || fi.Size() < 100_000 {
		t.Errorf("image save of the arm64 image: %v, %v; want an archive with its layer", fi, err)
	}

	// It runs under qemu (binfmt_misc's qemu-aarch64 handler), with a
	// warning that it is emulated.
	r = p.must("up", "arm")
	if !strings.Contains(r.stdout, "aarch64") {
		t.Errorf("uname -m in the arm64 container did not say aarch64:\n%s", r)
	}
	if !strings.Contains(r.stderr, "emulated") {
		t.Errorf("up of an emulated image gave no warning:\n%s", r)
	}
	if out := p.must("images", "--format", "json").stdout; !strings.Contains(out, `"Platform":"linux/arm64"`) || strings.Contains(out, `"Size":-1`) {
		t.Errorf("images = %s; want the arm64 platform and a real size", out)
	}

	// The native platform pulled afterwards joins the same image.
	r = p.must("image", "pull", ref)
	if strings.Contains(r.stderr, "Pulled (") {
		t.Errorf("a native pull named a platform:\n%s", r)
	}
	if got := p.must("image", "inspect", "-f", "{{.Architecture}}", ref).stdout; strings.TrimSpace(got) != "amd64" {
		t.Errorf("image inspect after the native pull = %q, want amd64 (this host's)", got)
	}
	r = p.must("up", "arm")
	if !strings.Contains(r.stdout, "aarch64") {
		t.Errorf("the arm64 service after the native pull did not run arm64:\n%s", r)
	}
	// image inspect --platform picks a platform of the image.
	if got := p.must("image", "inspect", "--platform", "linux/arm64", "-f", "{{.Architecture}} {{.RepoTags}}", ref).stdout; strings.TrimSpace(got) != "arm64 ["+ref+"]" {
		t.Errorf("image inspect --platform linux/arm64 = %q, want arm64 [%s]", got, ref)
	}
	r = p.berth("image", "inspect", "--platform", "linux/s390x", ref)
	if r.code == 0 || !strings.Contains(r.stderr, "no linux/s390x content here (it holds linux/amd64, linux/arm64)") {
		t.Errorf("image inspect --platform of a platform the image lacks:\n%s", r)
	}
	// image ls --tree lists both platforms under the image, by manifest.
	tree := p.must("image", "ls", "--tree", ref).stdout
	for plat, m := range multi.Manifests {
		if !regexp.MustCompile(`(?m)^[├└]─ ` + plat + ` +` + strings.TrimPrefix(m, "sha256:")[:12] + ` +[0-9.]+[kM]B +yes$`).MatchString(tree) {
			t.Errorf("image ls --tree does not list %s (%s) as present:\n%s", plat, m, tree)
		}
	}
	if rows := imageLs(t, p, ref); len(rows) != 1 || humanSize(t, rows[0].Size) < armOnly*3/2 {
		t.Errorf("image ls after both pulls = %+v; want both platforms' size (the arm64 one was %d)", rows, armOnly)
	}
}

// TestPullPlatformBadInput: an unknown platform, one the image does not
// have, and a platform that cannot run here (faked: an empty binfmt_misc
// directory) each fail with one line and leave no image behind.
func TestPullPlatformBadInput(t *testing.T) {
	t.Parallel()
	registry := startRegistry(t)
	pushMultiArchImage(t, registry, "e2e/multi:1")
	ref := registry + "/e2e/multi:1"
	removeImagesAtEnd(t, ref)
	p := newProject(t, `
services:
  arm:
    image: `+ref+`
    platform: linux/arm64
    command: [uname, -m]
`, nil)

	for _, tt := range []struct {
		platform string
		want     []string
	}{
		{"linux/amd46", []string{`unknown platform "linux/amd46"`, "linux/arm64"}},
		{"linux/s390x", []string{ref, "no linux/s390x manifest", "linux/amd64, linux/arm64"}},
	} {
		r := p.berth("image", "pull", "--platform", tt.platform, ref)
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		last := lines[len(lines)-1]
		if r.code == 0 {
			t.Errorf("pull --platform %s succeeded:\n%s", tt.platform, r)
		}
		for _, w := range tt.want {
			if !strings.Contains(last, w) {
				t.Errorf("pull --platform %s: last line %q does not say %q", tt.platform, last, w)
			}
		}
		if rows := imageLs(t, p, ref); len(rows) != 0 {
			t.Errorf("pull --platform %s left an image: %+v", tt.platform, rows)
		}
	}

	// Without emulation the content is kept, not unpacked, and up says
	// how to enable it.
	noQemu := []string{"BERTH_BINFMT_DIR=" + t.TempDir()}
	r := p.berthEnv(noQemu, "image", "pull", "--platform", "linux/arm64", ref)
	if r.code != 0 || !strings.Contains(r.stderr, "Pulled (linux/arm64, content only") {
		t.Errorf("pull of a platform that cannot run here:\n%s", r)
	}
	r = p.berthEnv(noQemu, "up", "arm")
	if r.code == 0 || !strings.Contains(r.stderr, "qemu-aarch64") || !strings.Contains(r.stderr, "install-deps.sh") {
		t.Errorf("up of an arm64 image without emulation:\n%s", r)
	}
	if ps := p.ps(true); len(ps) != 0 {
		t.Errorf("up without emulation left containers: %+v", ps)
	}
}

// archiveBlobs lists the blob digests (sha256:…) in an OCI archive.
func archiveBlobs(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]bool{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if rest, ok := strings.CutPrefix(strings.TrimPrefix(h.Name, "./"), "blobs/sha256/"); ok && rest != "" {
			out["sha256:"+rest] = true
		}
	}
}

// TestPushSaveLoadPlatforms: push of a multi-platform image pushes its
// index with every stored platform (a new index of the stored ones when
// some are not); save --platform writes that platform; load keeps an
// archive's platforms; a plain pull takes this host's platform.
func TestPushSaveLoadPlatforms(t *testing.T) {
	t.Parallel()
	registry := startRegistry(t)
	multi := pushMultiArchImage(t, registry, "e2e/multi:1")
	partial := pushMultiArchImage(t, registry, "e2e/partial:1")
	ref, copyRef := registry+"/e2e/multi:1", registry+"/e2e/copy:1"
	partialRef, partialCopy := registry+"/e2e/partial:1", registry+"/e2e/partial-copy:1"
	removeImagesAtEnd(t, ref, copyRef, partialRef, partialCopy)
	p := newProject(t, "services: {}\n", nil)

	p.must("image", "pull", "--platform", "linux/arm64", ref)
	p.must("image", "pull", ref)
	p.must("image", "tag", ref, copyRef)
	r := p.must("image", "push", copyRef)
	if !strings.Contains(r.stderr, "Pushed (index: linux/amd64, linux/arm64)") || !strings.Contains(r.stdout, multi.Index) {
		t.Errorf("push of the two-platform image does not say it pushed the index %s with both:\n%s", multi.Index, r)
	}
	if got := registryManifests(t, registry, "e2e/copy", "1"); len(got) != 2 || got["linux/amd64"] != multi.Manifests["linux/amd64"] || got["linux/arm64"] != multi.Manifests["linux/arm64"] {
		t.Errorf("the registry's index after push = %v; want %v", got, multi.Manifests)
	}

	// Only arm64 stored: a new index of it is pushed.
	p.must("image", "pull", "--platform", "linux/arm64", partialRef)
	p.must("image", "tag", partialRef, partialCopy)
	r = p.must("image", "push", partialCopy)
	if !strings.Contains(r.stderr, "Pushed (index: linux/arm64)") || strings.Contains(r.stdout, partial.Index) {
		t.Errorf("push of the arm64 part of an index:\n%s", r)
	}
	if got := registryManifests(t, registry, "e2e/partial-copy", "1"); len(got) != 1 || got["linux/arm64"] != partial.Manifests["linux/arm64"] {
		t.Errorf("the registry's index after the partial push = %v; want only linux/arm64 %s", got, partial.Manifests["linux/arm64"])
	}

	// save --platform writes that platform only.
	dir := t.TempDir()
	armTar := filepath.Join(dir, "arm.tar")
	p.must("image", "save", "--platform", "linux/arm64", "-o", armTar, ref)
	blobs := archiveBlobs(t, armTar)
	if !blobs[multi.Manifests["linux/arm64"]] || blobs[multi.Manifests["linux/amd64"]] {
		t.Errorf("save --platform linux/arm64 wrote blobs %v; want the arm64 manifest %s and not the amd64 one", blobs, multi.Manifests["linux/arm64"])
	}
	allTar := filepath.Join(dir, "all.tar")
	p.must("save", "-o", allTar, ref)
	if blobs := archiveBlobs(t, allTar); !blobs[multi.Manifests["linux/arm64"]] || !blobs[multi.Manifests["linux/amd64"]] {
		t.Errorf("save without --platform wrote blobs %v; want both manifests %v", blobs, multi.Manifests)
	}
	bad := filepath.Join(dir, "bad.tar")
	r = p.berth("image", "save", "--platform", "linux/s390x", "-o", bad, partialRef)
	if r.code == 0 || !strings.Contains(r.stderr, partialRef) || !strings.Contains(r.stderr, "linux/s390x") || !strings.Contains(r.stderr, "holds linux/arm64)") {
		t.Errorf("save --platform of a platform the image lacks:\n%s", r)
	}
	if n := len(strings.Split(strings.TrimSpace(r.stderr), "\n")); n != 1 {
		t.Errorf("save --platform of a missing platform printed %d lines, want 1:\n%s", n, r.stderr)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("a failed save left files: %v", entries)
	}

	// load keeps what it reads: an arm64-only archive, into a store
	// without that image.
	partialTar := filepath.Join(dir, "partial.tar")
	p.must("image", "save", "-o", partialTar, partialRef)
	p.must("image", "rm", partialRef, partialCopy)
	p.must("image", "load", "-i", partialTar)
	if got := p.must("image", "inspect", "-f", "{{.Os}}/{{.Architecture}}", partialRef).stdout; strings.TrimSpace(got) != "linux/arm64" {
		t.Errorf("image inspect after loading the arm64 archive = %q", got)
	}

	// A plain pull on a box with nothing of the image takes this host's
	// platform only.
	p.must("image", "rm", ref, copyRef)
	p.must("image", "pull", copyRef)
	tree := p.must("image", "ls", "--tree", "-a", copyRef).stdout
	if !regexp.MustCompile(`(?m)^├─ linux/amd64 .* yes$`).MatchString(tree) || !regexp.MustCompile(`(?m)^└─ linux/arm64 .* no$`).MatchString(tree) {
		t.Errorf("image ls --tree -a after a plain pull:\n%s\nwant linux/amd64 stored and linux/arm64 not", tree)
	}
}

// TestUpPullsServicePlatform: up pulls the platform a service's
// platform: names when the image is stored without it, and compose's
// pull says which platform it pulled.
func TestUpPullsServicePlatform(t *testing.T) {
	t.Parallel()
	registry := startRegistry(t)
	pushMultiArchImage(t, registry, "e2e/multi:1")
	ref := registry + "/e2e/multi:1"
	removeImagesAtEnd(t, ref)
	p := newProject(t, `
services:
  arm:
    image: `+ref+`
    platform: linux/arm64
    command: [uname, -m]
  native:
    image: `+ref+`
    command: [uname, -m]
`, nil)

	r := p.must("up", "native")
	if !strings.Contains(r.stdout, "x86_64") {
		t.Errorf("the native service did not run this host's platform:\n%s", r)
	}
	// The image is stored, but not for linux/arm64: up pulls that.
	r = p.must("up", "arm")
	if !strings.Contains(r.stderr, "Pulled (linux/arm64") || !strings.Contains(r.stdout, "aarch64") {
		t.Errorf("up of the arm64 service with only amd64 stored:\n%s", r)
	}
	r = p.must("pull", "arm")
	if !strings.Contains(r.stderr, "Pulled (linux/arm64") {
		t.Errorf("pull of the arm64 service does not name its platform:\n%s", r)
	}
	// Services sharing the image with different platforms each pull
	// theirs (compose pulls an image once: by image and platform here).
	r = p.must("pull", "arm", "native")
	if !strings.Contains(r.stderr, "Pulled (linux/arm64") || !regexp.MustCompile(`(?m)Pulled$`).MatchString(r.stderr) || strings.Contains(r.stderr, "already being pulled") {
		t.Errorf("pull of services of two platforms of one image:\n%s", r)
	}
}
