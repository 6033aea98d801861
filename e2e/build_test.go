//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berth/berth/containerd/build"
	"github.com/berth/berth/hostproc"
)

// ctr runs containerd's ctr against the suite's daemon in berth's namespace.
func ctr(t *testing.T, args ...string) string {
	t.Helper()
	if ctrBin == "" {
		t.Fatal("ctr is not installed next to the managed containerd")
	}
	out, err := exec.Command(ctrBin, append([]string{"--address", daemonAddress(), "-n", "berth"}, args...)...).Output()
	if err != nil {
		t.Fatalf("ctr %v: %v: %s", args, err, out)
	}
	return string(out)
}

// manifestDigest is the digest a local image points at, or "".
func manifestDigest(t *testing.T, ref string) string {
	t.Helper()
	for _, line := range strings.Split(ctr(t, "images", "ls"), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == ref {
			return f[2]
		}
	}
	return ""
}

// imageConfig reads a local image's config blob.
func imageConfig(t *testing.T, ref string) map[string]any {
	t.Helper()
	d := manifestDigest(t, ref)
	if d == "" {
		t.Fatalf("no local image %s", ref)
	}
	var m struct{ Config struct{ Digest string } }
	if err := json.Unmarshal([]byte(ctr(t, "content", "get", d)), &m); err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal([]byte(ctr(t, "content", "get", m.Config.Digest)), &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// removeImages removes the images when the test ends.
func removeImages(t *testing.T, refs ...string) {
	t.Cleanup(func() {
		exec.Command(ctrBin, append([]string{"--address", daemonAddress(), "-n", "berth", "images", "rm"}, refs...)...).Run() //nolint:errcheck // absent is fine
	})
}

// assertNoBuildLeftovers checks that no build whose berth process is gone
// left a build container (with its task), a snapshot it prepared, its
// lease or its FIFO directory on the shared daemon. Each carries its
// build's owner (pid, start time, build id): builds that still run, of
// other tests and other test packages, hold theirs, and are left alone;
// a build of this test has ended by the time it checks, so whatever of
// it remains is reported.
func assertNoBuildLeftovers(t *testing.T) {
	t.Helper()
	for _, l := range buildLeftovers(t, ctrOut, berthRunDir()+"/build-fifo", ownerGone) {
		t.Errorf("left behind by a build: %s", l)
	}
}

// ownerGone reports whether a build owner's process is gone. A thing of
// the builder that names no owner is nobody's, hence left behind.
func ownerGone(owner string) bool {
	o, err := build.ParseBuildOwner(owner)
	return err != nil || !o.Alive(hostproc.Host)
}

// ctrOut runs ctr against the shared daemon; an error is returned, as
// what it asks about may be gone by then.
func ctrOut(args ...string) (string, error) {
	out, err := exec.Command(ctrBin, append([]string{"--address", daemonAddress(), "-n", "berth"}, args...)...).Output()
	return string(out), err
}

// buildThing is something a build made, with its owner.
type buildThing struct {
	kind, id, owner string
	// exists tells whether it is still there.
	exists func() bool
}

func (b buildThing) String() string { return fmt.Sprintf("%s %s (build %s)", b.kind, b.id, b.owner) }

// buildLeftovers lists the build containers, the berth-build-* snapshots,
// the build leases and the FIFO directories whose owner gone reports as
// gone and that still exist once it was: its process can no longer remove
// them, so they are left behind, and a build that ended between the
// listing and the check is not taken for one.
func buildLeftovers(t *testing.T, ctr func(...string) (string, error), fifoDir string, gone func(owner string) bool) []buildThing {
	t.Helper()
	var things []buildThing
	info := func(kind, id string) (string, bool) {
		out, err := ctr(kind, "info", id)
		if err != nil {
			return "", false
		}
		var v struct{ Labels map[string]string }
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("ctr %s info %s: %v: %s", kind, id, err, out)
		}
		return v.Labels[build.LabelOwner], true
	}
	for _, kind := range []string{"containers", "snapshots"} {
		out, err := ctr(kind, "ls")
		if err != nil {
			t.Fatalf("ctr %s ls: %v", kind, err)
		}
		for _, line := range strings.Split(out, "\n")[1:] {
			f := strings.Fields(line)
			if len(f) == 0 || !strings.HasPrefix(f[0], "berth-build-") {
				continue
			}
			id := f[0]
			if owner, ok := info(kind, id); ok {
				things = append(things, buildThing{kind: strings.TrimSuffix(kind, "s"), id: id, owner: owner, exists: func() bool {
					_, ok := info(kind, id)
					return ok
				}})
			}
		}
	}
	leases := func() map[string]string {
		out, err := ctr("leases", "ls")
		if err != nil {
			t.Fatalf("ctr leases ls: %v", err)
		}
		owners := map[string]string{}
		for _, line := range strings.Split(out, "\n")[1:] {
			if m := leaseOwner.FindStringSubmatch(line); m != nil {
				owners[m[1]] = m[2]
			}
		}
		return owners
	}
	for id, owner := range leases() {
		things = append(things, buildThing{kind: "lease", id: id, owner: owner, exists: func() bool { _, ok := leases()[id]; return ok }})
	}
	entries, _ := os.ReadDir(fifoDir)
	for _, e := range entries {
		path := filepath.Join(fifoDir, e.Name())
		things = append(things, buildThing{kind: "FIFO dir", id: path, owner: e.Name(), exists: func() bool {
			_, err := os.Lstat(path)
			return err == nil
		}})
	}
	var left []buildThing
	for _, th := range things {
		if gone(th.owner) && th.exists() {
			left = append(left, th)
		}
	}
	return left
}

// leaseOwner finds a build lease's id and owner in a line of ctr leases ls.
var leaseOwner = regexp.MustCompile(`^(\S+)\s.*\b` + regexp.QuoteMeta(build.LabelOwner) + `=([^,\s]+)`)

// TestBuildLeftoversCheck: the leftovers check reports what a build that
// ended left (a container, a snapshot, a lease, a FIFO dir) and nothing of
// a build that still runs, nor what a build removed as it ended (listed
// before its process was gone, gone when checked). It runs on canned ctr
// output, so it needs no build.
func TestBuildLeftoversCheck(t *testing.T) {
	const ended, running, finishing = "11-100-ended", "22-200-running", "33-300-finishing"
	labels := map[string]string{
		"containers info berth-build-a": ended, "containers info berth-build-b": running,
		"snapshots info berth-build-active-a": ended, "snapshots info berth-build-view-b": running,
		"snapshots info berth-build-active-c": finishing, "snapshots info berth-build-view-d": "",
	}
	removed := map[string]bool{}
	fake := func(args ...string) (string, error) {
		switch cmd := strings.Join(args, " "); cmd {
		case "containers ls":
			return "CONTAINER IMAGE RUNTIME\nberth-build-a - io.containerd.runc.v2\nberth-build-b - io.containerd.runc.v2\nweb-1 x io.containerd.runc.v2\n", nil
		case "snapshots ls":
			return "KEY PARENT KIND\nberth-build-active-a sha256:1 Active\nberth-build-view-b sha256:1 View\nberth-build-active-c sha256:1 Active\nberth-build-view-d sha256:1 View\nsha256:1  Committed\n", nil
		case "leases ls":
			return "ID CREATED AT LABELS\nberth.build-cache 2026-01-01T00:00:00Z berth.io/purpose=build cache\n" +
				"l1 2026-01-01T00:00:00Z berth.build-owner=" + ended + ",berth.io/purpose=build\n" +
				"l2 2026-01-01T00:00:00Z berth.io/purpose=build,berth.build-owner=" + running + "\n", nil
		default:
			owner, ok := labels[cmd]
			if !ok || removed[cmd] {
				return "", fmt.Errorf("ctr %s: not found", cmd)
			}
			// The finishing build removes its snapshot once listed.
			if owner == finishing {
				removed[cmd] = true
			}
			if owner == "" {
				return `{"Labels":{}}`, nil
			}
			return `{"Labels":{"berth.build-owner":"` + owner + `"}}`, nil
		}
	}
	fifo := t.TempDir()
	for _, o := range []string{ended, running} {
		if err := os.Mkdir(filepath.Join(fifo, o), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	gone := func(owner string) bool { return owner != running }
	var got []string
	for _, l := range buildLeftovers(t, fake, fifo, gone) {
		got = append(got, l.kind+" "+filepath.Base(l.id)+" "+l.owner)
	}
	sort.Strings(got)
	want := []string{
		"FIFO dir " + ended + " " + ended,
		"container berth-build-a " + ended,
		"lease l1 " + ended,
		"snapshot berth-build-active-a " + ended,
		"snapshot berth-build-view-d ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("buildLeftovers =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func gzipTar(t *testing.T, files map[string]string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, content := range files {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg, ModTime: time.Unix(1e9, 0)})
		tw.Write([]byte(content))
	}
	tw.Close()
	zw.Close()
	return buf.String()
}

// TestBuildEveryInstruction builds a multi-stage Dockerfile that uses
// every instruction berth carries out, runs the image under berth up, and
// checks the file system (from inside) and the image config.
func TestBuildEveryInstruction(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Last-Modified", "Wed, 01 Jan 2020 00:00:00 GMT")
		fmt.Fprint(w, "fetched over http\n")
	}))
	defer srv.Close()
	// srv listens on the host's loopback: a RUN step reaches it only on
	// the host's network, which it must ask for and the compose file
	// grant (build.entitlements).
	dockerfile := `ARG BASE=` + testImage + `
FROM ${BASE} AS builder
ARG FROM_ARG=default
WORKDIR /src
COPY src/ ./
RUN echo "built with $FROM_ARG" > built.txt && ln built.txt hardlink.txt && ln -s built.txt symlink.txt

FROM builder AS unused
RUN exit 1

FROM ${BASE} AS final
SHELL ["/bin/sh", "-ec"]
ENV GREETING=hi
LABEL org.example.stage=final
EXPOSE 8080 9090/udp
RUN rm /www/index.html
RUN ["/bin/sh", "-c", "echo exec-form > /exec.txt"]
RUN <<EOF
echo heredoc-one > /heredoc.txt
echo heredoc-two >> /heredoc.txt
EOF
COPY --from=builder /src/ /app/
COPY --from=` + testImage + ` /bin/busybox /from-image/busybox
RUN --network=host wget -q -O /net.txt ` + srv.URL + `/remote.txt
RUN --network=none sh -c 'wget -q -T 2 -O /dev/null ` + srv.URL + `/remote.txt && echo reachable || echo unreachable' > /netnone.txt
RUN echo "proxy=$HTTP_PROXY" > /proxy.txt
COPY --chown=65534:65534 --chmod=640 src/secret.conf /etc/app/
COPY --link src/*.txt /glob/
COPY <<EOF /inline.txt
inline $GREETING
EOF
ADD files.tar.gz /unpacked/
ADD ` + srv.URL + `/remote.txt /remote/
RUN echo 'app:x:1234:1234::/tmp:/bin/sh' >> /etc/passwd && echo 'app:x:1234:' >> /etc/group
USER app
RUN id -u > /tmp/uid.txt
WORKDIR /work/dir
COPY check.sh /check.sh
VOLUME /data
HEALTHCHECK --interval=5s --retries=2 CMD true
STOPSIGNAL SIGQUIT
ONBUILD RUN echo never
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["exec /check.sh"]
`
	check := `#!/bin/sh
echo "secret=$(ls -ln /etc/app/secret.conf | awk '{print $1, $3, $4}')"
echo "built=$(cat /app/built.txt)"
echo "links=$(stat -c %h /app/built.txt) $(readlink /app/symlink.txt)"
test -e /www/index.html && echo "whiteout=missing" || echo "whiteout=ok"
echo "exec=$(cat /exec.txt)"
echo "heredoc=$(cat /heredoc.txt | tr '\n' ' ')"
echo "inline=$(cat /inline.txt)"
echo "glob=$(ls /glob | tr '\n' ' ')"
echo "unpacked=$(cat /unpacked/pkg/file.txt)"
echo "remote=$(stat -c '%a %s %Y' /remote/remote.txt)"
echo "uid=$(cat /tmp/uid.txt) $(id -u)"
echo "pwd=$(pwd)"
echo "env=$GREETING"
test -e /app/ignored.log && echo "dockerignore=broken" || echo "dockerignore=ok"
echo "unused=$(test -e /src && echo leaked || echo absent)"
echo "fromimage=$(test -x /from-image/busybox && echo ok)"
echo "net=$(cat /net.txt) $(cat /netnone.txt)"
echo "$(cat /proxy.txt)"
echo "mtime=$(stat -c %Y /etc/app/secret.conf)"
`
	p := newProject(t, `
services:
  app:
    build:
      context: .
      target: final
      args:
        FROM_ARG: compose-arg
        HTTP_PROXY: http://proxy.invalid:3128
      labels:
        com.example.built-by: berth-e2e
      entitlements: [network.host]
`, map[string]string{
		"Dockerfile":      dockerfile,
		"check.sh":        check,
		".dockerignore":   "**/*.log\n",
		"src/a.txt":       "a\n",
		"src/b.txt":       "b\n",
		"src/ignored.log": "must not be copied\n",
		"src/secret.conf": "secret\n",
		"files.tar.gz":    gzipTar(t, map[string]string{"pkg/file.txt": "from the tarball"}),
	})
	os.Chmod(filepath.Join(p.dir, "check.sh"), 0o755)
	os.Chtimes(filepath.Join(p.dir, "src/secret.conf"), time.Unix(1e9, 0), time.Unix(1e9, 0))
	image := "docker.io/library/" + p.name + "-app:latest"
	removeImages(t, image)

	r := p.must("build")
	for _, want := range []string{"[app 1/", "RUN echo \"built with $FROM_ARG\"", "DONE", "naming to " + image} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("build output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "exit 1") {
		t.Errorf("the unused stage was built:\n%s", r.stdout)
	}
	assertNoBuildLeftovers(t)

	p.must("up", "-d")
	p.waitFor("the check to finish", 30*time.Second, func() bool {
		ps := p.ps(true)
		return len(ps) == 1 && ps[0].State == "exited"
	})
	logs := p.must("logs", "--no-log-prefix", "app").stdout
	for _, want := range []string{
		"secret=-rw-r----- 65534 65534",
		"built=built with compose-arg",
		"links=2 built.txt",
		"whiteout=ok",
		"exec=exec-form",
		"heredoc=heredoc-one heredoc-two ",
		"inline=inline hi",
		"glob=a.txt b.txt ",
		"unpacked=from the tarball",
		"remote=600 18 1577836800",
		"uid=1234 1234",
		"pwd=/work/dir",
		"env=hi",
		"dockerignore=ok",
		"unused=absent",
		"fromimage=ok",
		"net=fetched over http unreachable",
		"proxy=http://proxy.invalid:3128",
		"mtime=1000000000",
	} {
		if !strings.Contains(logs, want+"\n") {
			t.Errorf("in the built image: want %q; the check printed:\n%s", want, logs)
		}
	}

	cfg := imageConfig(t, image)
	c := cfg["config"].(map[string]any)
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	for key, want := range map[string]string{
		"ExposedPorts": `{"8080/tcp":{},"9090/udp":{}}`,
		"Labels":       `{"com.example.built-by":"berth-e2e","org.example.stage":"final"}`,
		"Volumes":      `{"/data":{}}`,
		"Healthcheck":  `{"Interval":5000000000,"Retries":2,"Test":["CMD-SHELL","true"]}`,
		"StopSignal":   `"SIGQUIT"`,
		"OnBuild":      `["RUN echo never"]`,
		"Entrypoint":   `["/bin/sh","-c"]`,
		"Cmd":          `["exec /check.sh"]`,
		"WorkingDir":   `"/work/dir"`,
		"User":         `"app"`,
		"Shell":        `["/bin/sh","-ec"]`,
	} {
		if got := js(c[key]); got != want {
			t.Errorf("image config %s = %s, want %s", key, got, want)
		}
	}
	if js(c["Env"]) != `["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","GREETING=hi"]` {
		t.Errorf("image Env = %s (the proxy arg must not be kept)", js(c["Env"]))
	}
	diffIDs := cfg["rootfs"].(map[string]any)["diff_ids"].([]any)
	history := cfg["history"].([]any)
	layers := 0
	for _, h := range history {
		if e, _ := h.(map[string]any)["empty_layer"].(bool); !e {
			layers++
		}
	}
	if layers != len(diffIDs) {
		t.Errorf("history has %d entries with layers, rootfs %d diff_ids", layers, len(diffIDs))
	}
}

