//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// kubeServicesCompose: db, two replicas with a named volume (a
// StatefulSet), healthy once started; web waits for it to be healthy and
// has its own environment (a ConfigMap) and the project's secret; worker,
// on its own, writes two lines two seconds apart.
const kubeServicesCompose = `name: kubeservices
services:
  db:
    image: docker.io/library/busybox:latest
    command: ["sh", "-c", "echo db up on $$HOSTNAME; date > /tmp/started; exec sleep 3600"]
    restart: always
    scale: 2
    volumes: [data:/data]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/started"]
      interval: 1s
      retries: 30
  web:
    image: docker.io/library/busybox:latest
    command: ["sh", "-c", "echo web up; exec sleep 3600"]
    restart: always
    environment: {MODE: web}
    secrets: [token]
    depends_on:
      db: {condition: service_healthy}
  worker:
    image: docker.io/library/busybox:latest
    command: ["sh", "-c", "echo one; sleep 2; echo two; exec sleep 3600"]
    restart: always
volumes:
  data: {}
secrets:
  token: {file: ./token}
`

// TestKubeClientServices: the project commands with service names on the
// test cluster, as a compose user runs them on one machine: up SERVICE
// applies it and its dependencies only (again: nothing changes; --no-deps:
// the named one only), ps SERVICE, logs windows (--since/--until against
// the lines' own timestamps) and --index (a StatefulSet's ordinal; refused
// for a Deployment), down SERVICE (it alone goes, its dependents, the
// others and the Namespace stay; -v takes its claims), and down -v
// leaving nothing.
func TestKubeClientServices(t *testing.T) {
	c := needKubeCluster(t)
	dir := t.TempDir()
	for name, content := range map[string]string{"compose.yaml": kubeServicesCompose, "token": "t0k3n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const ns = "kubeservices"
	berth := func(args ...string) result {
		t.Helper()
		return runBerth(t, dir, nil, nil, 3*time.Minute, append([]string{"--kubeconfig", c.kubeconfig}, args...)...)
	}
	t.Cleanup(func() { berth("down", "-v") })
	// exists reports whether kubectl finds the objects (kind/name ...).
	exists := func(objs ...string) map[string]bool {
		t.Helper()
		out := map[string]bool{}
		for _, o := range objs {
			got, err := c.kubectl("-n", ns, "get", o, "--ignore-not-found", "-o", "name")
			if err != nil {
				t.Fatal(err)
			}
			out[o] = strings.TrimSpace(got) != ""
		}
		return out
	}
	want := func(step string, objs map[string]bool) {
		t.Helper()
		var names []string
		for o := range objs {
			names = append(names, o)
		}
		got := exists(names...)
		for o, w := range objs {
			if got[o] != w {
				t.Errorf("after %s: %s on the cluster = %v, want %v", step, o, got[o], w)
			}
		}
	}

	r := berth("up", "--wait", "--wait-timeout", "150", "web")
	if r.code != 0 || !strings.Contains(r.stderr, "StatefulSet kubeservices/db  Created") || !strings.Contains(r.stderr, "Deployment kubeservices/web  Created") ||
		!strings.Contains(r.stderr, "Service db  Healthy") || strings.Contains(r.stderr, "worker") {
		t.Fatalf("up --wait web: want db and web applied and waited for, nothing of worker\n%s", r)
	}
	want("up web", map[string]bool{"deployment/web": true, "statefulset/db": true, "secret/secret-token": true, "configmap/web-env": true, "deployment/worker": false, "service/worker": false})
	r = berth("up", "-d", "web")
	if r.code != 0 || strings.Contains(r.stderr, "Created") || strings.Contains(r.stderr, "Configured") || !strings.Contains(r.stderr, "Deployment kubeservices/web  Unchanged") {
		t.Errorf("a second up web changed something\n%s", r)
	}
	r = berth("up", "-d", "web", "nope")
	if r.code == 0 || strings.Contains(strings.TrimSpace(r.stderr), "\n") || !strings.Contains(r.stderr, "no such service: nope") {
		t.Errorf("up of an unknown service: want one line naming it\n%s", r)
	}
	r = berth("up", "--wait", "--wait-timeout", "150", "--no-deps", "worker")
	if r.code != 0 || !strings.Contains(r.stderr, "Deployment kubeservices/worker  Created") || strings.Contains(r.stderr, "kubeservices/db") || strings.Contains(r.stderr, "kubeservices/web") {
		t.Fatalf("up --no-deps worker: want worker only\n%s", r)
	}

	r = berth("ps", "web")
	if r.code != 0 || !strings.Contains(r.stdout, "web-") || strings.Contains(r.stdout, "db-") || strings.Contains(r.stdout, "worker-") {
		t.Errorf("ps web: want web's pod only\n%s", r)
	}

	// The worker's two lines, with the times the kubelet gave them.
	stamps := map[string]string{}
	waitKube(t, "worker's second line", time.Minute, func() (bool, string) {
		r := berth("logs", "-t", "--no-color", "worker")
		for _, line := range strings.Split(r.stdout, "\n") {
			_, rest, ok := strings.Cut(line, "| ")
			if f := strings.Fields(rest); ok && len(f) == 2 {
				stamps[f[1]] = f[0]
			}
		}
		return stamps["one"] != "" && stamps["two"] != "", r.String()
	})
	for _, tc := range []struct {
		args      []string
		has, hasn []string
	}{
		{[]string{"--since", stamps["two"]}, []string{"| two"}, []string{"| one"}},
		{[]string{"--until", stamps["one"]}, []string{"| one"}, []string{"| two"}},
		{[]string{"--since", "1h"}, []string{"| one", "| two"}, nil},
		{[]string{"--since", stamps["one"], "--until", stamps["two"]}, []string{"| one", "| two"}, nil},
	} {
		r := berth(append(append([]string{"logs", "--no-color"}, tc.args...), "worker")...)
		for _, s := range tc.has {
			if r.code != 0 || !strings.Contains(r.stdout, s) {
				t.Errorf("logs %v: want %q\n%s", tc.args, s, r)
			}
		}
		for _, s := range tc.hasn {
			if strings.Contains(r.stdout, s) {
				t.Errorf("logs %v: want no %q\n%s", tc.args, s, r)
			}
		}
	}
	r = berth("logs", "--no-color", "--index", "2", "db")
	if r.code != 0 || !strings.Contains(r.stdout, "db-2  | db up on db-1") || strings.Contains(r.stdout, "db-0") {
		t.Errorf("logs --index 2 db: want the pod of ordinal 1 only\n%s", r)
	}
	r = berth("logs", "--index", "1", "web")
	if r.code == 0 || strings.Contains(strings.TrimSpace(r.stderr), "\n") || !strings.Contains(r.stderr, "service web runs as a Deployment on the cluster") {
		t.Errorf("logs --index 1 web: want one line refusing it\n%s", r)
	}

	// down SERVICE takes that service only (web, which needs db, stays),
	// as docker compose's with its file; -v its claims.
	r = berth("down", "-v", "db")
	if r.code != 0 || strings.Contains(r.stderr, "Namespace") {
		t.Fatalf("down -v db\n%s", r)
	}
	want("down -v db", map[string]bool{"statefulset/db": false, "service/db": false, "pvc/data-db-0": false, "pvc/data-db-1": false,
		"deployment/web": true, "service/web": true, "configmap/web-env": true,
		"deployment/worker": true, "secret/secret-token": true})
	if out, err := c.kubectl("get", "namespace", ns, "-o", "name"); err != nil || strings.TrimSpace(out) == "" {
		t.Errorf("after down of some services, namespace %s = %q, %v, want it kept", ns, out, err)
	}

	if r := berth("down", "-v"); r.code != 0 || !strings.Contains(r.stderr, "Namespace kubeservices  Removed") {
		t.Errorf("down -v\n%s", r)
	}
	left, err := c.kubectl("get", "all,configmaps,secrets,pvc,serviceaccounts", "--all-namespaces", "--ignore-not-found", "-l", "com.docker.compose.project="+ns, "-o", "name")
	if ns, _ := c.kubectl("get", "namespace", ns, "--ignore-not-found", "-o", "name"); ns != "" {
		left += ns
	}
	if err != nil || strings.TrimSpace(left) != "" {
		t.Errorf("after down -v: %q, %v, want nothing of the project", left, err)
	}
}
