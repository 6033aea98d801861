//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// bundleStack is a project of a service built from a Dockerfile (an
// httpd serving what its image holds and a config file of the project)
// and one running the loaded test image.
func bundleStack(t *testing.T, port int) *project {
	compose := fmt.Sprintf(`services:
  web:
    build: ./web
    ports: ["127.0.0.1:%d:8080"]
    env_file: web.env
    configs:
      - source: greeting
        target: /www/greeting.txt
    secrets:
      - source: token
        target: /www/token.txt
  cache:
    image: %s
    command: ["sleep", "3600"]
configs:
  greeting:
    file: ./greeting.txt
secrets:
  token:
    file: ./token.txt
`, port, testImage)
	return newProject(t, compose, map[string]string{
		"web/Dockerfile": webDockerfile("v1"),
		"web.env":        "MODE=edge\n",
		"greeting.txt":   "hello from the bundle\n",
		"token.txt":      "laptop-only-token\n",
	})
}

func webDockerfile(version string) string {
	return "FROM " + testImage + "\nRUN mkdir -p /www && echo " + version + " > /www/index.html\nCMD [\"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]\n"
}

// boxRun runs berth ARGS... on the box in dir and returns its output and
// whether it succeeded.
func boxRun(d *privateDaemon, dir string, env []string, args ...string) (string, bool) {
	cmd := d.command(dir, args...)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err == nil
}

// boxState is what the box holds: its images, its content and its bundles' project directories.
func boxState(t *testing.T, d *privateDaemon) string {
	t.Helper()
	images := strings.Fields(d.ctr("images", "ls", "-q"))
	content := []string{}
	for _, line := range strings.Split(d.ctr("content", "ls"), "\n")[1:] {
		if f := strings.Fields(line); len(f) > 0 {
			content = append(content, f[0])
		}
	}
	sort.Strings(images)
	sort.Strings(content)
	entries, _ := os.ReadDir(filepath.Join(d.dataDir, "bundles"))
	var dirs []string
	for _, e := range entries {
		dirs = append(dirs, e.Name())
	}
	return fmt.Sprintf("images %v\ncontent %v\nbundles %v", images, content, dirs)
}

// rewriteEntry is a bundle with one entry's content changed by edit.
func rewriteEntry(t *testing.T, data []byte, name string, edit func([]byte) []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		if hdr.Name == name {
			body = edit(body)
		}
		hdr.Size = int64(len(body))
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		tw.Write(body) //nolint:errcheck // a bytes.Buffer
	}
	tw.Close()
	return out.Bytes()
}

