//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/kube"
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

// TestKubeClusterPullsFromRegistry proves that the cluster pulls an image
// from a plain-HTTP registry on a loopback port, by digest, as the
// manifests of `berth convert` name the images berth pushed. The image's
// layer is made here with a fresh marker, so that nothing the cluster
// imported offline can stand in for it.
func TestKubeClusterPullsFromRegistry(t *testing.T) {
	c := needKubeCluster(t)
	ns := c.kubeNamespace(t)
	registry := startRegistry(t)

	marker := fmt.Sprintf("pulled from the registry %d", time.Now().UnixNano())
	work := t.TempDir()
	root := filepath.Join(work, "root")
	for _, d := range []string{"bin", "etc"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "etc", "marker"), []byte(marker+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ref := registry + "/kube/marker:1"
	script := `set -e; cp /bin/busybox "$1/bin/busybox"; ln -s busybox "$1/bin/cat"; ` +
		`tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$1" -cf "$2/layer.tar" .; ` +
		`. "$3/scripts/lib/oci-archive.sh"; oci_archive "$2/layer.tar" "$2/image.tar" "$4" '{"Cmd":["/bin/cat","/etc/marker"]}' e2e`
	out, err := exec.Command("bash", "-c", script, "oci", root, work, repoRoot, ref).CombinedOutput()
	if err != nil {
		t.Fatalf("assembling the image: %v: %s", err, out)
	}
	m := digestLine.FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("no digest in %q", out)
	}
	if out, err := exec.Command("skopeo", "copy", "--quiet", "--dest-tls-verify=false", "oci-archive:"+filepath.Join(work, "image.tar"), "docker://"+ref).CombinedOutput(); err != nil {
		t.Fatalf("skopeo copy: %v: %s", err, out)
	}

	byDigest := registry + "/kube/marker@sha256:" + m[1]
	logs := c.runKubePod(t, ns, "pulled", `apiVersion: v1
kind: Pod
metadata: {name: pulled}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: `+byDigest+`
    imagePullPolicy: Always
`, 120*time.Second)
	if strings.TrimSpace(logs) != marker {
		t.Errorf("pod pulled printed %q, want %q", logs, marker)
	}
	imageID := c.mustKubectl(t, "-n", ns, "get", "pod", "pulled", "-o", "jsonpath={.status.containerStatuses[0].imageID}")
	if !strings.HasSuffix(imageID, "sha256:"+m[1]) {
		t.Errorf("pod pulled ran image %q, want the pushed sha256:%s", imageID, m[1])
	}
}

// TestKubeClusterKubectlWaitsForJob proves what a converted stack's
// service_completed_successfully waiter needs: the image the converter
// names by default runs `kubectl wait --for=condition=complete` in a pod
// whose ServiceAccount may read Jobs, and it returns once the Job is
// complete, not before.
func TestKubeClusterKubectlWaitsForJob(t *testing.T) {
	c := needKubeCluster(t)
	ns := c.kubeNamespace(t)
	c.apply(t, ns, `apiVersion: v1
kind: ServiceAccount
metadata: {name: waiter}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: job-reader}
rules:
- {apiGroups: [batch], resources: [jobs], verbs: [get, list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: waiter}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: job-reader}
subjects: [{kind: ServiceAccount, name: waiter}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: x}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: x
        image: docker.io/library/busybox:latest
        imagePullPolicy: Never
        command: ["sh", "-c", "sleep 8; echo done"]
`)
	logs := c.runKubePod(t, ns, "waiter", `apiVersion: v1
kind: Pod
metadata: {name: waiter}
spec:
  restartPolicy: Never
  serviceAccountName: waiter
  containers:
  - name: wait
    image: `+kube.DefaultJobWaitImage+`
    imagePullPolicy: IfNotPresent
    command: ["kubectl", "wait", "--for=condition=complete", "--timeout=120s", "job/x"]
`, 150*time.Second)
	if !strings.Contains(logs, "job.batch/x condition met") {
		t.Errorf("pod waiter's kubectl wait said:\n%s", logs)
	}
	// The waiter ended after the Job completed: it waited rather than
	// finding the condition some other way.
	times := c.mustKubectl(t, "-n", ns, "get", "job", "x", "-o", "jsonpath={.status.completionTime}")
	ended := c.mustKubectl(t, "-n", ns, "get", "pod", "waiter", "-o", "jsonpath={.status.containerStatuses[0].state.terminated.finishedAt} {.status.containerStatuses[0].state.terminated.startedAt}")
	done, err1 := time.Parse(time.RFC3339, strings.TrimSpace(times))
	f := strings.Fields(ended)
	if err1 != nil || len(f) != 2 {
		t.Fatalf("job x completionTime %q, pod waiter finished/started %q", times, ended)
	}
	finished, err1 := time.Parse(time.RFC3339, f[0])
	started, err2 := time.Parse(time.RFC3339, f[1])
	if err1 != nil || err2 != nil {
		t.Fatalf("pod waiter finished/started %q: %v %v", ended, err1, err2)
	}
	if finished.Before(done) || !started.Before(done) {
		t.Errorf("pod waiter ran %s..%s, the Job completed at %s: want it started before and ended after", started, finished, done)
	}
}

// TestKubeClusterPodsUseAPIWithToken proves that a pod reaches the API
// server through the `kubernetes` Service, by the ClusterIP the kubelet
// hands it and by the name kubernetes.default.svc (the certificate is
// checked against the name), and is authenticated as its ServiceAccount:
// in-cluster kubectl from the Job waiters' image asks who it is.
func TestKubeClusterPodsUseAPIWithToken(t *testing.T) {
	c := needKubeCluster(t)
	ns := c.kubeNamespace(t)
	c.runKubePod(t, ns, "whoami", `apiVersion: v1
kind: Pod
metadata: {name: whoami}
spec:
  restartPolicy: Never
  containers:
  - name: by-ip
    image: `+kube.DefaultJobWaitImage+`
    imagePullPolicy: IfNotPresent
    command: ["kubectl", "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"]
  - name: by-name
    image: `+kube.DefaultJobWaitImage+`
    imagePullPolicy: IfNotPresent
    command: ["kubectl", "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"]
    env:
    - {name: KUBERNETES_SERVICE_HOST, value: kubernetes.default.svc}
    - {name: KUBERNETES_SERVICE_PORT, value: "443"}
`, 90*time.Second)
	want := "system:serviceaccount:" + ns + ":default"
	for _, container := range []string{"by-ip", "by-name"} {
		if got := strings.TrimSpace(c.mustKubectl(t, "-n", ns, "logs", "whoami", "-c", container)); got != want {
			t.Errorf("container %s: kubectl auth whoami said %q, want %q", container, got, want)
		}
	}
}