// TestBuildCache: a rebuild with nothing changed runs no step and gives the
// same image; touching one file re-runs only from the step that uses it;
// --no-cache and builder prune run everything again. Two services build.
func TestBuildCache(t *testing.T) {
	dockerfile := `FROM ` + testImage + `
ENV STEP=1
RUN echo one > /1
COPY first.txt /first.txt
RUN echo two > /2
RUN echo three > /3
COPY second.txt /second.txt
RUN cat /second.txt > /4
RUN echo five > /5
CMD ["sleep", "600"]
`
	p := newProject(t, `
services:
  a:
    build: .
    stop_signal: SIGKILL
  b:
    build:
      context: .
      dockerfile: Dockerfile
    image: e2e-build-cache/b:1
    stop_signal: SIGKILL
`, map[string]string{"Dockerfile": dockerfile, "first.txt": "1", "second.txt": "2"})
	imageA := "docker.io/library/" + p.name + "-a:latest"
	removeImages(t, imageA, "docker.io/e2e-build-cache/b:1")

	steps := regexp.MustCompile(`(?m)^\[(a|b) (\d+)/10\] (CACHED )?(RUN|COPY)`)
	// ranOf lists the RUN and COPY steps of service svc's build that ran
	// and those that came from the cache.
	ranOf := func(svc, out string) (ran, cached []string) {
		for _, m := range steps.FindAllStringSubmatch(out, -1) {
			if m[1] != svc {
				continue
			}
			if m[3] != "" {
				cached = append(cached, m[2])
			} else {
				ran = append(ran, m[2])
			}
		}
		return ran, cached
	}
	ran := func(out string) (ran, cached []string) { return ranOf("a", out) }
	p.must("builder", "prune")
	r := p.must("up", "-d")
	// a and b build the same steps at the same time, so a step one of them
	// finished first is a cache hit for the other: cold means each step
	// ran in a or in b, and each was seen in both.
	ranA, cachedA := ranOf("a", r.stdout)
	ranB, cachedB := ranOf("b", r.stdout)
	for _, step := range []string{"3", "4", "5", "6", "7", "8", "9"} {
		if !slices.Contains(ranA, step) && !slices.Contains(ranB, step) {
			t.Errorf("cold build: step %s ran in neither a nor b (a ran %v, cached %v; b ran %v, cached %v):\n%s", step, ranA, cachedA, ranB, cachedB, r)
		}
	}
	if len(ranA)+len(cachedA) != 7 || len(ranB)+len(cachedB) != 7 {
		t.Errorf("cold build: a ran %v, cached %v; b ran %v, cached %v; want 7 steps each:\n%s", ranA, cachedA, ranB, cachedB, r)
	}
	if !strings.Contains(r.stdout, "[b 10/10]") {
		t.Errorf("service b was not built:\n%s", r.stdout)
	}
	first := manifestDigest(t, imageA)

	r = p.must("build", "a")
	if rn, c := ran(r.stdout); len(rn) != 0 || len(c) != 7 {
		t.Errorf("no-op rebuild ran %v, cached %v; want all 7 cached:\n%s", rn, c, r)
	}
	if d := manifestDigest(t, imageA); d != first {
		t.Errorf("no-op rebuild changed the image: %s -> %s", first, d)
	}
	if r := p.must("up", "-d"); strings.Contains(r.stderr, "Recreate") {
		t.Errorf("up after a no-op rebuild recreated containers:\n%s", r.stderr)
	}

	p.write("second.txt", "changed")
	r = p.must("up", "-d", "--build", "a")
	if rn, c := ran(r.stdout); strings.Join(rn, ",") != "7,8,9" || strings.Join(c, ",") != "3,4,5,6" {
		t.Errorf("after changing second.txt ran %v, cached %v; want 7,8,9 run and 3,4,5,6 cached:\n%s", rn, c, r)
	}
	if !strings.Contains(r.stderr, "image changed") {
		t.Errorf("up --build did not recreate a's container for its new image:\n%s", r.stderr)
	}

	r = p.must("build", "--no-cache", "a")
	if r, c := ran(r.stdout); len(r) != 7 || len(c) != 0 {
		t.Errorf("--no-cache ran %v, cached %v", r, c)
	}
	r = p.must("builder", "prune")
	if !strings.Contains(r.stdout, "Removed") {
		t.Errorf("builder prune said: %s", r.stdout)
	}
	r = p.must("build", "a")
	if r, c := ran(r.stdout); len(r) != 7 || len(c) != 0 {
		t.Errorf("build after prune ran %v, cached %v", r, c)
	}
	assertNoBuildLeftovers(t)
}

