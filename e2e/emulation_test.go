//go:build e2e

package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPlatformBinfmtRegister runs install-deps' binfmt_register against a
// fake binfmt_misc directory (a regular register file records what would be
// registered): a missing handler is registered from its .conf with the F flag
// added, a handler already there is left alone, and a second run changes
// nothing. The machine's real registrations are not touched.
func TestPlatformBinfmtRegister(t *testing.T) {
	dir, confdir := t.TempDir(), t.TempDir()
	write := func(path, content string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "register"), "")
	write(filepath.Join(dir, "qemu-arm"), "enabled\n") // already registered: left alone
	aarch64 := `:qemu-aarch64:M::\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/libexec/qemu-binfmt/aarch64-binfmt-P:OP`
	write(filepath.Join(confdir, "qemu-aarch64.conf"), "# from qemu-user-static\n"+aarch64+"\n")
	write(filepath.Join(confdir, "qemu-arm.conf"), ":qemu-arm:M::x:y:/nonexistent:OPF\n")

	run := func() string {
		t.Helper()
		cmd := exec.Command("bash", "-c", `. scripts/lib/binfmt.sh && binfmt_register "$1" "$2"`, "bash", dir, confdir)
		cmd.Dir = repoRoot
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("binfmt_register: %v: %s", err, out)
		}
		return string(out)
	}
	out := run()
	if !strings.Contains(out, "registered qemu-aarch64") || strings.Contains(out, "qemu-arm ") {
		t.Errorf("binfmt_register said %q, want it to register qemu-aarch64 only", out)
	}
	if got, want := readFile(t, filepath.Join(dir, "register")), aarch64+"F"; got != want {
		t.Errorf("register got %q, want %q", got, want)
	}
	// The handler now exists (the kernel would have made the file): a second run registers nothing.
	write(filepath.Join(dir, "qemu-aarch64"), "enabled\n")
	write(filepath.Join(dir, "register"), "")
	if out := run(); out != "" {
		t.Errorf("second binfmt_register said %q, want nothing", out)
	}
	if got := readFile(t, filepath.Join(dir, "register")); got != "" {
		t.Errorf("second run wrote %q to register, want nothing", got)
	}

	// A missing .conf is one clear line and a failure.
	os.Remove(filepath.Join(dir, "qemu-aarch64"))
	os.Remove(filepath.Join(confdir, "qemu-aarch64.conf"))
	cmd := exec.Command("bash", "-c", `. scripts/lib/binfmt.sh && binfmt_register "$1" "$2"`, "bash", dir, confdir)
	cmd.Dir = repoRoot
	out2, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out2), "apt-get install qemu-user-static") {
		t.Errorf("binfmt_register without a .conf: err %v, output %q; want a failure naming qemu-user-static", err, out2)
	}
}

// debianArm64 makes an arm64 Debian bookworm-slim archive in dir, under
// the script's default name: its cache key holds the name, so only that one
// comes from the cache after the first run (about 7 minutes under qemu).
func debianArm64(t testing.TB, dir string) string {
	t.Helper()
	archive := filepath.Join(dir, "debian-arm64.tar")
	out, err := exec.Command(filepath.Join(repoRoot, "scripts", "debian-image.sh"), "--arch", "arm64", archive).CombinedOutput()
	if err != nil {
		t.Fatalf("debian-image.sh --arch arm64: %v: %s", err, out)
	}
	return archive
}

