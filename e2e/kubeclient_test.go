//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// kubeClientCompose: db is healthy once it wrote a file; web waits for it
// (depends_on service_healthy) and publishes a port. busybox is the image
// the test cluster has.
const kubeClientCompose = `name: kubeclient
services:
  db:
    image: docker.io/library/busybox:latest
    command: ["sh", "-c", "echo db up; date > /tmp/started; exec sleep 3600"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/started"]
      interval: 1s
      retries: 30
  web:
    image: docker.io/library/busybox:latest
    command: ["sh", "-c", "echo web up; exec sleep 3600"]
    depends_on:
      db:
        condition: service_healthy
    ports:
      - "8080:8080"
`

// TestKubeClientUpPsLogsDown: berth --kubeconfig up --wait, a second up
// that changes nothing, ps, logs and down -v on the test cluster.
func TestKubeClientUpPsLogsDown(t *testing.T) {
	c := needKubeCluster(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(kubeClientCompose), 0o644); err != nil {
		t.Fatal(err)
	}
	berth := func(args ...string) result {
		t.Helper()
		return runBerth(t, dir, nil, nil, 3*time.Minute, append([]string{"--kubeconfig", c.kubeconfig}, args...)...)
	}
	t.Cleanup(func() { berth("down", "-v") })

	r := berth("up", "--wait", "--wait-timeout", "150")
	if r.code != 0 || !strings.Contains(r.stderr, "Service db  Healthy") || !strings.Contains(r.stderr, "Service web  Running") {
		t.Fatalf("up --wait: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = berth("up", "-d")
	if r.code != 0 || strings.Contains(r.stderr, "Created") || strings.Contains(r.stderr, "Configured") || !strings.Contains(r.stderr, "Deployment kubeclient/web  Unchanged") {
		t.Errorf("a second up changed something: exit %d\n%s", r.code, r.stderr)
	}
	r = berth("ps")
	if r.code != 0 || !strings.Contains(r.stdout, "NAME") || !strings.Contains(r.stdout, "(healthy)") || !strings.Contains(r.stdout, "->8080/tcp") {
		t.Errorf("ps: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = berth("logs", "--no-color")
	if r.code != 0 || !strings.Contains(r.stdout, "db-1   | db up") || !strings.Contains(r.stdout, "web-1  | web up") {
		t.Errorf("logs: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = berth("down", "-v")
	if r.code != 0 || !strings.Contains(r.stderr, "Namespace kubeclient  Removed") {
		t.Errorf("down -v: exit %d\n%s", r.code, r.stderr)
	}
	if out, err := c.kubectl("get", "namespace", "kubeclient"); err == nil {
		t.Errorf("namespace kubeclient left after down -v: %s", out)
	}
}

// TestKubeClientBadKubeconfig: a missing kubeconfig is one line, and
// nothing runs on this machine instead.
func TestKubeClientBadKubeconfig(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(kubeClientCompose), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "nope")
	r := runBerth(t, dir, nil, nil, time.Minute, "--kubeconfig", missing, "up", "-d")
	if r.code == 0 || strings.Contains(strings.TrimSpace(r.stderr), "\n") || !strings.Contains(r.stderr, "kubeconfig "+missing+": no such file") {
		t.Errorf("up with a missing kubeconfig: exit %d\n%s", r.code, r.stderr)
	}
}

// TestKubeClientUpRefused: an up the API server refuses part of (here a
// node port another project holds, as two stacks publishing the same
// host port would collide on one machine) fails naming the object and the
// reason, and leaves nothing of the refused project in the cluster.
func TestKubeClientUpRefused(t *testing.T) {
	c := needKubeCluster(t)
	compose := func(project string) string {
		return "name: " + project + `
services:
  cache:
    image: docker.io/library/busybox:latest
    command: ["sleep", "3600"]
  web:
    image: docker.io/library/busybox:latest
    command: ["sleep", "3600"]
    ports:
      - "30081:80"
`
	}
	berth := func(project string, args ...string) result {
		t.Helper()
		dir := filepath.Join(t.TempDir(), project)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(compose(project)), 0o644); err != nil {
			t.Fatal(err)
		}
		return runBerth(t, dir, nil, nil, 3*time.Minute, append([]string{"--kubeconfig", c.kubeconfig}, args...)...)
	}
	t.Cleanup(func() { berth("kuberefused-a", "down"); berth("kuberefused-b", "down") })

	if r := berth("kuberefused-a", "up", "-d"); r.code != 0 {
		t.Fatalf("up -d of the first project: exit %d\n%s", r.code, r.stderr)
	}
	r := berth("kuberefused-b", "up", "-d")
	if r.code == 0 || !strings.Contains(r.stderr, "apply Service kuberefused-b/web-published") || !strings.Contains(r.stderr, "already allocated") {
		t.Fatalf("up -d of a project whose node port is taken: exit %d, want an error naming the Service and the port\n%s", r.code, r.stderr)
	}
	waitKube(t, "nothing of the refused project left", time.Minute, func() (bool, string) {
		out, err := c.kubectl("get", "namespace,all,configmaps", "--all-namespaces", "--ignore-not-found",
			"-l", "com.docker.compose.project=kuberefused-b", "-o", "name")
		if err != nil {
			return false, err.Error()
		}
		if ns, err := c.kubectl("get", "namespace", "kuberefused-b", "--ignore-not-found", "-o", "name"); err != nil || ns != "" {
			out += ns
		}
		return strings.TrimSpace(out) == "", out
	})
	// The first project is untouched.
	if out := c.mustKubectl(t, "-n", "kuberefused-a", "get", "deployment", "web", "-o", "name"); !strings.Contains(out, "deployment.apps/web") {
		t.Errorf("the first project's web Deployment: %q", out)
	}
}
