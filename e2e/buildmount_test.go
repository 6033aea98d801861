//go:build e2e

package e2e

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestBuildMountCache: what a RUN writes into a cache mount is there for
// a later build's different step (--no-cache), under another target,
// and never in an image; the cache's content is not part of the step's
// key; a cache with from= starts with the stage's files.
func TestBuildMountCache(t *testing.T) {
	id, token := uniq(t), uniq(t)
	forgetCacheMounts(t, id)
	p := newProject(t, `
services:
  writer:
    build:
      context: .
      dockerfile: Dockerfile.write
  app:
    build: .
  seeded:
    build:
      context: .
      dockerfile: Dockerfile.seed
`, map[string]string{
		"Dockerfile.seed": "FROM " + testImage + " AS seed\nRUN mkdir /seed && echo " + token + " > /seed/s\n" +
			"FROM " + testImage + "\nRUN --mount=type=cache,id=seed-" + id + ",target=/c,from=seed,source=/seed cat /c/s > /seeded\n",
		"Dockerfile.write": "FROM " + testImage + "\nWORKDIR /w\nRUN --mount=type=cache,id=" + id + ",target=cache echo " + token + " > cache/seen && touch written\n",
		"Dockerfile":       "FROM " + testImage + "\nRUN --mount=type=cache,id=" + id + ",target=/var/cache/x,sharing=locked cat /var/cache/x/seen > /copied\n",
	})
	removeImages(t, "docker.io/library/"+p.name+"-writer:latest", "docker.io/library/"+p.name+"-app:latest", "docker.io/library/"+p.name+"-seeded:latest")
	p.must("build", "--no-cache", "writer")
	p.must("build", "--no-cache", "app")
	p.must("build", "seeded")
	check := func(svc, script, want string) {
		t.Helper()
		if out := p.must("run", "--rm", "-T", svc, "sh", "-c", script).stdout; strings.TrimSpace(out) != want {
			t.Errorf("%s: %s = %q, want %q", svc, script, out, want)
		}
	}
	check("app", "cat /copied", token)
	check("app", "ls -A /var/cache/x 2>/dev/null; echo end", "end")
	check("writer", "ls -A /w/cache 2>/dev/null; ls /w", "written")
	check("seeded", "cat /seeded; ls -A /c 2>/dev/null; true", token)

	// Another write to the cache does not change the key of the step
	// that reads it.
	p.write("Dockerfile.write", "FROM "+testImage+"\nRUN --mount=type=cache,id="+id+",target=/c echo other > /c/seen\n")
	p.must("build", "writer")
	if r := p.must("build", "app"); !strings.Contains(r.stdout, "CACHED RUN --mount=type=cache") {
		t.Errorf("the step reading the cache re-ran after the cache changed:\n%s", r)
	}
	check("app", "cat /copied", token)
	assertNoBuildLeftovers(t)
}

// TestBuildMountCacheApt: the classic apt-get with locked cache mounts on
// /var/cache/apt and /var/lib/apt (Debian's docker-clean removed): a
// second build with --no-cache installs from the cached package, and the
// image holds neither the package files nor the lists.
func TestBuildMountCacheApt(t *testing.T) {
	// Ids of their own (the targets are the classic ones), so that the
	// first build starts with empty caches whatever ran before.
	id := uniq(t)
	forgetCacheMounts(t, "cache-"+id, "lib-"+id)
	p := newProject(t, "services:\n  app:\n    build: .\n    command: [hello]\n", map[string]string{
		"Dockerfile": `FROM debian:bookworm-slim
RUN rm -f /etc/apt/apt.conf.d/docker-clean; echo 'Binary::apt::APT::Keep-Downloaded-Packages "true";' > /etc/apt/apt.conf.d/keep-cache
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked,id=cache-` + id + ` \
    --mount=type=cache,target=/var/lib/apt,sharing=locked,id=lib-` + id + ` \
    apt-get update && apt-get install -y --no-install-recommends hello
`,
	})
	removeImages(t, "docker.io/library/"+p.name+"-app:latest")
	loadDebianImage(t)
	download := regexp.MustCompile(`(?m)Get:\d+ \S+ \S+ \S+ hello `)
	if r := p.must("build", "--no-cache"); !download.MatchString(r.stdout) {
		t.Errorf("the first build did not download hello:\n%s", r.stdout)
	}
	r := p.must("build", "--no-cache")
	if !strings.Contains(r.stdout, "Setting up hello") {
		t.Errorf("the second build did not install hello:\n%s", r.stdout)
	}
	if got := download.FindString(r.stdout); got != "" {
		t.Errorf("the second build downloaded hello again (%q) instead of taking it from the cache mount:\n%s", got, r.stdout)
	}
	out := p.must("run", "--rm", "-T", "app", "sh", "-c", "hello; ls /var/cache/apt/archives/ | grep -c deb; ls /var/lib/apt/lists | grep -c _dists_; true").stdout
	if !strings.HasPrefix(out, "Hello, world!\n0\n0") {
		t.Errorf("image: hello, package files, lists = %q; want hello to run and no cached file in the image", out)
	}
}

