//go:build e2e

package e2e

import (
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
