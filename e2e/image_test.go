//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// imageName is an image name of the test's own: tests that run side by
// side (or twice) never share one.
func imageName(t *testing.T, suffix string) string {
	name := strings.Trim(nonName.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	return "e2e-img-" + name + suffix
}

// berthIn runs berth ARGS... in dir with stdin (nil: none) on the suite's
// daemon, or with env on another.
func berthIn(t *testing.T, dir string, stdin io.Reader, env []string, args ...string) result {
	t.Helper()
	return runBerth(t, dir, env, stdin, 3*time.Minute, args...)
}

// mustIn is berthIn that fails the test unless berth exits 0.
func mustIn(t *testing.T, dir string, stdin io.Reader, args ...string) result {
	t.Helper()
	r := berthIn(t, dir, stdin, nil, args...)
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	return r
}

// removeImagesAtEnd removes the images when the test ends, so that it
// can run again.
func removeImagesAtEnd(t *testing.T, names ...string) {
	t.Cleanup(func() {
		for _, n := range names {
			berthIn(t, t.TempDir(), nil, nil, "image", "rm", "-f", n)
		}
	})
}

// writeFiles writes files (name to content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// inspectImage is image inspect of one image, decoded.
type inspectedImage struct {
	ID          string `json:"Id"`
	RepoTags    []string
	RepoDigests []string
	Created     string
	Config      struct {
		Env          []string
		Cmd          []string
		Entrypoint   []string
		WorkingDir   string
		User         string
		ExposedPorts map[string]struct{}
		Labels       map[string]string
		StopSignal   string
		Healthcheck  *struct{ Test []string }
	}
	RootFS struct {
		Type   string
		Layers []string
	}
	Architecture, Os string
	Size             int64
}

func inspectOne(t *testing.T, ref string) inspectedImage {
	t.Helper()
	r := mustIn(t, t.TempDir(), nil, "image", "inspect", ref)
	var out []inspectedImage
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out) != 1 {
		t.Fatalf("image inspect %s: %v: %s", ref, err, r.stdout)
	}
	return out[0]
}

var imageIDLine = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

