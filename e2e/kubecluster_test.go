//go:build e2e

package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// kubeWeb is a Deployment serving busybox's /www on 8080 behind a NodePort
// Service. busybox:latest is imported offline by kube-cluster.sh; Never
// makes the kubelet use it rather than ask a registry.
const kubeWeb = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: docker.io/library/busybox:latest
        imagePullPolicy: Never
        command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
        ports: [{containerPort: 8080}]
        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`

const kubeWebPage = "hello from berth"

// TestKubeClusterServesDeployment proves the cluster of kube-cluster.sh is a
// working Kubernetes: a Deployment's pod runs from an offline image, the
// host reaches it through its NodePort on 127.0.0.1, another pod reaches it
// through the Service's ClusterIP and by its name, and the ReplicaSet
// replaces a deleted pod, which the Service then reaches again.
func TestKubeClusterServesDeployment(t *testing.T) {
	c := needKubeCluster(t)
	ns := c.kubeNamespace(t)
	c.apply(t, ns, kubeWeb)
	c.mustKubectl(t, "-n", ns, "rollout", "status", "deployment/web", "--timeout=120s")

	nodePort := strings.TrimSpace(c.mustKubectl(t, "-n", ns, "get", "service", "web", "-o", "jsonpath={.spec.ports[0].nodePort}"))
	clusterIP := strings.TrimSpace(c.mustKubectl(t, "-n", ns, "get", "service", "web", "-o", "jsonpath={.spec.clusterIP}"))
	if nodePort == "" || clusterIP == "" {
		t.Fatalf("service web: nodePort %q, clusterIP %q", nodePort, clusterIP)
	}
	hostGet := func() (bool, string) {
		client := http.Client{Timeout: 2 * time.Second}
		resp, err := client.Get("http://127.0.0.1:" + nodePort + "/")
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(body), kubeWebPage), resp.Status + " " + string(body)
	}
	// kube-proxy writes the NodePort rules within a second or so of the Service.
	waitKube(t, "the NodePort on 127.0.0.1:"+nodePort, 30*time.Second, hostGet)

	// Another pod, through the ClusterIP (kube-proxy's DNAT on the pod bridge),
	// then by the Service's short and full names (CoreDNS, through the
	// search path the kubelet writes). busybox's wget -T crashes (Debian's
	// busybox-static), hence timeout.
	script := "set -e; for u in http://" + clusterIP + "/ http://web/ http://web." + ns + ".svc.cluster.local/; do " +
		"echo \"$u: $(timeout 20 wget -qO- $u)\"; done"
	c.mustKubectl(t, "-n", ns, "run", "client", "--image=docker.io/library/busybox:latest",
		"--image-pull-policy=Never", "--restart=Never", "--", "sh", "-c", script)
	waitKube(t, "pod client to finish", 90*time.Second, func() (bool, string) {
		phase, err := c.kubectl("-n", ns, "get", "pod", "client", "-o", "jsonpath={.status.phase}")
		if phase == "Failed" {
			logs, _ := c.kubectl("-n", ns, "logs", "client")
			t.Fatalf("pod client failed: %s", logs)
		}
		return phase == "Succeeded", phase + errString(err)
	})
	logs := c.mustKubectl(t, "-n", ns, "logs", "client")
	for _, u := range []string{"http://" + clusterIP + "/", "http://web/", "http://web." + ns + ".svc.cluster.local/"} {
		if !strings.Contains(logs, u+": <h1>"+kubeWebPage) {
			t.Errorf("pod client did not get %q from %s; its output:\n%s", kubeWebPage, u, logs)
		}
	}

	// The ReplicaSet replaces a deleted pod.
	old := strings.TrimSpace(c.mustKubectl(t, "-n", ns, "get", "pods", "-l", "app=web", "-o", "jsonpath={.items[0].metadata.name}"))
	c.mustKubectl(t, "-n", ns, "delete", "pod", old, "--wait=false")
	waitKube(t, "a new ready web pod replacing "+old, 90*time.Second, func() (bool, string) {
		out, err := c.kubectl("-n", ns, "get", "pods", "-l", "app=web", "-o",
			`jsonpath={range .items[*]}{.metadata.name} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}`)
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if f := strings.Fields(line); len(f) == 2 && f[0] != old && f[1] == "True" {
				return true, out
			}
		}
		return false, out + errString(err)
	})
	waitKube(t, "the NodePort to reach the new pod", 30*time.Second, hostGet)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return " (" + err.Error() + ")"
}