// TestBundleToOfflineBox: a bundle of a built and a loaded image is the
// same bytes twice; on a box of its own (data dir, run dir, containerd)
// with no registry, bad bundles leave nothing, the bundle loads and
// -p NAME up runs it; an update of one service is smaller and loads on
// top of it.
func TestBundleToOfflineBox(t *testing.T) {
	port := freePort(t)
	p := bundleStack(t, port)
	p.timeout = 5 * 60e9
	out := t.TempDir()
	v1, v1again := filepath.Join(out, "v1.tar"), filepath.Join(out, "v1-again.tar")
	// create builds only missing images, as up does: an earlier run's
	// image of the same name would do.
	p.must("build", "web")
	r := p.must("bundle", "create", "-o", v1)
	if !strings.Contains(r.stdout, "Bundle "+v1+": project "+p.name+" for linux/amd64, 2 services, 2 images") {
		t.Errorf("bundle create said:\n%s", r)
	}
	p.must("bundle", "create", "-o", v1again)
	b1, b1again := readAll(t, v1), readAll(t, v1again)
	if !bytes.Equal(b1, b1again) {
		t.Fatalf("two bundles of the same project differ (%d and %d bytes)", len(b1), len(b1again))
	}
	if bytes.Contains(b1, []byte(p.dir)) {
		t.Errorf("the bundle names the project directory %s", p.dir)
	}
	if bytes.Contains(b1, []byte("laptop-only-token")) {
		t.Errorf("the bundle holds the secret, without --include-secrets")
	}
	if !strings.Contains(r.stdout, "Secret token is not in the bundle: put its file at secrets/token") {
		t.Errorf("bundle create does not say the box must provide the secret:\n%s", r)
	}
	var inspect struct {
		Project, Platform string
		Services          []struct{ Name, Image string }
		Images            []struct {
			Name, Digest, Platform string
			Size                   int64
		}
		TotalSize int64
	}
	r = p.must("bundle", "inspect", "--format", "json", v1)
	if err := json.Unmarshal([]byte(r.stdout), &inspect); err != nil {
		t.Fatalf("bundle inspect --format json: %v\n%s", err, r.stdout)
	}
	if inspect.Project != p.name || inspect.Platform != "linux/amd64" || len(inspect.Services) != 2 || len(inspect.Images) != 2 || inspect.TotalSize <= 0 {
		t.Errorf("bundle inspect: %+v", inspect)
	}
	for _, img := range inspect.Images {
		if !strings.HasPrefix(img.Digest, "sha256:") || img.Platform != "linux/amd64" || img.Size <= 0 {
			t.Errorf("bundle inspect: image %+v", img)
		}
	}

	// The update: web changes, cache does not.
	p.write("web/Dockerfile", webDockerfile("v2"))
	p.must("build", "web")
	v2 := filepath.Join(out, "v2.tar")
	p.must("bundle", "create", "--since", v1, "-o", v2)
	b2 := readAll(t, v2)
	if len(b2) >= len(b1) {
		t.Errorf("the update is %d bytes, its base %d: want it smaller", len(b2), len(b1))
	}
	if r := p.must("bundle", "inspect", v2); !strings.Contains(r.stdout, "Update of bundle v1.tar (sha256:") {
		t.Errorf("bundle inspect of the update:\n%s", r.stdout)
	}

	// The box.
	d := newPrivateDaemon(t)
	boxDir := t.TempDir()
	t.Cleanup(func() {
		if out, ok := boxRun(d, boxDir, nil, "-p", p.name, "down", "-t", "0"); !ok {
			t.Errorf("box: down: %s", out)
		}
	})
	d.must(boxDir, "image", "rm", testImage)
	empty := boxState(t, d)

	bad := map[string][]byte{
		"truncated":         b1[:len(b1)*2/3],
		"wrong digest":      flipInBlob(t, b1),
		"other platform":    rewriteEntry(t, b1, "berth-bundle.json", func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("linux/amd64"), []byte("linux/arm64")) }),
		"update, no base":   b2,
		"not a bundle file": []byte("hello\n"),
	}
	want := map[string]string{
		"truncated":         "truncated",
		"wrong digest":      "has the digest",
		"other platform":    "running a bundle for linux/arm64 on this linux/amd64 host needs qemu user emulation",
		"update, no base":   "it is an update of bundle v1.tar (sha256:",
		"not a bundle file": "not a berth bundle",
	}
	noEmulation := []string{"BERTH_BINFMT_DIR=" + t.TempDir()}
	for name, data := range bad {
		file := filepath.Join(out, strings.ReplaceAll(name, " ", "-")+".tar")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		msg, ok := boxRun(d, boxDir, noEmulation, "bundle", "load", file)
		if ok || !strings.Contains(msg, want[name]) || strings.Count(strings.TrimSpace(msg), "\n") > 0 {
			t.Errorf("bundle load of a bundle %s: ok %v, said:\n%s\nwant one line with %q", name, ok, msg, want[name])
		}
		if got := boxState(t, d); got != empty {
			t.Errorf("bundle load of a bundle %s left on the box:\n%s\nwas:\n%s", name, got, empty)
		}
	}

	dir := filepath.Join(t.TempDir(), "app")
	msg := d.must(boxDir, "bundle", "load", "--dir", dir, v1)
	for _, want := range []string{"Loaded bundle " + v1 + ": project " + p.name + " for linux/amd64, 2 images", "Next: berth -p " + p.name + " up -d", "cd " + dir + " && berth up -d"} {
		if !strings.Contains(msg, want) {
			t.Errorf("bundle load said:\n%s\nwant %q", msg, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "compose.yaml")); err != nil {
		t.Errorf("bundle load --dir: %v", err)
	}
	secret := filepath.Join(d.dataDir, "bundles", p.name, "secrets", "token")
	if !strings.Contains(msg, "Secret token is not in the bundle: put its file at "+secret+" before up") {
		t.Errorf("bundle load does not say where the secret goes:\n%s", msg)
	}
	if err := os.MkdirAll(filepath.Dir(secret), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secret, []byte("box-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// No compose file where it runs: the loaded bundle's project, and no
	// image is pulled (berth-e2e.local names no registry).
	d.must(boxDir, "-p", p.name, "up", "-d", "--wait")
	if code, body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); code != 200 || strings.TrimSpace(body) != "v1" {
		t.Errorf("web on the box: %d %q, want 200 v1", code, body)
	}
	if code, body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/greeting.txt", port)); code != 200 || body != "hello from the bundle\n" {
		t.Errorf("web's config on the box: %d %q", code, body)
	}
	if ps := d.must(boxDir, "-p", p.name, "ps", "--format", "{{.Service}} {{.State}}"); !strings.Contains(ps, "web running") || !strings.Contains(ps, "cache running") {
		t.Errorf("ps on the box:\n%s", ps)
	}
	d.must(boxDir, "-p", p.name, "up", "-d", "--pull", "never")

	msg = d.must(boxDir, "bundle", "load", v2)
	if !strings.Contains(msg, "Loaded bundle "+v2) {
		t.Errorf("bundle load of the update said:\n%s", msg)
	}
	d.must(boxDir, "-p", p.name, "up", "-d", "--wait")
	if code, body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); code != 200 || strings.TrimSpace(body) != "v2" {
		t.Errorf("web on the box after the update: %d %q, want 200 v2", code, body)
	}
	// The secret the box provided is kept through the update.
	if code, body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/token.txt", port)); code != 200 || body != "box-token\n" {
		t.Errorf("web's secret on the box after the update: %d %q", code, body)
	}
}

func readAll(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// flipInBlob is a bundle with one byte of its largest blob changed.
func flipInBlob(t *testing.T, data []byte) []byte {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(data))
	var name string
	var size int64
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(hdr.Name, "blobs/") && hdr.Size > size {
			name, size = hdr.Name, hdr.Size
		}
	}
	return rewriteEntry(t, data, name, func(b []byte) []byte {
		b = bytes.Clone(b)
		b[len(b)/2] ^= 0xff
		return b
	})
}
