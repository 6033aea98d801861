//go:build e2e

package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestKubeEdgeStack: examples/edge-stack on the test cluster with
// `berth --kubeconfig K up --wait --registry R`: berth builds the three
// images (as TestEdgeStack does, from the build cache when it ran first),
// pushes them to a registry on 127.0.0.1 and applies manifests that name
// them by digest; up returns once db and api are healthy and migrate has
// completed. Then the api answers with rows the worker wrote, through its
// Service from a pod and from the host through the NodePort of
// api-published; a deleted worker pod is recreated and writes again; down
// -v leaves no object, claim or namespace of the project.
func TestKubeEdgeStack(t *testing.T) {
	c := needKubeCluster(t)
	loadDebianImage(t)
	s := newEdgeStack(t)
	registry := startRegistry(t)
	ns := s.name // the converter's namespace is the project's name
	kberth := func(timeout time.Duration, args ...string) result {
		t.Helper()
		return runBerth(t, s.dir, nil, nil, timeout, append([]string{"--kubeconfig", c.kubeconfig, "-p", s.name}, args...)...)
	}
	t.Cleanup(func() {
		if _, err := c.kubectl("get", "namespace", ns); err == nil {
			kberth(3*time.Minute, "down", "-v")
		}
	})

	start := time.Now()
	r := kberth(20*time.Minute, "up", "--wait", "--wait-timeout", "420", "--registry", registry)
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	t.Logf("up --wait --registry (build, push, apply, wait): %s", time.Since(start).Round(time.Second))
	for _, want := range []string{"Service db  Healthy", "Service api  Healthy", "Service migrate  Completed"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("up --wait did not say %q:\n%s", want, r.stderr)
		}
	}
	for _, kind := range []string{"statefulset/db", "deployment/api", "deployment/worker", "job/migrate"} {
		image := c.mustKubectl(t, "-n", ns, "get", kind, "-o", "jsonpath={.spec.template.spec.containers[0].image}")
		if !strings.HasPrefix(image, registry+"/") || !strings.Contains(image, "@sha256:") {
			t.Errorf("%s runs %q, want an image of %s by digest", kind, image, registry)
		}
	}

	// From a pod, through the api's Service, by its name.
	readings := func(body string) ([]reading, error) {
		var rows []reading
		err := json.Unmarshal([]byte(body), &rows)
		return rows, err
	}
	out := c.runKubePod(t, ns, "probe", `apiVersion: v1
kind: Pod
metadata: {name: probe}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: docker.io/library/busybox:latest
    imagePullPolicy: Never
    command: ["sh", "-c", "for i in $(seq 60); do wget -qO- 'http://api:8080/readings?limit=5' && exit 0; sleep 1; done; exit 1"]
`, 120*time.Second)
	if rows, err := readings(out); err != nil || len(rows) == 0 || rows[0].Sensor == "" {
		t.Errorf("GET http://api:8080/readings from a pod: %v, %q; want rows the worker wrote", err, out)
	}
	// The probe pod is not the project's: down would keep the namespace for it.
	c.mustKubectl(t, "-n", ns, "delete", "pod", "probe", "--wait=true")

	// From the host, through the NodePort of api-published.
	nodePort := strings.TrimSpace(c.mustKubectl(t, "-n", ns, "get", "service", "api-published", "-o", "jsonpath={.spec.ports[0].nodePort}"))
	if nodePort == "" {
		t.Fatal("service api-published has no nodePort")
	}
	hc := http.Client{Timeout: 3 * time.Second}
	newest := func() (int64, string) {
		resp, err := hc.Get("http://127.0.0.1:" + nodePort + "/readings?limit=1")
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		rows, err := readings(string(b))
		if resp.StatusCode != http.StatusOK || err != nil || len(rows) == 0 {
			return 0, resp.Status + " " + string(b)
		}
		return rows[0].ID, string(b)
	}
	var first int64
	waitKube(t, "rows from the host through NodePort "+nodePort, 60*time.Second, func() (bool, string) {
		id, seen := newest()
		first = id
		return id > 0, seen
	})

	// The worker's pod, deleted, is recreated and writes again.
	oldPod := strings.TrimSpace(c.mustKubectl(t, "-n", ns, "get", "pods", "-l", "com.docker.compose.service=worker", "-o", "jsonpath={.items[0].metadata.name}"))
	c.mustKubectl(t, "-n", ns, "delete", "pod", oldPod, "--wait=true")
	waitKube(t, "a new worker pod running", 120*time.Second, func() (bool, string) {
		out, _ := c.kubectl("-n", ns, "get", "pods", "-l", "com.docker.compose.service=worker", "-o", `jsonpath={range .items[*]}{.metadata.name}={.status.phase}{" "}{end}`)
		for _, f := range strings.Fields(out) {
			name, phase, _ := strings.Cut(f, "=")
			if name != oldPod && phase == "Running" {
				return true, out
			}
		}
		return false, out
	})
	afterKill, _ := newest()
	waitKube(t, "rows written by the new worker", 60*time.Second, func() (bool, string) {
		id, seen := newest()
		return id > afterKill && afterKill >= first, seen
	})

	// down -v: nothing of the project is left, its data neither.
	r = kberth(3*time.Minute, "down", "-v")
	if r.code != 0 || !strings.Contains(r.stderr, "Namespace "+ns+"  Removed") {
		t.Errorf("down -v: %s", r)
	}
	if out, err := c.kubectl("get", "namespace", ns); err == nil {
		t.Errorf("namespace %s left after down -v: %s", ns, out)
	}
	if out := c.mustKubectl(t, "get", "pvc", "-A", "-l", "com.docker.compose.project="+s.name, "-o", "name"); strings.TrimSpace(out) != "" {
		t.Errorf("claims left after down -v: %s", out)
	}
	pvs := c.mustKubectl(t, "get", "pv", "-o", `jsonpath={range .items[*]}{.metadata.name}:{.spec.claimRef.namespace}{" "}{end}`)
	for _, pv := range strings.Fields(pvs) {
		if name, claimNS, _ := strings.Cut(pv, ":"); claimNS == ns {
			t.Errorf("volume %s of the project's claim left after down -v", name)
		}
	}
}