func TestImageBuildFlagsInspectHistory(t *testing.T) {
	t.Parallel()
	name := imageName(t, "")
	removeImagesAtEnd(t, name+":1", name+":other")
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"app/hello.txt": "hello\n",
		"docker/Dockerfile.dev": `FROM ` + testImage + ` AS base
ARG GREETING=unset
RUN echo "$GREETING" > /greeting
WORKDIR /srv
COPY hello.txt .
EXPOSE 5000
HEALTHCHECK CMD ["true"]
STOPSIGNAL SIGINT
USER 1000
CMD ["cat", "/greeting"]

FROM base AS never
RUN false
`,
	})
	// -f relative to the working directory, as docker takes it; the
	// context is app/; --target skips the failing stage.
	r := mustIn(t, dir, nil, "image", "build", "-t", name+":1", "-t", name+":other", "-f", "docker/Dockerfile.dev",
		"--build-arg", "GREETING=bonjour", "--target", "base", "--label", "team=e2e", "app")
	if !regexp.MustCompile(`(?m)^\[3/10\] (CACHED )?RUN echo "\$GREETING" > /greeting$`).MatchString(r.stdout) {
		t.Errorf("image build printed no step lines:\n%s", r)
	}
	if !strings.Contains(r.stdout, "writing image sha256:") {
		t.Errorf("image build did not name the image it wrote:\n%s", r)
	}
	// The same build again with -q: from the cache, only the ID.
	q := mustIn(t, dir, nil, "image", "build", "-q", "-t", name+":1", "-f", "docker/Dockerfile.dev",
		"--build-arg", "GREETING=bonjour", "--target", "base", "--label", "team=e2e", "app")
	id := strings.TrimSpace(q.stdout)
	if !imageIDLine.MatchString(id) {
		t.Fatalf("image build -q printed %q, want only the image ID", q.stdout)
	}

	img := inspectOne(t, name+":1")
	checks := []struct{ what, got, want string }{
		{"Id", img.ID, id},
		{"RepoTags", strings.Join(img.RepoTags, ","), name + ":1," + name + ":other"},
		{"Cmd", strings.Join(img.Config.Cmd, " "), "cat /greeting"},
		{"WorkingDir", img.Config.WorkingDir, "/srv"},
		{"User", img.Config.User, "1000"},
		{"StopSignal", img.Config.StopSignal, "SIGINT"},
		{"Labels", img.Config.Labels["team"], "e2e"},
		{"RootFS.Type", img.RootFS.Type, "layers"},
		{"Os", img.Os, "linux"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("image inspect %s = %q, want %q", c.what, c.got, c.want)
		}
	}
	if _, ok := img.Config.ExposedPorts["5000/tcp"]; !ok {
		t.Errorf("image inspect ExposedPorts = %v, want 5000/tcp", img.Config.ExposedPorts)
	}
	if img.Config.Healthcheck == nil || strings.Join(img.Config.Healthcheck.Test, " ") != "CMD true" {
		t.Errorf("image inspect Healthcheck = %+v, want CMD true", img.Config.Healthcheck)
	}
	if len(img.RootFS.Layers) < 3 || img.Architecture == "" || img.Created == "" || img.Size <= 0 {
		t.Errorf("image inspect = %+v: want the base layer and the RUN and COPY layers, an architecture, a creation time, a size", img)
	}
	if f := mustIn(t, dir, nil, "image", "inspect", "--format", "{{.Id}} {{json .Config.Cmd}}", name+":1"); strings.TrimSpace(f.stdout) != id+` ["cat","/greeting"]` {
		t.Errorf("image inspect --format printed %q", f.stdout)
	}
	// The build ran with the argument: run the image's command.
	p := newProject(t, "services:\n  app:\n    image: "+name+":1\n    pull_policy: never\n", nil)
	if out := p.must("run", "--rm", "app").stdout; strings.TrimSpace(out) != "bonjour" {
		t.Errorf("the built image's command printed %q, want the build argument", out)
	}

	hist := mustIn(t, dir, nil, "image", "history", name+":1").stdout
	lines := strings.Split(strings.TrimSpace(hist), "\n")
	if len(lines) < 5 || !strings.HasPrefix(lines[0], "IMAGE ") || !strings.HasPrefix(lines[1], strings.TrimPrefix(id, "sha256:")[:12]) ||
		!strings.Contains(hist, "RUN ") || !strings.Contains(hist, "<missing>") {
		t.Errorf("image history =\n%s\nwant docker's columns, the ID on the newest step, the RUN step", hist)
	}

	ls := mustIn(t, dir, nil, "image", "ls", "--format", "json", name).stdout
	var rows []map[string]string
	for _, line := range strings.Split(strings.TrimSpace(ls), "\n") {
		var row map[string]string
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatalf("image ls --format json line %q: %v", line, err)
		}
		rows = append(rows, row)
	}
	if len(rows) != 2 || rows[0]["Repository"] != name || rows[0]["ID"] != strings.TrimPrefix(id, "sha256:")[:12] || rows[0]["CreatedSince"] == "" || rows[0]["Size"] == "" {
		t.Errorf("image ls --format json %s = %v, want its two tags with docker's keys", name, rows)
	}
	table := mustIn(t, dir, nil, "image", "ls", name+":other").stdout
	if !strings.HasPrefix(table, "REPOSITORY ") || !strings.Contains(table, "IMAGE ID") || strings.Count(strings.TrimSpace(table), "\n") != 1 {
		t.Errorf("image ls %s:other =\n%s\nwant the header and one row", name, table)
	}
	if q := mustIn(t, dir, nil, "image", "ls", "-q", name).stdout; strings.TrimSpace(q) != strings.TrimPrefix(id, "sha256:")[:12] {
		t.Errorf("image ls -q = %q, want the ID once", q)
	}
}

// contextTar is a tar of the files without directory entries, as
// `tar cf - Dockerfile src/app.txt` writes it.
func contextTar(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, body := range files {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}) //nolint:errcheck // a bytes.Buffer
		tw.Write([]byte(body))                                                                              //nolint:errcheck // a bytes.Buffer
	}
	tw.Close()
	return buf.Bytes()
}

func TestImageBuildFromStdin(t *testing.T) {
	t.Parallel()
	name := imageName(t, "")
	removeImagesAtEnd(t, name+":df", name+":tar")
	dir := t.TempDir()
	df := "FROM " + testImage + "\nRUN echo from-stdin > /x\nCMD [\"cat\", \"/x\"]\n"
	mustIn(t, dir, strings.NewReader(df), "image", "build", "-t", name+":df", "-")
	ctx := contextTar(t, map[string]string{
		"build/Dockerfile": "FROM " + testImage + "\nCOPY src/app.txt /app.txt\nCMD [\"cat\", \"/app.txt\"]\n",
		"src/app.txt":      "from-tar\n",
	})
	mustIn(t, dir, bytes.NewReader(ctx), "image", "build", "-t", name+":tar", "-f", "build/Dockerfile", "-")
	p := newProject(t, "services:\n  df:\n    image: "+name+":df\n    pull_policy: never\n  tar:\n    image: "+name+":tar\n    pull_policy: never\n", nil)
	for svc, want := range map[string]string{"df": "from-stdin", "tar": "from-tar"} {
		if out := p.must("run", "--rm", svc).stdout; strings.TrimSpace(out) != want {
			t.Errorf("image built from stdin (%s) printed %q, want %q", svc, out, want)
		}
	}
	left, _ := filepath.Glob(filepath.Join(os.TempDir(), "berth-stdin-context-*"))
	for _, l := range left {
		t.Logf("a stdin context directory exists (another build may be running): %s", l)
	}
}