// TestBuildErrors: bad builds fail with the file, line and what to do, and
// leave no build container, snapshot or lease behind.
func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name, dockerfile, compose string
		files                     map[string]string
		want                      string
	}{
		{"failing RUN", "FROM " + testImage + "\nRUN echo first line && echo last words && exit 3\n", "", nil,
			"Dockerfile:2: RUN echo first line && echo last words && exit 3: the command exited with status 3; its last output lines:\n    first line\n    last words"},
		{"source outside the context", "FROM " + testImage + "\nCOPY ../etc/passwd /x\n", "", nil, "Dockerfile:2: source \"../etc/passwd\" is outside the build context"},
		{"missing source", "FROM " + testImage + "\nCOPY nothing.txt /x\n", "", nil, "Dockerfile:2: source \"nothing.txt\" matches no file"},
		{"RUN --mount over /", "FROM " + testImage + "\nRUN --mount=type=cache,target=/ true\n", "", nil, "Dockerfile:2: RUN --mount=type=cache,target=/: cannot mount over the root directory"},
		{"required secret", "FROM " + testImage + "\nRUN --mount=type=secret,id=x,required cat /run/secrets/x\n", "", nil, `Dockerfile:2: RUN --mount=type=secret,id=x,required: the build has no secret "x"`},
		{"other platform", "FROM --platform=linux/s390x " + testImage + "\n", "", nil, "FROM --platform=linux/s390x: building for linux/s390x on this linux/amd64 host needs qemu user emulation"},
		{"unknown target", "FROM " + testImage + " AS one\n", "      target: two\n", nil, `no stage named "two"`},
		{"undefined build secret", "FROM " + testImage + "\n", "      secrets: [nope]\n", nil, `service "app" refers to undefined build secret nope`},
		{"missing base", "FROM berth-e2e.local/absent:1\n", "", nil, "FROM berth-e2e.local/absent:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"Dockerfile": tt.dockerfile}
			for k, v := range tt.files {
				files[k] = v
			}
			p := newProject(t, "services:\n  app:\n    build:\n      context: .\n"+tt.compose, files)
			removeImages(t, "docker.io/library/"+p.name+"-app:latest")
			r := p.berth("up", "-d")
			if r.code == 0 || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("want a failure saying %q, got:\n%s", tt.want, r)
			}
			if ps := p.ps(true); len(ps) != 0 {
				t.Errorf("containers after a failed build: %+v", ps)
			}
			if manifestDigest(t, "docker.io/library/"+p.name+"-app:latest") != "" {
				t.Errorf("a failed build left an image")
			}
			assertNoBuildLeftovers(t)
		})
	}
}