// TestPlatformDebianImage checks debian-image.sh --arch: the arm64
// archive's config says linux/arm64 and its shell is an aarch64 binary; an
// unknown architecture is one line and no archive.
func TestPlatformDebianImage(t *testing.T) {
	dir := t.TempDir()
	archive := debianArm64(t, dir)
	layout := filepath.Join(dir, "layout")
	if err := os.MkdirAll(layout, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("tar", "-xf", archive, "-C", layout).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v: %s", err, out)
	}
	var index, manifest struct {
		Manifests []struct{ Digest string }
		Config    struct{ Digest string }
		Layers    []struct{ Digest string }
	}
	blob := func(d string) string {
		return filepath.Join(layout, "blobs", "sha256", strings.TrimPrefix(d, "sha256:"))
	}
	decode := func(path string, v any) {
		t.Helper()
		if err := json.Unmarshal([]byte(readFile(t, path)), v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	decode(filepath.Join(layout, "index.json"), &index)
	decode(blob(index.Manifests[0].Digest), &manifest)
	var config struct{ Architecture, OS, Variant string }
	decode(blob(manifest.Config.Digest), &config)
	if config.OS != "linux" || config.Architecture != "arm64" || config.Variant != "" {
		t.Errorf("config platform %+v, want linux/arm64", config)
	}
	// ELF header of /usr/bin/dash: e_machine (bytes 18-19) 0xb7 is aarch64.
	out, err := exec.Command("sh", "-c", `tar -xzOf "$1" ./usr/bin/dash | head -c 20 | od -An -tx1`, "sh", blob(manifest.Layers[0].Digest)).Output()
	if f := strings.Fields(string(out)); err != nil || len(f) != 20 || f[0] != "7f" || f[18] != "b7" || f[19] != "00" {
		t.Errorf("/usr/bin/dash header %q (%v), want an aarch64 ELF", out, err)
	}

	bad := filepath.Join(dir, "bad.tar")
	res, err := exec.Command(filepath.Join(repoRoot, "scripts", "debian-image.sh"), "--arch", "mips", bad).CombinedOutput()
	if err == nil || strings.Count(strings.TrimSpace(string(res)), "\n") != 0 || !strings.Contains(string(res), `unknown architecture "mips"`) {
		t.Errorf("debian-image.sh --arch mips: %v: %q, want one line naming the architecture", err, res)
	}
	if _, err := os.Stat(bad); err == nil {
		t.Errorf("debian-image.sh --arch mips left %s", bad)
	}
}

// debianMulti is the Debian base the platform tests build FROM: an index of
// the native and the arm64 bookworm-slim made by scripts/debian-image.sh.
// An index under a name of its own, rather than the arm64 image alone: FROM
// must pick the target's manifest from an index (as from a registry's
// multi-arch debian), and the native debian:bookworm-slim other tests use
// stays as it is.
const debianMulti = "berth-e2e.local/debian-multi:bookworm-slim"

// loadDebianMulti makes the debianMulti index layout from the two archives
// (both cached by debian-image.sh after their first run) and berth loads it.
func loadDebianMulti(t *testing.T) {
	t.Helper()
	loadDebianIndex(t, debianMulti)
}

// loadDebianIndex loads the index of the native and the arm64
// bookworm-slim under name, with berth's global flags args (e.g.
// --namespace).
func loadDebianIndex(t testing.TB, name string, args ...string) {
	t.Helper()
	dir := t.TempDir()
	native := filepath.Join(dir, "debian-native.tar")
	if out, err := exec.Command(filepath.Join(repoRoot, "scripts", "debian-image.sh"), native).CombinedOutput(); err != nil {
		t.Fatalf("debian-image.sh: %v: %s", err, out)
	}
	layout := filepath.Join(dir, "layout")
	if err := os.MkdirAll(layout, 0o755); err != nil {
		t.Fatal(err)
	}
	type desc struct {
		MediaType   string            `json:"mediaType"`
		Digest      string            `json:"digest"`
		Size        int64             `json:"size"`
		Platform    map[string]string `json:"platform,omitempty"`
		Annotations map[string]string `json:"annotations,omitempty"`
	}
	type index struct {
		SchemaVersion int    `json:"schemaVersion"`
		MediaType     string `json:"mediaType"`
		Manifests     []desc `json:"manifests"`
	}
	blob := func(d string) string {
		return filepath.Join(layout, "blobs", "sha256", strings.TrimPrefix(d, "sha256:"))
	}
	var children []desc
	for _, archive := range []string{native, debianArm64(t, dir)} {
		if out, err := exec.Command("tar", "-xf", archive, "-C", layout).CombinedOutput(); err != nil {
			t.Fatalf("tar: %v: %s", err, out)
		}
		var idx index
		var manifest struct{ Config desc }
		var config struct{ Architecture, OS, Variant string }
		mustJSON(t, readFile(t, filepath.Join(layout, "index.json")), &idx)
		mustJSON(t, readFile(t, blob(idx.Manifests[0].Digest)), &manifest)
		mustJSON(t, readFile(t, blob(manifest.Config.Digest)), &config)
		m := idx.Manifests[0]
		m.Annotations = nil
		m.Platform = map[string]string{"os": config.OS, "architecture": config.Architecture}
		children = append(children, m)
	}
	inner, _ := json.Marshal(index{SchemaVersion: 2, MediaType: "application/vnd.oci.image.index.v1+json", Manifests: children})
	sum := sha256.Sum256(inner)
	d := "sha256:" + hex.EncodeToString(sum[:])
	if err := os.WriteFile(blob(d), inner, 0o644); err != nil {
		t.Fatal(err)
	}
	top, _ := json.Marshal(index{SchemaVersion: 2, MediaType: "application/vnd.oci.image.index.v1+json", Manifests: []desc{{
		MediaType: "application/vnd.oci.image.index.v1+json", Digest: d, Size: int64(len(inner)),
		Annotations: map[string]string{"io.containerd.image.name": name, "org.opencontainers.image.ref.name": "bookworm-slim"},
	}}})
	if err := os.WriteFile(filepath.Join(layout, "index.json"), top, 0o644); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(dir, "multi.tar")
	if out, err := exec.Command("tar", "-cf", archive, "-C", layout, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v: %s", err, out)
	}
	if out, err := exec.Command(berthBin, append(append(globalArgs(), args...), "load", "-i", archive)...).CombinedOutput(); err != nil {
		t.Fatalf("berth load %s: %v: %s", archive, err, out)
	}
}

func mustJSON(t testing.TB, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("decode %.200s: %v", s, err)
	}
}

// imagePlatform is image inspect's os/architecture[/variant] of ref.
func imagePlatform(t *testing.T, ref string) string {
	t.Helper()
	r := runBerth(t, t.TempDir(), nil, nil, 0, "image", "inspect", ref)
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	var imgs []struct{ Os, Architecture, Variant string }
	mustJSON(t, r.stdout, &imgs)
	if len(imgs) != 1 {
		t.Fatalf("image inspect %s: %d images", ref, len(imgs))
	}
	p := imgs[0].Os + "/" + imgs[0].Architecture
	if imgs[0].Variant != "" {
		p += "/" + imgs[0].Variant
	}
	return p
}

const platformDockerfile = `FROM ` + debianMulti + `
ARG TARGETPLATFORM
ARG BUILDPLATFORM
RUN uname -m > /arch && echo "$TARGETPLATFORM on $BUILDPLATFORM" > /platforms
CMD ["cat", "/arch", "/platforms"]
`

// TestPlatformBuild builds one Dockerfile for linux/arm64 (service
// platform:), for the host (same file, same base index) and with image
// build --platform: FROM picks each platform's manifest from the index,
// the RUN step runs under qemu, the images say their platform, and a second
// build of each comes from the cache, per platform.
func TestPlatformBuild(t *testing.T) {
	loadDebianMulti(t)
	p := newProject(t, "", map[string]string{"Dockerfile": platformDockerfile})
	arm, native := "berth-e2e.local/"+p.name+"-arm:1", "berth-e2e.local/"+p.name+"-native:1"
	p.write("compose.yaml", `services:
  arm:
    image: `+arm+`
    platform: linux/arm64
    build: .
  native:
    image: `+native+`
    build:
      context: .
      platforms: [linux/amd64]
`)
	other := "berth-e2e.local/" + p.name + "-cli:1"
	t.Cleanup(func() { p.berth("image", "rm", arm, native, other) })

	r := p.must("build")
	if got := imagePlatform(t, arm); got != "linux/arm64" {
		t.Errorf("image %s is for %s, want linux/arm64\n%s", arm, got, r)
	}
	if got := imagePlatform(t, native); got != "linux/amd64" {
		t.Errorf("image %s is for %s, want linux/amd64\n%s", native, got, r)
	}
	// What the RUN step wrote: uname under qemu, and the platform args.
	if r := p.must("run", "--rm", "arm"); !strings.Contains(r.stdout, "aarch64\nlinux/arm64 on linux/amd64") || !strings.Contains(r.stderr, "emulated (qemu)") {
		t.Errorf("arm image: want aarch64, linux/arm64 on linux/amd64 and the emulation warning, got %s", r)
	}
	if out := p.must("run", "--rm", "native").stdout; !strings.Contains(out, "x86_64\nlinux/amd64 on linux/amd64") {
		t.Errorf("native image says %q, want x86_64 and linux/amd64 on linux/amd64", out)
	}

	// Again: every RUN comes from the cache, the arm one from arm's.
	r = p.must("build")
	if n := strings.Count(r.stdout, "CACHED RUN uname -m"); n != 2 {
		t.Errorf("second build: %d cached RUN steps, want 2:\n%s", n, r)
	}
	// image build --platform takes the same cache entry as the service.
	r = p.must("image", "build", "--platform", "linux/arm64", "-t", other, ".")
	if !strings.Contains(r.stdout, "CACHED RUN uname -m") {
		t.Errorf("image build --platform linux/arm64 did not take the cached RUN:\n%s", r)
	}
	if got := imagePlatform(t, other); got != "linux/arm64" {
		t.Errorf("image %s is for %s, want linux/arm64", other, got)
	}
}

// noEmulation is a fake binfmt_misc directory without handlers: berth
// given it (BERTH_BINFMT_DIR) sees a host without qemu emulation, while
// the machine's real handlers stay registered for everyone else.
func noEmulation(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{"status": "enabled\n", "register": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return []string{"BERTH_BINFMT_DIR=" + dir}
}

// TestPlatformBuildBadInput: an unknown or invalid platform, a host
// without emulation and several build.platforms each fail in one clear
// line, before anything is built or named.
func TestPlatformBuildBadInput(t *testing.T) {
	p := newProject(t, "", map[string]string{"Dockerfile": "FROM " + testImage + "\nRUN true\n"})
	img := "berth-e2e.local/" + p.name + ":1"
	compose := func(platform string) string {
		return "services:\n  app:\n    image: " + img + "\n    build:\n      context: .\n      platforms: [" + platform + "]\n"
	}
	for _, tc := range []struct {
		name    string
		compose string
		env     []string
		args    []string
		want    string
	}{
		{name: "unknown arch", args: []string{"build", "--platform", "linux/mips64"}, want: `unknown platform "linux/mips64"`},
		{name: "invalid", args: []string{"image", "build", "--platform", "linux/", "-t", img, "."}, want: `invalid platform "linux/": use OS/ARCH[/VARIANT]`},
		{name: "compose platform", compose: "services:\n  app:\n    image: " + img + "\n    platform: linux/sparc64\n    build: .\n", args: []string{"build"}, want: `unknown platform "linux/sparc64"`},
		{name: "no emulation", env: noEmulation(t), args: []string{"build", "--platform", "linux/arm64"},
			want: "building for linux/arm64 on this linux/amd64 host needs qemu user emulation: run scripts/install-deps.sh, or apt-get install qemu-user-static and register binfmt_misc handlers"},
		{name: "no emulation image build", env: noEmulation(t), args: []string{"image", "build", "--platform", "linux/arm/v7", "-t", img, "."},
			want: "building for linux/arm/v7 on this linux/amd64 host needs qemu user emulation"},
		{name: "platform twice", args: []string{"build", "--platform", "linux/arm64,linux/aarch64"}, want: "platform linux/arm64 is given twice: list each platform once"},
		{name: "index without emulation", env: noEmulation(t), compose: compose("linux/amd64, linux/arm/v7"), args: []string{"build"},
			want: "building for linux/arm/v7 on this linux/amd64 host needs qemu user emulation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.compose
			if c == "" {
				c = compose("linux/amd64")
			}
			p.write("compose.yaml", c)
			r := p.berthEnv(tc.env, tc.args...)
			if r.code == 0 || !strings.Contains(r.stderr, tc.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
				t.Errorf("want one line with %q and a failure, got %s", tc.want, r)
			}
			if r := p.berth("image", "inspect", img); r.code == 0 {
				t.Errorf("the failed build left image %s", img)
			}
		})
	}
}

// TestPlatformRun runs an arm64 image on this host: a service with
// platform: linux/arm64 (two replicas, one warning), its second up leaves
// the containers be, container run --platform and an image with no
// platform for this host both run under qemu, a platform the image lacks
// and a host without emulation are one clear error each.
func TestPlatformRun(t *testing.T) {
	loadDebianMulti(t)
	p := newProject(t, "", map[string]string{"Dockerfile": platformDockerfile})
	arm := "berth-e2e.local/" + p.name + "-arm:1"
	p.write("compose.yaml", `services:
  arm:
    image: `+arm+`
    platform: linux/arm64
    build: .
    command: ["sh", "-c", "uname -m; cat /platforms; exec sleep 3600"]
    init: true
    deploy:
      replicas: 2
`)
	t.Cleanup(func() { p.berth("image", "rm", arm) })

	r := p.must("up", "-d")
	out := r.stdout + r.stderr
	warn := `service "arm" runs linux/arm64 emulated (qemu) on this linux/amd64 host`
	if n := strings.Count(out, warn); n != 1 {
		t.Errorf("up -d warned %d times %q, want once:\n%s", n, warn, r)
	}
	if got := imagePlatform(t, arm); got != "linux/arm64" {
		t.Errorf("image %s is for %s, want linux/arm64", arm, got)
	}
	p.waitFor("both replicas to log their platform", time.Minute, func() bool {
		return strings.Count(p.berth("logs", "arm").stdout, "linux/arm64 on linux/amd64") == 2
	})
	if logs := p.must("logs", "arm").stdout; strings.Count(logs, "aarch64") != 2 {
		t.Errorf("logs %q, want each replica to say aarch64", logs)
	}
	// The same image for the same platform: nothing to recreate.
	r = p.must("up", "-d")
	if strings.Contains(r.stdout+r.stderr, "Recreate") {
		t.Errorf("second up -d recreated the arm containers:\n%s", r)
	}
	// Exec runs an aarch64 process in the emulated container.
	if out := p.must("exec", "arm", "uname", "-m").stdout; strings.TrimSpace(out) != "aarch64" {
		t.Errorf("exec uname -m = %q, want aarch64", out)
	}

	// container run: --platform, and an image with no content for this
	// host runs its own platform with docker's kind of warning.
	dir := t.TempDir()
	r = runBerth(t, dir, nil, nil, 0, "container", "run", "--rm", "--platform", "linux/arm64", arm, "uname", "-m")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "aarch64" || !strings.Contains(r.stderr, `container "`) || !strings.Contains(r.stderr, "runs linux/arm64 emulated (qemu) on this linux/amd64 host") {
		t.Errorf("container run --platform linux/arm64: want aarch64 and the warning, got %s", r)
	}
	r = runBerth(t, dir, nil, nil, 0, "container", "run", "--rm", arm, "uname", "-m")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "aarch64" || !strings.Contains(r.stderr, "the image's platform (linux/arm64) does not match this host's (linux/amd64) and no platform was requested") {
		t.Errorf("container run of an arm64-only image: want aarch64 and the warning, got %s", r)
	}

	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		// Without --pull never berth would try to pull linux/arm/v7.
		{name: "platform the image lacks", args: []string{"container", "run", "--rm", "--pull", "never", "--platform", "linux/arm/v7", arm, "true"},
			want: "is not present and pull_policy is never"},
		{name: "unknown platform", args: []string{"container", "run", "--rm", "--platform", "linux/bogus", arm, "true"}, want: `--platform: unknown platform "linux/bogus"`},
		{name: "no emulation", env: noEmulation(t), args: []string{"container", "run", "--rm", arm, "true"},
			want: "running linux/arm64 on this linux/amd64 host needs qemu user emulation: run scripts/install-deps.sh, or apt-get install qemu-user-static and register binfmt_misc handlers (no enabled qemu-aarch64 handler is in"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := p.name + "-run"
			args := append([]string{tc.args[0], tc.args[1], "--name", name}, tc.args[2:]...)
			r := runBerth(t, dir, tc.env, nil, 0, args...)
			if r.code != 125 || !strings.Contains(r.stderr, tc.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
				t.Errorf("want exit 125 and one line with %q, got %s", tc.want, r)
			}
			if r := runBerth(t, dir, nil, nil, 0, "container", "inspect", name); r.code == 0 {
				t.Errorf("the failed run left container %s", name)
				runBerth(t, dir, nil, nil, 0, "container", "rm", "-f", name)
			}
		})
	}

	// up without emulation: the emulation error.
	r = p.berthEnv(noEmulation(t), "up", "-d", "--force-recreate")
	if r.code == 0 || !strings.Contains(r.stderr, "running linux/arm64 on this linux/amd64 host needs qemu user emulation") {
		t.Errorf("up without emulation: want the emulation error, got %s", r)
	}
}