func TestImageTagPushPullRm(t *testing.T) {
	t.Parallel()
	registry := startRegistry(t)
	name := imageName(t, "")
	remote := registry + "/e2e/" + name + ":1"
	built := registry + "/e2e/" + name + ":2"
	removeImagesAtEnd(t, name, remote, built)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM " + testImage + "\nRUN echo pushed > /p\n"})
	mustIn(t, dir, nil, "image", "build", "-t", name, ".")
	mustIn(t, dir, nil, "image", "tag", name, remote)
	if got := inspectOne(t, remote); !strings.Contains(strings.Join(got.RepoTags, ","), name+":latest") {
		t.Errorf("after tag, RepoTags = %v, want both names", got.RepoTags)
	}
	push := mustIn(t, dir, nil, "image", "push", remote)
	m := regexp.MustCompile(`digest: (sha256:[0-9a-f]{64})`).FindStringSubmatch(push.stdout)
	if m == nil {
		t.Fatalf("image push printed no digest:\n%s", push)
	}
	pushed := m[1]
	rm := mustIn(t, dir, nil, "image", "rm", remote)
	if !strings.Contains(rm.stdout, "Untagged: "+remote) || strings.Contains(rm.stdout, "Deleted:") {
		t.Errorf("image rm of one of two names printed:\n%s\nwant only Untagged", rm.stdout)
	}
	rm = mustIn(t, dir, nil, "image", "rm", name)
	if !strings.Contains(rm.stdout, "Untagged: "+name+":latest") || !strings.Contains(rm.stdout, "Deleted: sha256:") {
		t.Errorf("image rm of the last name printed:\n%s\nwant Untagged and Deleted", rm.stdout)
	}
	if r := berthIn(t, dir, nil, nil, "image", "inspect", remote); r.code == 0 {
		t.Fatalf("the image is still there after rm:\n%s", r)
	}
	pull := mustIn(t, dir, nil, "image", "pull", remote)
	if !strings.Contains(pull.stdout, "Digest: "+pushed) || !strings.Contains(pull.stdout, "Status: Downloaded newer image for "+remote) {
		t.Errorf("image pull printed:\n%s\nwant the pushed digest %s", pull.stdout, pushed)
	}
	if again := mustIn(t, dir, nil, "image", "pull", "--platform", "linux/"+runtime.GOARCH, remote); !strings.Contains(again.stdout, "Status: Image is up to date for "+remote) {
		t.Errorf("image pull of a present image printed:\n%s", again.stdout)
	}
	if got := inspectOne(t, remote); len(got.RepoDigests) != 1 || !strings.HasSuffix(got.RepoDigests[0], "@"+pushed) {
		t.Errorf("pulled image's RepoDigests = %v, want the pushed digest %s", got.RepoDigests, pushed)
	}

	// build --push: the registry has it once the build is done.
	id := strings.TrimSpace(mustIn(t, dir, nil, "image", "build", "-q", "--push", "-t", built, ".").stdout)
	mustIn(t, dir, nil, "image", "rm", built)
	mustIn(t, dir, nil, "image", "pull", "-q", built)
	if got := inspectOne(t, built); got.ID != id {
		t.Errorf("image pulled after build --push has ID %s, want the built %s", got.ID, id)
	}
}