// TestBuildMountTmpfsBind: a tmpfs and bind mounts from the context
// (.dockerignore applied, read-only unless rw, writes lost) and from a
// stage are there while the step runs and not in the image; a changed
// bound file re-runs its step; a source outside the context or the
// stage is refused with the file and line.
func TestBuildMountTmpfsBind(t *testing.T) {
	// Contents of their own, so that the steps binding them are not in
	// the cache from an earlier run.
	v1, v2 := "v1-"+uniq(t), "v2-"+uniq(t)
	p := newProject(t, "services:\n  app:\n    build: .\n", map[string]string{
		".dockerignore": "ignored.txt\n",
		"input.txt":     v1 + "\n",
		"ignored.txt":   "secret\n",
		"Dockerfile": `FROM ` + testImage + ` AS tools
RUN mkdir /out && echo from-stage > /out/tool.txt

FROM ` + testImage + `
WORKDIR /app
RUN --mount=type=tmpfs,target=/scratch,size=16m echo t > /scratch/f && grep -q " /scratch tmpfs" /proc/mounts && echo tmpfs-ok > /tmpfs.txt
RUN --mount=type=bind,target=src cat src/input.txt > /bound.txt && test ! -e src/ignored.txt && ! touch src/new 2>/dev/null && echo ro > /ro.txt
RUN --mount=type=bind,source=input.txt,target=/in.txt,rw cat /in.txt > /file.txt && echo changed > /in.txt
RUN --mount=type=bind,from=tools,source=/out,target=/tools cat /tools/tool.txt > /stage.txt
RUN --mount=type=bind,from=tools,target=/t,rw echo x > /t/out/new && cat /t/out/tool.txt > /stage-rw.txt
`,
	})
	removeImages(t, "docker.io/library/"+p.name+"-app:latest")
	p.must("build")
	script := "cat /tmpfs.txt /bound.txt /ro.txt /file.txt /stage.txt /stage-rw.txt; ls -A /scratch /app/src /tools /t /in.txt 2>/dev/null; echo end"
	want := "tmpfs-ok\n" + v1 + "\nro\n" + v1 + "\nfrom-stage\nfrom-stage\nend"
	if out := strings.TrimSpace(p.must("run", "--rm", "-T", "app", "sh", "-c", script).stdout); out != want {
		t.Errorf("image: %q, want %q", out, want)
	}
	if b, err := os.ReadFile(filepath.Join(p.dir, "input.txt")); err != nil || string(b) != v1+"\n" {
		t.Errorf("the rw bind wrote to the context: input.txt = %q, %v", b, err)
	}

	p.write("input.txt", v2+"\n")
	r := p.must("build")
	if !strings.Contains(r.stdout, "CACHED RUN --mount=type=tmpfs") || strings.Contains(r.stdout, "CACHED RUN --mount=type=bind,target=src") {
		t.Errorf("after input.txt changed, want the tmpfs step cached and the bind step run:\n%s", r)
	}
	if out := p.must("run", "--rm", "-T", "app", "cat", "/bound.txt").stdout; out != v2+"\n" {
		t.Errorf("/bound.txt after the change = %q, want %q", out, v2)
	}

	for _, tt := range []struct{ line, want string }{
		{"RUN --mount=type=bind,source=../,target=/x true", `Dockerfile:2: RUN --mount=type=bind,target=/x: source "../" is outside the build context`},
		{"RUN --mount=type=bind,source=ignored.txt,target=/x true", `Dockerfile:2: RUN --mount=type=bind,target=/x: source "ignored.txt" matches no file`},
		{"RUN --mount=type=bind,from=" + testImage + ",source=/nothing,target=/x true", `Dockerfile:2: RUN --mount=type=bind,target=/x: source "/nothing" is not in ` + testImage},
	} {
		p.write("Dockerfile", "FROM "+testImage+"\n"+tt.line+"\n")
		r := p.berth("build")
		if r.code == 0 || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%s: exit %d, want an error with %q:\n%s", tt.line, r.code, tt.want, r)
		}
	}
	assertNoBuildLeftovers(t)
}

