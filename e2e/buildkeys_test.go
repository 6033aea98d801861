//go:build e2e

package e2e

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// uniq is content no other run of the suite has, so that a build step
// holding it never comes from another run's build cache.
func uniq(t *testing.T) string {
	return fmt.Sprintf("%s-%d", t.Name(), time.Now().UnixNano())
}

// TestBuildRunNotTmpfs: /run is no tmpfs, neither in build steps nor in
// containers (Docker mounts none there): what one step writes under /run
// is there in the next step and in the container; tmpfs: /run still
// gives an empty one.
func TestBuildRunNotTmpfs(t *testing.T) {
	token := uniq(t)
	p := newProject(t, `
services:
  app:
    build: .
    command: [cat, /run/pg/token]
  fresh:
    image: `+testImage+`
    command: [ls, -A, /run]
    tmpfs: [/run]
    depends_on: [app]
`, map[string]string{
		"Dockerfile": "FROM " + testImage + "\nRUN mkdir -p /run/pg && echo " + token + " > /run/pg/token\nRUN cat /run/pg/token\n",
	})
	removeImages(t, "docker.io/library/"+p.name+"-app:latest")
	r := p.must("build")
	if !strings.Contains(r.stdout, "app | "+token) {
		t.Errorf("the second RUN did not see what the first wrote under /run:\n%s", r)
	}
	p.must("up", "-d")
	p.waitFor("both containers to exit", 30*time.Second, func() bool {
		for _, c := range p.ps(true) {
			if c.State != "exited" {
				return false
			}
		}
		return true
	})
	if logs := p.must("logs", "--no-log-prefix", "app").stdout; !strings.Contains(logs, token) {
		t.Errorf("the container does not have the image's /run/pg/token: logs %q", logs)
	}
	if logs := strings.TrimSpace(p.must("logs", "--no-log-prefix", "fresh").stdout); logs != "" {
		t.Errorf("tmpfs: /run is not empty: %q", logs)
	}
}

// TestPullSkipsBuildOnly: pull says docker compose's "Skipped - No image
// to be pulled" for a service that is only built, and pulls nothing for it;
// a service that can be built only warns when its image cannot be pulled,
// and --ignore-buildable does not try.
func TestPullSkipsBuildOnly(t *testing.T) {
	p := newProject(t, "services:\n  app:\n    build: .\n  both:\n    build: .\n    image: 127.0.0.1:1/e2e/nowhere:1\n", map[string]string{
		"Dockerfile": "FROM " + testImage + "\n",
	})
	r := p.must("pull")
	if !strings.Contains(r.stderr, "app  Skipped - No image to be pulled") || !strings.Contains(r.stderr, "must be built from source") {
		t.Errorf("pull of a build-only service and of a buildable one that cannot be pulled:\n%s", r)
	}
	r = p.must("pull", "--ignore-buildable")
	if !strings.Contains(r.stderr, "both  Skipped - Image can be built") || strings.Contains(r.stderr, "Pulling") {
		t.Errorf("pull --ignore-buildable:\n%s", r)
	}
}

// TestPullPolicyMissing: pull skips an image that is present when the
// service says pull_policy: missing (or if_not_present), and pulls it when
// it is absent; without a policy, pull pulls it again.
func TestPullPolicyMissing(t *testing.T) {
	registry := startRegistry(t)
	pushTestImage(t, registry, "e2e/missing:1")
	image := registry + "/e2e/missing:1"
	p := newProject(t, `
services:
  lazy:
    image: `+image+`
    pull_policy: missing
  old:
    image: `+image+`
    pull_policy: if_not_present
  eager:
    image: `+image+`
    profiles: [eager]
`, nil)
	removeImages(t, image)
	r := p.must("pull")
	if !strings.Contains(r.stderr, "Pulled") {
		t.Errorf("pull of an absent image with pull_policy missing pulled nothing:\n%s", r)
	}
	r = p.must("pull")
	if strings.Contains(r.stderr, "Pulling") || !strings.Contains(r.stderr, "lazy  Skipped - Image is already present locally") ||
		!strings.Contains(r.stderr, "old  Skipped - Image is already present locally") {
		t.Errorf("pull of a present image with pull_policy missing:\n%s", r)
	}
	r = p.must("--profile", "eager", "pull", "eager")
	if !strings.Contains(r.stderr, "Pulled") {
		t.Errorf("pull without a pull_policy did not pull the present image:\n%s", r)
	}
}

// collectGarbage makes containerd collect what nothing references now,
// as it would a little later by itself: it deletes a lease of its own
// synchronously.
func collectGarbage(t *testing.T) {
	t.Helper()
	id := "e2e-gc-" + fmt.Sprint(time.Now().UnixNano())
	ctr(t, "leases", "create", "--id", id)
	ctr(t, "leases", "delete", "--sync", id)
}

