//go:build e2e

package e2e

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// armStoryNamespace is the containerd namespace of the shared daemon that
// TestEdgeStackOnArm64 builds in. Its debian:bookworm-slim is the index of
// the native and the arm64 Debian (the default namespace's, which other
// tests build FROM, stays native only), and its build cache outlives the
// test: the edge-stack's apt-get steps under qemu take many minutes cold,
// so a later run builds from the cache. Nothing else in it is kept.
const armStoryNamespace = "e2e-armstory"

// armStoryPlatforms are the platforms of the one build: an index.
const armStoryPlatforms = "linux/arm64,linux/amd64"

// TestEdgeStackOnArm64 is issue 15's story end to end: examples/edge-stack
// is built for linux/arm64 and linux/amd64 in one build (an index per
// image, the arm64 RUN steps under qemu), pushed to a registry, its arm64
// manifests pulled back and bundled for linux/arm64; on a box of its own
// (data dir, run dir, containerd) with the registry gone, the bundle loads
// and the stack comes up healthy: the api on 127.0.0.1 answers with the
// rows the arm64 worker writes, and its containers are aarch64. A second
// build of the same is all from the cache.
func TestEdgeStackOnArm64(t *testing.T) {
	ns := []string{"CONTAINERD_NAMESPACE=" + armStoryNamespace}
	loadDebianIndex(t, "docker.io/library/debian:bookworm-slim", "--namespace", armStoryNamespace)
	registry, stopRegistry := startStoppableRegistry(t, "")
	s := newEdgeStack(t)
	// Cold, each image's apt-get runs under qemu: tens of minutes.
	s.timeout = 90 * time.Minute

	// The images get names in the registry: push and pull need them.
	images := map[string]string{}
	compose := readFile(t, filepath.Join(s.dir, "compose.yaml"))
	for _, svc := range []string{"db", "worker", "api"} {
		images[svc] = registry + "/armstory/" + svc + ":1"
	}
	compose = strings.ReplaceAll(compose, "image: edge-stack-db", "image: "+images["db"])
	for _, svc := range []string{"worker", "api"} {
		compose = strings.Replace(compose, "build: ./"+svc+"\n", "build: ./"+svc+"\n    image: "+images[svc]+"\n", 1)
	}
	// Under qemu a probe's process starts slowly (node's alone takes
	// seconds on this 2-core machine, more when it is busy): the example's
	// 3 s probe timeout is for a native box.
	compose = strings.ReplaceAll(compose, "      timeout: 3s\n", "      timeout: 60s\n")
	if strings.Count(compose, registry) != 4 || strings.Count(compose, "timeout: 60s") != 2 {
		t.Fatalf("the edge-stack's compose.yaml changed: cannot name its images in the registry or set its probes' timeouts:\n%s", compose)
	}
	s.write("compose.yaml", compose)
	t.Cleanup(func() {
		// The images of this run (their names hold the registry's
		// port); the Debian index and the build cache stay.
		args := []string{"--address", daemonAddress(), "-n", armStoryNamespace, "images", "rm"}
		for _, ref := range images {
			args = append(args, ref)
		}
		exec.Command(ctrBin, args...).Run() //nolint:errcheck // absent is fine
	})

	start := time.Now()
	r := s.mustEnv(ns, "build", "--platform", armStoryPlatforms)
	t.Logf("build --platform %s: %s", armStoryPlatforms, time.Since(start).Round(time.Second))
	for svc, ref := range images {
		if arm, amd := archIn(t, ns, ref, "linux/arm64"), archIn(t, ns, ref, "linux/amd64"); arm != "arm64" || amd != "amd64" {
			t.Errorf("%s's image %s: image inspect --platform says %q and %q, want arm64 and amd64 (an index)", svc, ref, arm, amd)
		}
	}

	start = time.Now()
	s.mustEnv(ns, "push")
	t.Logf("push: %s", time.Since(start).Round(time.Second))
	for svc, ref := range images {
		repo, tag, _ := strings.Cut(strings.TrimPrefix(ref, registry+"/"), ":")
		m := registryManifests(t, registry, repo, tag)
		if len(m) != 2 || m["linux/arm64"] == "" || m["linux/amd64"] == "" {
			t.Errorf("the registry's %s (%s) lists %v, want an index of linux/arm64 and linux/amd64", svc, ref, m)
		}
	}

	// The arm64 manifests back from the registry, in place of the built
	// images: the bundle is made of what was pulled.
	refs := []string{"image", "rm"}
	for _, ref := range images {
		refs = append(refs, ref)
	}
	s.mustEnv(ns, refs...)
	for svc, ref := range images {
		r = s.mustEnv(ns, "image", "pull", "--platform", "linux/arm64", ref)
		if got := archIn(t, ns, ref, "linux/arm64"); got != "arm64" {
			t.Errorf("%s after pull --platform linux/arm64: image inspect --platform linux/arm64 says %q:\n%s", svc, got, r)
		}
	}

	bundle := filepath.Join(t.TempDir(), "edge-stack-arm64.tar")
	start = time.Now()
	r = s.mustEnv(ns, "bundle", "create", "--platform", "linux/arm64", "-o", bundle)
	t.Logf("bundle create --platform linux/arm64: %s", time.Since(start).Round(time.Second))
	if !strings.Contains(r.stdout, "project "+s.name+" for linux/arm64, 4 services, 3 images") {
		t.Errorf("bundle create said:\n%s", r)
	}
	if info, err := os.Stat(bundle); err == nil {
		t.Logf("bundle: %d bytes", info.Size())
	}
	var inspect struct {
		Platform string
		Images   []struct{ Name, Platform string }
	}
	mustJSON(t, s.mustEnv(ns, "bundle", "inspect", "--format", "json", bundle).stdout, &inspect)
	if inspect.Platform != "linux/arm64" || len(inspect.Images) != 3 {
		t.Errorf("bundle inspect: %+v", inspect)
	}
	for _, img := range inspect.Images {
		if img.Platform != "linux/arm64" {
			t.Errorf("bundle inspect: image %s is %s, want linux/arm64", img.Name, img.Platform)
		}
	}

	// The box: no registry reachable.
	stopRegistry()
	if resp, err := http.Get("http://" + registry + "/v2/"); err == nil {
		resp.Body.Close()
		t.Fatalf("the registry at %s still answers", registry)
	}
	d := newPrivateDaemon(t)
	boxDir := t.TempDir()
	box := func(timeout time.Duration, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, berthBin, args...)
		cmd.Dir, cmd.Env = boxDir, append(os.Environ(), d.env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("box: berth %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	t.Cleanup(func() {
		if out, ok := boxRun(d, boxDir, nil, "-p", s.name, "down", "-v", "-t", "0"); !ok {
			t.Errorf("box: down -v: %s", out)
		}
	})
	start = time.Now()
	out := box(5*time.Minute, "bundle", "load", bundle)
	t.Logf("box: bundle load: %s", time.Since(start).Round(time.Second))
	if !strings.Contains(out, "Loaded bundle "+bundle+": project "+s.name+" for linux/arm64, 3 images") {
		t.Errorf("box: bundle load said:\n%s", out)
	}
	start = time.Now()
	out = box(15*time.Minute, "-p", s.name, "up", "-d", "--wait", "--wait-timeout", "600")
	t.Logf("box: up -d --wait (arm64 under qemu): %s", time.Since(start).Round(time.Second))
	if !strings.Contains(out, `WARN: service "worker": the image's platform (linux/arm64) does not match this host's (linux/amd64)`) || !strings.Contains(out, "runs emulated (qemu)") {
		t.Errorf("box: up does not warn that the worker runs emulated:\n%s", out)
	}

	s.waitFor("the api on the box to return the worker's rows", 120*time.Second, func() bool { return len(s.readings(5)) == 5 })
	rows := s.readings(5)
	for i, row := range rows {
		if row.Sensor == "" || row.Label == "" || row.TS.IsZero() || i > 0 && row.ID >= rows[i-1].ID {
			t.Errorf("box: GET /readings?limit=5: row %d is %+v; all: %+v", i, row, rows)
		}
	}
	// The worker keeps writing: rows newer than those come.
	s.waitNewRows("new rows from the arm64 worker", rows[0].ID)
	for _, svc := range []string{"worker", "api", "db"} {
		if got := strings.TrimSpace(box(2*time.Minute, "-p", s.name, "exec", "-T", svc, "uname", "-m")); got != "aarch64" {
			t.Errorf("box: uname -m in %s says %q, want aarch64", svc, got)
		}
	}
	if logs := box(time.Minute, "-p", s.name, "logs", "worker"); !strings.Contains(logs, "batch 1: ") {
		t.Errorf("box: the worker's log has no batch:\n%s", logs)
	}

	// The same build again: every step from the cache.
	start = time.Now()
	r = s.mustEnv(ns, "build", "--platform", armStoryPlatforms)
	t.Logf("second build --platform %s: %s", armStoryPlatforms, time.Since(start).Round(time.Second))
	assertAllCached(t, r.stdout+r.stderr)
}

