//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runKubePod runs a pod from manifest (a Pod named name) in ns until it
// ends and returns its log; the test fails when it does not succeed.
func (c *kubeCluster) runKubePod(t *testing.T, ns, name, manifest string, timeout time.Duration) string {
	t.Helper()
	c.apply(t, ns, manifest)
	waitKube(t, "pod "+name+" to finish", timeout, func() (bool, string) {
		phase, err := c.kubectl("-n", ns, "get", "pod", name, "-o", "jsonpath={.status.phase}")
		if phase == "Failed" {
			logs, _ := c.kubectl("-n", ns, "logs", name, "--all-containers")
			t.Fatalf("pod %s failed; its output:\n%s", name, logs)
		}
		if phase != "Succeeded" {
			// The last event says why a pod is stuck (an image that does
			// not pull, a volume that does not bind).
			ev, _ := c.kubectl("-n", ns, "get", "events", "--field-selector", "involvedObject.name="+name,
				"-o", `jsonpath={range .items[*]}{.reason}: {.message}{"\n"}{end}`)
			return false, phase + errString(err) + "; events:\n" + ev
		}
		return true, phase
	})
	return c.mustKubectl(t, "-n", ns, "logs", name)
}

// TestKubeClusterPodsReachAPIServer checks that the default `kubernetes`
// Service, which in-cluster clients (a Job waiter's kubectl) use, has the
// node's bridge address as its endpoint, where the apiserver listens and
// pods reach it. TestKubeClusterKubectlWaitsForJob uses it from a pod.
func TestKubeClusterPodsReachAPIServer(t *testing.T) {
	c := needKubeCluster(t)
	eps := c.mustKubectl(t, "-n", "default", "get", "endpointslices", "-l", "kubernetes.io/service-name=kubernetes",
		"-o", `jsonpath={range .items[*].endpoints[*]}{.addresses[0]}{"\n"}{end}{range .items[*].ports[*]}{.port}{"\n"}{end}`)
	if f := strings.Fields(eps); len(f) != 2 || f[0] != "10.236.0.1" || f[1] != "16443" {
		t.Fatalf("service kubernetes: endpoints %q, want the node address 10.236.0.1 and port 16443", eps)
	}
}

// quoteYAML quotes s as a YAML double-quoted scalar (JSON's quoting is a
// subset of YAML's).
func quoteYAML(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// TestKubeClusterProvisionsVolumes proves that a PersistentVolumeClaim with
// no class (what a converted StatefulSet's volumeClaimTemplates make) binds
// through the cluster's default StorageClass, that a pod writes into the
// volume and a later pod reads it back, and that the data lives under the
// cluster's directory (so that down removes it).
func TestKubeClusterProvisionsVolumes(t *testing.T) {
	c := needKubeCluster(t)
	ns := c.kubeNamespace(t)
	c.apply(t, ns, `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 64Mi}}
`)
	pod := func(name, script string) string {
		return `apiVersion: v1
kind: Pod
metadata: {name: ` + name + `}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: docker.io/library/busybox:latest
    imagePullPolicy: Never
    command: ["sh", "-c", ` + quoteYAML(script) + `]
    volumeMounts: [{name: data, mountPath: /data}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]
`
	}
	c.runKubePod(t, ns, "writer", pod("writer", "set -e; echo written by writer > /data/file; sync"), 90*time.Second)
	logs := c.runKubePod(t, ns, "reader", pod("reader", "cat /data/file"), 90*time.Second)
	if strings.TrimSpace(logs) != "written by writer" {
		t.Errorf("pod reader read %q from the volume, want %q", logs, "written by writer")
	}

	claim := c.mustKubectl(t, "-n", ns, "get", "pvc", "data", "-o", "jsonpath={.status.phase} {.spec.storageClassName} {.spec.volumeName}")
	f := strings.Fields(claim)
	if len(f) != 3 || f[0] != "Bound" || f[1] != "hostpath" {
		t.Fatalf("pvc data: %q, want Bound through the default class hostpath", claim)
	}
	path := strings.TrimSpace(c.mustKubectl(t, "get", "pv", f[2], "-o", "jsonpath={.spec.hostPath.path}"))
	onNode, err := filepath.EvalSymlinks(path)
	if err != nil {
		t.Fatalf("pv %s: %v", f[2], err)
	}
	dir, err := filepath.EvalSymlinks(c.dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(onNode, dir+string(filepath.Separator)) {
		t.Errorf("pv %s is at %s (%s), not under the cluster's directory %s", f[2], path, onNode, dir)
	}
	if b, err := os.ReadFile(filepath.Join(onNode, "file")); err != nil || string(b) != "written by writer\n" {
		t.Errorf("the volume's file on the node: %q, %v", b, err)
	}
}