// TestBuildKeepsFinishedSteps: the steps a failed build finished stay in
// the cache, even after containerd collected garbage, and the next build
// takes them from it.
func TestBuildKeepsFinishedSteps(t *testing.T) {
	token := uniq(t)
	p := newProject(t, "services:\n  app:\n    build: .\n", map[string]string{
		"Dockerfile": "FROM " + testImage + "\nRUN echo " + token + " > /token\nARG FAIL\nRUN test -z \"$FAIL\"\n",
	})
	removeImages(t, "docker.io/library/"+p.name+"-app:latest")
	r := p.berth("build", "--build-arg", "FAIL=1")
	if r.code == 0 {
		t.Fatalf("the build did not fail:\n%s", r)
	}
	if strings.Contains(r.stdout, "CACHED RUN echo") {
		t.Fatalf("the first step came from the cache although its content is new:\n%s", r)
	}
	collectGarbage(t)
	r = p.must("build")
	if !strings.Contains(r.stdout, "CACHED RUN echo "+token) {
		t.Errorf("the step the failed build finished ran again:\n%s", r)
	}
	if !strings.Contains(r.stderr, "app  Built") {
		t.Errorf("no %q line after the build:\n%s", "app  Built", r)
	}
	assertNoBuildLeftovers(t)
}

// TestUpBuildsRunToEnd: when one service's build fails, up lets the
// other builds finish (their images exist afterwards) and then fails
// naming the broken one.
func TestUpBuildsRunToEnd(t *testing.T) {
	token := uniq(t)
	p := newProject(t, `
services:
  bad:
    build:
      context: .
      dockerfile: Dockerfile.bad
  good:
    build:
      context: .
      dockerfile: Dockerfile.good
`, map[string]string{
		"Dockerfile.bad":  "FROM " + testImage + "\nRUN echo broken && exit 7\n",
		"Dockerfile.good": "FROM " + testImage + "\nRUN sleep 3 && echo " + token + " > /token\n",
	})
	good := "docker.io/library/" + p.name + "-good:latest"
	removeImages(t, good, "docker.io/library/"+p.name+"-bad:latest")
	r := p.berth("up", "-d")
	if r.code == 0 || !strings.Contains(r.stderr, `service "bad"`) {
		t.Fatalf("up with a failing build:\n%s", r)
	}
	if manifestDigest(t, good) == "" || !strings.Contains(r.stderr, "good  Built") {
		t.Errorf("good's build did not run to its end:\n%s", r)
	}
	if ps := p.ps(true); len(ps) != 0 {
		t.Errorf("containers after a failed build: %+v", ps)
	}
	assertNoBuildLeftovers(t)
}

// registryDigest is the digest of a manifest in a loopback registry, or
// "" when it has none under that name.
func registryDigest(t *testing.T, registry, repo, tag string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodHead, "http://"+registry+"/v2/"+repo+"/manifests/"+tag, nil)
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return ""
	}
	return resp.Header.Get("Docker-Content-Digest")
}

// TestBuildPush: build --push sends the image name and each build tag to
// its own registry; push goes on with the other names when one registry
// cannot be reached, and then fails naming it.
func TestBuildPush(t *testing.T) {
	one, two := startRegistry(t), startRegistry(t)
	p := newProject(t, `
services:
  app:
    build:
      context: .
      tags: [`+two+`/e2e/app:2]
    image: `+one+`/e2e/app:1
  broken:
    build:
      context: .
      tags: [`+two+`/e2e/after:1]
    image: 127.0.0.1:1/e2e/nowhere:1
    profiles: [broken]
`, map[string]string{"Dockerfile": "FROM " + testImage + "\nRUN echo " + uniq(t) + " > /token\n"})
	removeImages(t, one+"/e2e/app:1", two+"/e2e/app:2", "127.0.0.1:1/e2e/nowhere:1", two+"/e2e/after:1")
	r := p.must("build", "--push", "app")
	local := manifestDigest(t, one+"/e2e/app:1")
	if got1, got2 := registryDigest(t, one, "e2e/app", "1"), registryDigest(t, two, "e2e/app", "2"); got1 != local || got2 != local {
		t.Errorf("build --push: registries have %q and %q, local image is %q:\n%s", got1, got2, local, r)
	}
	p.must("--profile", "broken", "build", "broken")
	r = p.berth("--profile", "broken", "push", "broken")
	if r.code == 0 || !strings.Contains(r.stderr, "127.0.0.1:1/e2e/nowhere:1") {
		t.Errorf("push to a registry that is not there:\n%s", r)
	}
	if registryDigest(t, two, "e2e/after", "1") == "" {
		t.Errorf("the tag for a reachable registry was not pushed after another name failed:\n%s", r)
	}
}