// TestBuildInterrupted: Ctrl-C during a RUN stops the build and removes
// its container, snapshots and lease.
func TestBuildInterrupted(t *testing.T) {
	p := newProject(t, "services:\n  app:\n    build: .\n", map[string]string{
		"Dockerfile": "FROM " + testImage + "\nRUN echo started && sleep 60\n",
	})
	cmd, out := p.start("build")
	p.waitFor("the RUN step to start", 30*time.Second, func() bool { return strings.Contains(out.String(), "app | started") })
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("interrupted build exited 0:\n%s", out)
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("build did not stop on SIGINT:\n%s", out)
	}
	assertNoBuildLeftovers(t)
}

// TestBuildPushPull: a built image pushed to a registry and pulled back
// has the same digest; save writes an archive load reads.
func TestBuildPushPull(t *testing.T) {
	registry := startRegistry(t)
	image := registry + "/e2e/built:1"
	p := newProject(t, `
services:
  app:
    build: .
    image: `+image+`
    command: [cat, /hello]
  derived:
    build:
      context: .
      dockerfile: Dockerfile.derived
    profiles: [derived]
`, map[string]string{
		// Content of this run only: the derived build's RUN must not come
		// from another run's cache.
		"Dockerfile":         "FROM " + testImage + "\nRUN echo hello from a pushed image > /hello && echo " + uniq(t) + " > /token\n",
		"Dockerfile.derived": "FROM " + image + "\nRUN cat /hello\n",
	})
	removeImages(t, image, "docker.io/library/"+p.name+"-derived:latest")
	p.must("build")
	local := manifestDigest(t, image)
	p.must("push")

	req, _ := http.NewRequest(http.MethodHead, "http://"+registry+"/v2/e2e/built/manifests/1", nil)
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Docker-Content-Digest"); got != local {
		t.Errorf("registry has %s (HTTP %d), local image is %s", got, resp.StatusCode, local)
	}

	// --pull fetches the base from its registry even though it is present.
	r := p.must("--profile", "derived", "build", "--pull", "derived")
	if !strings.Contains(r.stderr, "Pulled") || !strings.Contains(r.stdout, "derived | hello from a pushed image") {
		t.Errorf("build --pull of an image based on the pushed one:\n%s", r)
	}

	archive := filepath.Join(t.TempDir(), "built.tar")
	p.must("save", "-o", archive, image)

	ctr(t, "images", "rm", image)
	p.must("pull")
	if got := manifestDigest(t, image); got != local {
		t.Errorf("pulled back %s, pushed %s", got, local)
	}
	ctr(t, "images", "rm", image)
	p.must("load", "-i", archive)
	if got := manifestDigest(t, image); got != local {
		t.Errorf("loaded %s from the saved archive, built %s", got, local)
	}
	p.must("up", "-d", "--no-build")
	p.waitFor("the container to print", 30*time.Second, func() bool {
		return strings.Contains(p.must("logs", "app").stdout, "hello from a pushed image")
	})
}