func TestImageRmInUse(t *testing.T) {
	t.Parallel()
	name := imageName(t, "")
	removeImagesAtEnd(t, name)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM " + testImage + "\nCMD [\"sleep\", \"600\"]\n"})
	mustIn(t, dir, nil, "image", "build", "-t", name, ".")
	p := newProject(t, "services:\n  app:\n    image: "+name+"\n    pull_policy: never\n    stop_signal: SIGKILL\n", nil)
	p.must("up", "-d")
	container := p.name + "-app-1"
	for _, args := range [][]string{{"image", "rm", name}, {"image", "rm", "-f", name}} {
		r := berthIn(t, dir, nil, nil, args...)
		msg := strings.TrimSpace(r.stderr)
		if r.code == 0 || strings.Contains(msg, "\n") || !strings.Contains(msg, container) {
			t.Errorf("%s of an image a running container uses: want one line naming %s:\n%s", strings.Join(args, " "), container, r)
		}
	}
	inspectOne(t, name) // still there
	p.must("stop")
	if r := berthIn(t, dir, nil, nil, "image", "rm", name); r.code == 0 || !strings.Contains(r.stderr, container) || !strings.Contains(r.stderr, "-f") {
		t.Errorf("image rm of an image a stopped container uses: want a refusal naming %s and -f:\n%s", container, r)
	}
	if r := mustIn(t, dir, nil, "image", "rm", "-f", name); !strings.Contains(r.stdout, "Deleted: sha256:") {
		t.Errorf("image rm -f with a stopped container:\n%s", r)
	}
}

func TestImageSaveLoadRoundTrip(t *testing.T) {
	t.Parallel()
	name := imageName(t, "")
	removeImagesAtEnd(t, name+":1", name+":2")
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM " + testImage + "\nRUN echo saved > /s\n"})
	id := strings.TrimSpace(mustIn(t, dir, nil, "image", "build", "-q", "-t", name+":1", "-t", name+":2", ".").stdout)
	archive := filepath.Join(dir, "images.tar")
	mustIn(t, dir, nil, "image", "save", "-o", archive, name+":1", name+":2")
	mustIn(t, dir, nil, "image", "rm", name+":1", name+":2")
	if r := mustIn(t, dir, nil, "image", "load", "-i", archive); !strings.Contains(r.stdout, "Loaded image: ") {
		t.Errorf("image load printed:\n%s", r)
	}
	if got := inspectOne(t, name+":2"); got.ID != id {
		t.Errorf("loaded image ID = %s, want the saved %s", got.ID, id)
	}
	// berth load reads it too, and image load reads standard input.
	mustIn(t, dir, nil, "image", "rm", name+":1", name+":2")
	mustIn(t, dir, nil, "load", "-i", archive)
	mustIn(t, dir, nil, "image", "rm", name+":1", name+":2")
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mustIn(t, dir, f, "image", "load")
	if got := inspectOne(t, name+":1"); got.ID != id {
		t.Errorf("image loaded from stdin has ID %s, want %s", got.ID, id)
	}
}

// imageCounts are a private daemon's images and snapshots.
func imageCounts(d *privateDaemon) (images, snapshots int) {
	return len(strings.Fields(d.ctr("images", "ls", "-q"))), strings.Count(d.ctr("snapshots", "ls"), "\n")
}