// TestBuildSighup: closing the terminal (SIGHUP) or the reading end of
// standard output (EPIPE) during a RUN stops the build, and it removes its
// build container, snapshots and lease.
func TestBuildSighup(t *testing.T) {
	dockerfile := "FROM " + testImage + "\nRUN echo " + uniq(t) + " && echo started && while true; do echo tick; sleep 1; done\n"
	wait := func(t *testing.T, cmd *exec.Cmd, out fmt.Stringer) {
		t.Helper()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("the build exited 0:\n%s", out)
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Fatalf("the build did not stop:\n%s", out)
		}
		assertNoBuildLeftovers(t)
	}
	t.Run("SIGHUP", func(t *testing.T) {
		p := newProject(t, "services:\n  app:\n    build: .\n", map[string]string{"Dockerfile": dockerfile})
		cmd, out := p.start("build")
		p.waitFor("the RUN step to start", 30*time.Second, func() bool { return strings.Contains(out.String(), "app | started") })
		cmd.Process.Signal(syscall.SIGHUP)
		wait(t, cmd, out)
	})
	t.Run("EPIPE", func(t *testing.T) {
		p := newProject(t, "services:\n  app:\n    build: .\n", map[string]string{"Dockerfile": dockerfile})
		cmd := exec.Command(berthBin, append(append(globalArgs(), "-p", p.name), "build")...)
		cmd.Dir = p.dir
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		stderr := &syncBuffer{}
		cmd.Stderr = stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		for sc.Scan() && !strings.Contains(sc.Text(), "app | started") {
		}
		stdout.Close() // as head does once it has its lines
		wait(t, cmd, stderr)
	})
}

// TestBuildSecretsSSH: build.secrets reach RUN --mount=type=secret as a
// file or a variable and stay out of the layers and the cache keys;
// build.ssh forwards an agent serving a key file to RUN --mount=type=ssh;
// a required secret the build lacks fails before any step runs.
func TestBuildSecretsSSH(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "berth e2e")
	if err != nil {
		t.Fatal(err)
	}
	key := pem.EncodeToMemory(block)
	token := uniq(t)
	p := newProject(t, `
services:
  app:
    build:
      context: .
      secrets:
        - token
        - source: inline
          target: api
      ssh: [deploy=./id_key]
  strict:
    build:
      context: .
      dockerfile: Dockerfile.strict
    profiles: [strict]
  cli:
    build:
      context: .
      dockerfile: Dockerfile.cli
    profiles: [cli]
secrets:
  token:
    file: ./token.txt
  inline:
    environment: E2E_API_TOKEN
`, map[string]string{
		"token.txt": "file-secret-1",
		"id_key":    string(key),
		"Dockerfile": "FROM " + testImage + "\n" +
			"RUN echo " + token + "\n" +
			"RUN --mount=type=secret,id=token echo token=$(cat /run/secrets/token)\n" +
			"RUN --mount=type=secret,id=api,env=API echo api=$API\n" +
			"RUN --mount=type=ssh,id=deploy test -S \"$SSH_AUTH_SOCK\" && echo agent=$SSH_AUTH_SOCK\n" +
			"RUN test ! -e /run/secrets/token && echo no secret in the layer\n",
		"Dockerfile.cli":    "FROM " + testImage + "\nRUN echo " + token + "\nRUN --mount=type=ssh,id=cli,required test -S \"$SSH_AUTH_SOCK\" && echo cli agent\n",
		"Dockerfile.strict": "FROM " + testImage + "\nRUN echo " + token + "\nRUN --mount=type=secret,id=absent,required cat /run/secrets/absent\n",
	})
	removeImages(t, "docker.io/library/"+p.name+"-app:latest")
	r := p.berthEnv([]string{"E2E_API_TOKEN=env-secret-1"}, "build", "app")
	for _, want := range []string{"app | token=file-secret-1", "app | api=env-secret-1", "app | agent=/run/buildkit/ssh_agent.0", "app | no secret in the layer"} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("build with secrets and ssh: no %q:\n%s", want, r)
		}
	}
	p.write("token.txt", "file-secret-2")
	r = p.berthEnv([]string{"E2E_API_TOKEN=env-secret-2"}, "build", "app")
	if r.code != 0 || strings.Contains(r.stdout, "app | token=") || !strings.Contains(r.stdout, "CACHED RUN --mount=type=secret,id=token") {
		t.Errorf("a changed secret changed the steps' cache keys (BuildKit keeps them):\n%s", r)
	}
	r = p.berth("--profile", "strict", "build", "strict")
	if r.code == 0 || !strings.Contains(r.stderr, `Dockerfile.strict:3: RUN --mount=type=secret,id=absent,required: the build has no secret "absent"`) || strings.Contains(r.stdout, "strict | "+token) {
		t.Errorf("a required secret the build lacks:\n%s", r)
	}
	r = p.berth("--profile", "cli", "build", "cli")
	if r.code == 0 || !strings.Contains(r.stderr, `the build forwards no SSH agent "cli"`) {
		t.Errorf("a required agent the build lacks:\n%s", r)
	}
	r = p.berth("--profile", "cli", "build", "--ssh", "cli=./id_key", "cli")
	if r.code != 0 || !strings.Contains(r.stdout, "cli | cli agent") {
		t.Errorf("build --ssh cli=./id_key:\n%s", r)
	}
	assertNoBuildLeftovers(t)
}