// TestPlatformIndex builds build.platforms [linux/amd64, linux/arm64] into
// one OCI index: both platforms build at the same time, each from its own
// cache, and a container runs each platform's image out of the index.
func TestPlatformIndex(t *testing.T) {
	loadDebianMulti(t)
	p := newProject(t, "", map[string]string{"Dockerfile": platformDockerfile})
	img := "berth-e2e.local/" + p.name + ":1"
	p.write("compose.yaml", `services:
  app:
    image: `+img+`
    build:
      context: .
      platforms: [linux/amd64, linux/arm64]
`)
	t.Cleanup(func() { p.berth("image", "rm", img) })
	r := p.must("build")
	// Each platform's steps (its RUN may come from TestPlatformBuild's
	// cache: the keys are per platform), then the index's name.
	for _, want := range []string{"[app linux/amd64 4/5]", "[app linux/arm64 4/5]", "[app] naming to " + img} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("build output lacks %q:\n%s", want, r)
		}
	}
	dir := t.TempDir()
	for _, tc := range []struct{ platform, want string }{{"", "x86_64"}, {"linux/amd64", "x86_64"}, {"linux/arm64", "aarch64"}} {
		args := []string{"container", "run", "--rm"}
		if tc.platform != "" {
			args = append(args, "--platform", tc.platform)
		}
		r := runBerth(t, dir, nil, nil, 0, append(args, img, "cat", "/arch")...)
		if r.code != 0 || strings.TrimSpace(r.stdout) != tc.want {
			t.Errorf("run --platform %q: want %s, got %s", tc.platform, tc.want, r)
		}
	}
	// The index has no linux/arm/v7 image.
	if r := runBerth(t, dir, nil, nil, 0, "container", "run", "--rm", "--pull", "never", "--platform", "linux/arm/v7", img, "true"); r.code != 125 || !strings.Contains(r.stderr, "is not present and pull_policy is never") {
		t.Errorf("run --platform linux/arm/v7 of an amd64+arm64 index: want exit 125 naming the platform, got %s", r)
	}
	r = p.must("build")
	if n := strings.Count(r.stdout, "CACHED RUN uname -m"); n != 2 {
		t.Errorf("second build: %d cached RUN steps, want one per platform:\n%s", n, r)
	}
}