func TestImagePrune(t *testing.T) {
	d := newPrivateDaemon(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM scratch\nCOPY f /f\n", "f": "dangling\n", "kept/Dockerfile": "FROM scratch\nCOPY g /g\n", "kept/g": "kept\n"})
	id := strings.TrimSpace(d.must(dir, "image", "build", "-q", "."))
	if !imageIDLine.MatchString(id) {
		t.Fatalf("image build -q without -t printed %q", id)
	}
	d.must(dir, "image", "build", "-q", "-t", "e2e-kept:1", "kept")
	ls := d.must(dir, "image", "ls")
	if !regexp.MustCompile(`<none>\s+<none>\s+` + strings.TrimPrefix(id, "sha256:")[:12]).MatchString(ls) {
		t.Errorf("image ls does not show the dangling image:\n%s", ls)
	}
	if cmd := d.command(dir, "image", "prune"); cmd.Run() == nil {
		t.Errorf("image prune without -f and no terminal did not refuse")
	}
	out := d.must(dir, "image", "prune", "-f")
	if !strings.Contains(out, "deleted: "+id) || !strings.Contains(out, "Total reclaimed space:") {
		t.Errorf("image prune -f printed:\n%s", out)
	}
	ls = d.must(dir, "image", "ls")
	if strings.Contains(ls, "<none>") || !strings.Contains(ls, "e2e-kept") {
		t.Errorf("after prune, image ls =\n%s\nwant no dangling image and the tagged one", ls)
	}
	// -a removes every image no container uses: the tagged one, and the
	// busybox image of the daemon's but for the one a container uses.
	p := newBareProject(t, "services:\n  app:\n    image: "+testImage+"\n    command: [sleep, \"600\"]\n    stop_signal: SIGKILL\n", nil)
	d.must(p.dir, "-p", p.name, "create")
	out = d.must(dir, "image", "prune", "-a", "-f")
	if !strings.Contains(out, "untagged: e2e-kept:1") || strings.Contains(out, "busybox") {
		t.Errorf("image prune -a printed:\n%s\nwant e2e-kept and not the image a container uses", out)
	}
	if images, _ := imageCounts(d); images != 1 {
		t.Errorf("after prune -a, %d images are left, want only %s:\n%s", images, testImage, d.ctr("images", "ls", "-q"))
	}
	d.must(p.dir, "-p", p.name, "down")
}

func TestImageBadInput(t *testing.T) {
	d := newPrivateDaemon(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"bad/Dockerfile":  "FROM " + testImage + "\nRUN true\nNOTANINSTRUCTION x\n",
		"fail/Dockerfile": "FROM " + testImage + "\nRUN exit 3\n",
		"ok/Dockerfile":   "FROM " + testImage + "\nCMD [\"sleep\", \"600\"]\n",
	})
	d.must(dir, "image", "build", "-t", "e2e-bad-ok", "ok")
	p := newBareProject(t, "services:\n  app:\n    image: e2e-bad-ok\n    pull_policy: never\n    stop_signal: SIGKILL\n", nil)
	d.must(p.dir, "-p", p.name, "up", "-d")
	defer d.must(p.dir, "-p", p.name, "down", "-t", "0")
	images, snapshots := imageCounts(d)
	cases := []struct {
		name  string
		args  []string
		stdin string
		want  []string
	}{
		{"missing context", []string{"image", "build", "-t", "e2e-bad-x", "nowhere"}, "", []string{"nowhere", "not a directory"}},
		{"Dockerfile error", []string{"image", "build", "-t", "e2e-bad-x", "bad"}, "", []string{"Dockerfile:3"}},
		{"failing RUN", []string{"image", "build", "-t", "e2e-bad-x", "fail"}, "", []string{"exit 3"}},
		{"Dockerfile error on stdin", []string{"image", "build", "-t", "e2e-bad-x", "-"}, "FROM " + testImage + "\nBOGUS\n", []string{":2"}},
		{"empty stdin", []string{"image", "build", "-t", "e2e-bad-x", "-"}, "", []string{"empty"}},
		{"invalid -t", []string{"image", "build", "-t", "Bad Name", "ok"}, "", []string{"Bad Name", "invalid reference format"}},
		{"other platform", []string{"image", "build", "-t", "e2e-bad-x", "--platform", "linux/s390x", "ok"}, "", []string{"building for linux/s390x", "needs qemu user emulation"}},
		{"unknown image inspect", []string{"image", "inspect", "e2e-bad-nothing"}, "", []string{"no such image: e2e-bad-nothing"}},
		{"unknown image rm", []string{"image", "rm", "e2e-bad-nothing"}, "", []string{"no such image: e2e-bad-nothing"}},
		{"unknown image history", []string{"image", "history", "e2e-bad-nothing"}, "", []string{"no such image"}},
		{"unknown image tag", []string{"image", "tag", "e2e-bad-nothing", "e2e-bad-y"}, "", []string{"no such image"}},
		{"unknown image push", []string{"image", "push", "127.0.0.1:9/e2e-bad-nothing"}, "", []string{"no such local image"}},
		{"unknown image save", []string{"image", "save", "-o", filepath.Join(dir, "x.tar"), "e2e-bad-nothing"}, "", []string{"no such local image"}},
		{"tag to an invalid reference", []string{"image", "tag", "e2e-bad-ok", "UPPER/Case"}, "", []string{"UPPER/Case", "invalid reference format"}},
		{"rm in use", []string{"image", "rm", "e2e-bad-ok"}, "", []string{p.name + "-app-1"}},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			var stdin io.Reader
			if tt.args[len(tt.args)-1] == "-" {
				stdin = strings.NewReader(tt.stdin)
			}
			r := berthIn(t, dir, stdin, d.env, tt.args...)
			if r.code == 0 {
				t.Fatalf("want a failure:\n%s", r)
			}
			msg := strings.TrimSpace(r.stderr)
			if strings.Contains(msg, "\n") {
				t.Errorf("more than one line on stderr (build steps go to stdout):\n%s", r)
			}
			t.Logf("error: %s", msg)
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q\n%s", msg, w, r)
				}
			}
			if i, s := imageCounts(d); i != images || s != snapshots {
				t.Errorf("left behind: %d images (was %d), %d snapshots (was %d)\n%s", i, images, s, snapshots, d.ctr("images", "ls", "-q"))
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "x.tar")); err == nil {
		t.Errorf("a failed image save left its archive")
	}
	if left, _ := filepath.Glob(filepath.Join(os.TempDir(), "berth-stdin-context-*")); len(left) > 0 {
		t.Logf("stdin context directories exist (a build of another test may be running): %v", left)
	}
}