// TestBuildPrivileged: RUN --security=insecure runs with every
// capability when build.privileged grants it, and fails before any step
// runs when nothing does.
func TestBuildPrivileged(t *testing.T) {
	token := uniq(t)
	dockerfile := "FROM " + testImage + "\nRUN echo " + token + "\nRUN --security=insecure grep CapEff /proc/self/status\n"
	p := newProject(t, `
services:
  app:
    build:
      context: .
      privileged: true
  plain:
    build: .
    profiles: [plain]
`, map[string]string{"Dockerfile": dockerfile})
	removeImages(t, "docker.io/library/"+p.name+"-app:latest", "docker.io/library/"+p.name+"-plain:latest")
	r := p.must("build", "app")
	if !strings.Contains(r.stdout, "app | CapEff:") || strings.Contains(r.stdout, "CapEff:\t00000000a80425fb") {
		t.Errorf("privileged RUN did not get every capability:\n%s", r)
	}
	r = p.berth("--profile", "plain", "build", "plain")
	if r.code == 0 || !strings.Contains(r.stderr, "RUN --security=insecure needs the security.insecure entitlement") || strings.Contains(r.stdout, "plain | "+token) {
		t.Errorf("RUN --security=insecure without the entitlement:\n%s", r)
	}
}

// TestBuildAdditionalContexts: FROM and COPY --from name the contexts of
// build.additional_contexts: a directory, a docker-image:// reference,
// and service:NAME, whose image is built first even when only the user
// is named.
func TestBuildAdditionalContexts(t *testing.T) {
	token := uniq(t)
	p := newProject(t, `
services:
  base:
    build: ./base
  app:
    build:
      context: ./app
      additional_contexts:
        assets: ./assets
        busy: docker-image://`+testImage+`
        basesvc: service:base
    command: [cat, /hello.txt, /from-base]
`, map[string]string{
		"base/Dockerfile":  "FROM " + testImage + "\nRUN echo base " + token + " > /from-base\n",
		"assets/hello.txt": "hello from assets\n",
		"app/Dockerfile":   "FROM basesvc\nCOPY --from=assets hello.txt /hello.txt\nCOPY --from=busy /bin/busybox /busybox-copy\nRUN cat /hello.txt /from-base && test -x /busybox-copy\n",
	})
	removeImages(t, "docker.io/library/"+p.name+"-app:latest", "docker.io/library/"+p.name+"-base:latest")
	r := p.must("build", "app")
	if !strings.Contains(r.stdout, "app | hello from assets") || !strings.Contains(r.stdout, "app | base "+token) {
		t.Errorf("build with additional contexts:\n%s", r)
	}
	if i, j := strings.Index(r.stderr, "base  Built"), strings.Index(r.stderr, "app  Built"); i < 0 || j < i {
		t.Errorf("base was not built before app:\n%s", r)
	}
	p.write("assets/hello.txt", "changed\n")
	r = p.must("build", "app")
	if !strings.Contains(r.stdout, "app | changed") {
		t.Errorf("a change in a directory context did not rebuild the COPY:\n%s", r)
	}
}

// TestBuildWithDependencies: build SERVICE builds that service only;
// --with-dependencies builds what it depends on too.
func TestBuildWithDependencies(t *testing.T) {
	token := uniq(t)
	p := newProject(t, `
services:
  db:
    build:
      context: .
      dockerfile: Dockerfile.db
  web:
    build: .
    depends_on: [db]
`, map[string]string{
		"Dockerfile":    "FROM " + testImage + "\nRUN echo web " + token + "\n",
		"Dockerfile.db": "FROM " + testImage + "\nRUN echo db " + token + "\n",
	})
	removeImages(t, "docker.io/library/"+p.name+"-web:latest", "docker.io/library/"+p.name+"-db:latest")
	r := p.must("build", "web")
	if !strings.Contains(r.stderr, "web  Built") || strings.Contains(r.stderr, "db  Built") {
		t.Errorf("build web:\n%s", r)
	}
	r = p.must("build", "--with-dependencies", "web")
	if !strings.Contains(r.stderr, "web  Built") || !strings.Contains(r.stdout, "db | db "+token) {
		t.Errorf("build --with-dependencies web:\n%s", r)
	}
}