// TestBuildMountCachePruneLocked: `berth builder prune` removes cache
// mounts, so the next build starts with an empty one; a locked cache
// another holds makes a step wait (on a private daemon: the shared one's
// cache must never be pruned, and its paths are the test's own).
func TestBuildMountCachePruneLocked(t *testing.T) {
	d := newPrivateDaemon(t)
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("compose.yaml", "services:\n  app:\n    build: .\n")
	write("Dockerfile", "FROM "+testImage+"\nRUN --mount=type=cache,target=/c echo run >> /c/runs && wc -l < /c/runs\n")
	count := regexp.MustCompile(`(?m)\| +(\d+)$`)
	runs := func() string {
		out := d.must(dir, "build", "--no-cache")
		m := count.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no count in the build output:\n%s", out)
		}
		return m[1]
	}
	if a, b := runs(), runs(); a != "1" || b != "2" {
		t.Errorf("runs counted in the cache mount: %s then %s, want 1 then 2", a, b)
	}
	d.must(dir, "builder", "prune")
	if n := runs(); n != "1" {
		t.Errorf("after builder prune the cache mount counted %s runs, want 1 (emptied)", n)
	}

	// sharing=locked: while another holds the cache (this test, with
	// flock on the cache's directory, as a build step would), the step
	// waits and says so; it runs once the cache is free.
	write("Dockerfile", "FROM "+testImage+"\nRUN --mount=type=cache,id=lockme,target=/c,sharing=locked echo locked-ran\n")
	d.must(dir, "build", "--no-cache")
	sum := sha256.Sum256([]byte("id=lockme"))
	instances, _ := filepath.Glob(filepath.Join(d.dataDir, "build", "*", "cache-mounts", hex.EncodeToString(sum[:16])+".0"))
	if len(instances) != 1 {
		t.Fatalf("cache directories of id lockme: %q, want one", instances)
	}
	held, err := os.Open(instances[0])
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := unix.Flock(int(held.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	cmd := d.command(dir, "build", "--no-cache")
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
	defer stop.Stop()
	sc := bufio.NewScanner(pipe)
	var lines []string
	waited := false
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if strings.HasSuffix(sc.Text(), "| locked-ran") && !waited {
			t.Errorf("the locked step ran while the cache was held:\n%s", strings.Join(lines, "\n"))
		}
		if strings.Contains(sc.Text(), "waiting for the cache mount lockme (sharing=locked)") {
			waited = true
			unix.Flock(int(held.Fd()), unix.LOCK_UN) //nolint:errcheck // closing unlocks too
		}
	}
	if err := cmd.Wait(); err != nil || !waited || !strings.Contains(strings.Join(lines, "\n"), "| locked-ran") {
		t.Errorf("build with the cache held: %v, waited %t, want a wait and then the step:\n%s", err, waited, strings.Join(lines, "\n"))
	}
}

// TestBuildCopyFlags: COPY --exclude and --parents, ADD --checksum
// verified against the download (a mismatch fails with file and line).
func TestBuildCopyFlags(t *testing.T) {
	payload := uniq(t) + "\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, payload)
	}))
	defer srv.Close()
	sum := sha256.Sum256([]byte(payload))
	right := "sha256:" + hex.EncodeToString(sum[:])
	p := newProject(t, "services:\n  app:\n    build: .\n", map[string]string{
		"src/keep.txt":        "k",
		"src/drop.log":        "d",
		"src/sub/x.tmp":       "t",
		"src/sub/y.txt":       "y",
		"other/deep/f.txt":    "f",
		"other/deep/skip.txt": "s",
		"Dockerfile": "FROM " + testImage + "\n" +
			"COPY --exclude=*.log --exclude=sub/*.tmp src/ /a/\n" +
			"COPY --parents src/sub/*.txt ./other/./deep/f.txt /p/\n" +
			"ADD --checksum=" + right + " " + srv.URL + "/file /dl.txt\n",
	})
	removeImages(t, "docker.io/library/"+p.name+"-app:latest")
	p.must("build")
	out := p.must("run", "--rm", "-T", "app", "sh", "-c", "find /a /p -type f | sort; cat /dl.txt").stdout
	want := "/a/keep.txt\n/a/sub/y.txt\n/p/deep/f.txt\n/p/src/sub/y.txt\n" + payload
	if out != want {
		t.Errorf("image files:\n%s\nwant:\n%s", out, want)
	}

	wrong := "sha256:" + strings.Repeat("0", 64)
	p.write("Dockerfile", "FROM "+testImage+"\nADD --checksum="+wrong+" "+srv.URL+"/file /dl.txt\n")
	r := p.berth("build")
	if want := "Dockerfile:2: ADD " + srv.URL + "/file: the download's checksum is " + right + ", not the " + wrong; r.code == 0 || !strings.Contains(r.stderr, want) {
		t.Errorf("ADD with a wrong --checksum: exit %d, want an error with %q:\n%s", r.code, want, r)
	}
	assertNoBuildLeftovers(t)
}

// forgetCacheMounts removes, when the test ends, the cache mount
// directories of the ids the test made its own in the shared daemon's
// data dir (which no test may prune), so that runs do not pile them up.
func forgetCacheMounts(t *testing.T, ids ...string) {
	t.Cleanup(func() {
		for _, id := range ids {
			sum := sha256.Sum256([]byte("id=" + id))
			dirs, _ := filepath.Glob(filepath.Join(berthDataDir()+"/build", "*", "cache-mounts", hex.EncodeToString(sum[:16])+".*"))
			for _, d := range dirs {
				os.RemoveAll(d)
			}
		}
	})
}