// TestBuildDebianNetwork: a RUN step reaches the Debian mirror (apt-get
// update and install) from a Debian base image made with mmdebstrap.
func TestBuildDebianNetwork(t *testing.T) {
	p := newProject(t, "services:\n  app:\n    build: .\n    command: [hello]\n", map[string]string{
		"Dockerfile": "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y --no-install-recommends hello && rm -rf /var/lib/apt/lists/*\n",
	})
	removeImages(t, "docker.io/library/"+p.name+"-app:latest")
	loadDebianImage(t)
	// --no-cache: the step must really reach the mirror, also when an
	// earlier run of the suite left it in the build cache.
	r := p.must("build", "--no-cache")
	if !strings.Contains(r.stdout, "Setting up hello") {
		t.Errorf("apt-get install output missing:\n%s", r.stdout)
	}
	p.must("up", "-d")
	p.waitFor("hello to print", 30*time.Second, func() bool {
		return strings.Contains(p.must("logs", "app").stdout, "Hello, world!")
	})
}

// loadDebianImage makes debian:bookworm-slim with scripts/debian-image.sh
// (from its cache after the first time) and loads it, as `make demo` does
// on a machine that cannot pull.
func loadDebianImage(t *testing.T) {
	t.Helper()
	archive := filepath.Join(t.TempDir(), "debian.tar")
	out, err := exec.Command(filepath.Join(repoRoot, "scripts", "debian-image.sh"), archive).CombinedOutput()
	if err != nil {
		t.Fatalf("debian-image.sh: %v\n%s", err, out)
	}
	out, err = exec.Command(berthBin, append(globalArgs(), "load", "-i", archive)...).CombinedOutput()
	if err != nil {
		t.Fatalf("berth load %s: %v\n%s", archive, err, out)
	}
}