// assertAllCached checks that a build's output shows each RUN and COPY
// step as CACHED, and none run: its step lines read "[SERVICE PLATFORM
// N/M] CACHED RUN …".
func assertAllCached(t *testing.T, out string) {
	t.Helper()
	cached := 0
	for _, line := range strings.Split(out, "\n") {
		_, step, ok := strings.Cut(line, "] ")
		if !ok || !strings.HasPrefix(line, "[") {
			continue
		}
		switch {
		case strings.HasPrefix(step, "CACHED RUN ") || strings.HasPrefix(step, "CACHED COPY "):
			cached++
		case strings.HasPrefix(step, "RUN ") || strings.HasPrefix(step, "COPY "):
			t.Errorf("second build: a step was not cached: %s", line)
		}
	}
	// db: 2 RUN, 1 COPY; worker and api: 1 RUN, 1 COPY; each for two platforms.
	if cached < 2*7 {
		t.Errorf("second build: %d cached RUN/COPY steps in its output, want 14:\n%s", cached, out)
	}
}

// archIn is image inspect --platform's architecture of ref's platform
// (arm64), with env (the namespace); "" when the image lacks it.
func archIn(t *testing.T, env []string, ref, platform string) string {
	t.Helper()
	r := runBerth(t, t.TempDir(), env, nil, 0, "image", "inspect", "--platform", platform, "-f", "{{.Architecture}}", ref)
	if r.code != 0 {
		return ""
	}
	return strings.TrimSpace(r.stdout)
}