// syncBuffer is a bytes.Buffer safe for a command writing while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestBuildParallelStages: two stages that do not depend on each other
// build at the same time. Stage a waits for a connection that only stage
// b makes, so built one after the other they would never finish.
//
// b's message comes from a file, not a pipe: the listener's stdin is
// /dev/null (as under docker build), so busybox nc half-closes the
// connection at once, and a client nc that sees that before echo wrote to
// its pipe exits having sent nothing (seen on a loaded machine).
func TestBuildParallelStages(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	p := newProject(t, "services:\n  app:\n    build: .\n", map[string]string{"Dockerfile": fmt.Sprintf(`FROM %[1]s AS a
RUN timeout 30 nc -l -p %[2]d > /got.txt
FROM %[1]s AS b
RUN echo hello-from-b > /msg; for i in $(seq 1 200); do nc -w 2 127.0.0.1 %[2]d < /msg && exit 0; sleep 0.1; done; exit 1
FROM %[1]s
COPY --from=a /got.txt /got.txt
COPY --from=b /etc/passwd /b-passwd
CMD ["cat", "/got.txt"]
`, testImage, port)})
	removeImages(t, "docker.io/library/"+p.name+"-app:latest")
	p.must("build")
	p.must("up", "-d")
	var logs string
	defer func() {
		if t.Failed() {
			t.Logf("logs of app: %q\nps: %s", logs, p.berth("ps", "-a"))
		}
	}()
	p.waitFor("the image to show what stage b sent", 30*time.Second, func() bool {
		logs = p.must("logs", "app").stdout
		return strings.Contains(logs, "hello-from-b")
	})
}

// TestBuildNoCacheFresh: build --no-cache gives the image of the steps it
// ran, not an earlier build's result of the same step (a RUN date, an
// apt-get update), and a later cached build takes the new result.
func TestBuildNoCacheFresh(t *testing.T) {
	p := newProject(t, "services:\n  app:\n    build: .\n", map[string]string{"Dockerfile": "FROM " + testImage + "\nRUN cat /proc/sys/kernel/random/uuid > /stamp\nCMD [\"cat\", \"/stamp\"]\n"})
	removeImages(t, "docker.io/library/"+p.name+"-app:latest")
	stamp := func() string {
		out := strings.TrimSpace(p.must("run", "--rm", "app").stdout)
		if out == "" {
			t.Fatal("the image has no /stamp")
		}
		return out
	}
	p.must("build")
	first := stamp()
	p.must("build", "--no-cache")
	second := stamp()
	if second == first {
		t.Errorf("build --no-cache gave the earlier build's /stamp %s", first)
	}
	p.must("build")
	if third := stamp(); third != second {
		t.Errorf("a cached build after --no-cache gave /stamp %s, want the --no-cache build's %s", third, second)
	}
}
