//go:build e2e

package e2e

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// kubeDNSServer is where kube-cluster.sh serves the cluster DNS (CoreDNS):
// the node IP, which the kubelet's clusterDNS names.
const kubeDNSServer = "10.236.0.1:53"

// kubeDB is what berth's converter makes for a service with a named volume
// that others wait to be healthy: a StatefulSet whose governing headless
// Service ("db") publishes pods that are not ready (the service's name
// resolves as on the bridge), and "db-ready", headless without
// publishNotReadyAddresses, whose name answers only while a pod is ready.
// Readiness follows /tmp/ready, which the test makes and removes.
const kubeDB = `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 1
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: db
        image: docker.io/library/busybox:latest
        imagePullPolicy: Never
        command: ["sleep", "3600"]
        readinessProbe: {exec: {command: ["test", "-e", "/tmp/ready"]}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  publishNotReadyAddresses: true
  selector: {app: db}
  ports: [{name: tcp-5432, port: 5432}]
---
apiVersion: v1
kind: Service
metadata: {name: db-ready}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{name: tcp-5432, port: 5432}]
`

// lookupA asks the cluster DNS for name's A records over net ("udp" or
// "tcp") and returns the rcode and the addresses, sorted.
func lookupA(t testing.TB, netw, name string) (string, []string) {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeA)
	c := dns.Client{Net: netw, Timeout: 3 * time.Second}
	r, _, err := c.Exchange(m, kubeDNSServer)
	if err != nil {
		t.Fatalf("query %s A over %s at %s: %v", name, netw, kubeDNSServer, err)
	}
	var addrs []string
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			addrs = append(addrs, a.A.String())
		}
	}
	sort.Strings(addrs)
	return dns.RcodeToString[r.Rcode], addrs
}

// TestKubeClusterDNS checks the names berth's conversions rely on against
// the cluster's DNS (CoreDNS's kubernetes plugin): a headless Service with
// publishNotReadyAddresses answers with a pod that is not ready; a
// "<service>-ready" Service answers only while the pod is ready, and stops
// when it turns unready; a StatefulSet pod answers by its hostname under
// its governing Service; a ClusterIP Service answers with its ClusterIP
// over UDP and TCP; and a name outside the cluster domain is refused, not
// forwarded (tests must never query outside). A pod then resolves the same
// names through its resolv.conf with busybox's nslookup, as the init
// containers of converted depends_on: service_healthy do.
func TestKubeClusterDNS(t *testing.T) {
	c := needKubeCluster(t)
	ns := c.kubeNamespace(t)
	c.apply(t, ns, kubeDB)
	var podIP string
	waitKube(t, "pod db-0 running", 120*time.Second, func() (bool, string) {
		out, err := c.kubectl("-n", ns, "get", "pod", "db-0", "-o", "jsonpath={.status.phase} {.status.podIP}")
		f := strings.Fields(out)
		if len(f) == 2 && f[0] == "Running" {
			podIP = f[1]
			return true, out
		}
		return false, out + errString(err)
	})
	svc := func(name string) string { return name + "." + ns + ".svc.cluster.local" }
	wantAddrs := func(what, name string, want []string) {
		t.Helper()
		waitKube(t, what, 60*time.Second, func() (bool, string) {
			rcode, addrs := lookupA(t, "udp", name)
			seen := fmt.Sprintf("%s %v", rcode, addrs)
			return fmt.Sprint(addrs) == fmt.Sprint(want), seen
		})
	}

	// Not ready: the service's name and the pod's hostname answer,
	// "db-ready" does not.
	wantAddrs("db to answer with the pod that is not ready", svc("db"), []string{podIP})
	wantAddrs("db-0.db to answer with the pod", "db-0."+svc("db"), []string{podIP})
	if rcode, addrs := lookupA(t, "udp", svc("db-ready")); len(addrs) != 0 {
		t.Fatalf("%s while db-0 is not ready = %s %v, want no address", svc("db-ready"), rcode, addrs)
	}

	// Ready, then unready again.
	c.mustKubectl(t, "-n", ns, "exec", "db-0", "--", "touch", "/tmp/ready")
	c.mustKubectl(t, "-n", ns, "wait", "--for=condition=Ready", "pod/db-0", "--timeout=60s")
	wantAddrs("db-ready to answer once db-0 is ready", svc("db-ready"), []string{podIP})
	c.mustKubectl(t, "-n", ns, "exec", "db-0", "--", "rm", "/tmp/ready")
	wantAddrs("db-ready to stop answering once db-0 is unready", svc("db-ready"), nil)
	c.mustKubectl(t, "-n", ns, "exec", "db-0", "--", "touch", "/tmp/ready")
	wantAddrs("db-ready to answer again once db-0 is ready again", svc("db-ready"), []string{podIP})

	// A ClusterIP Service, over UDP and TCP.
	for _, netw := range []string{"udp", "tcp"} {
		if rcode, addrs := lookupA(t, netw, "kubernetes.default.svc.cluster.local"); rcode != "NOERROR" || fmt.Sprint(addrs) != "[10.237.0.1]" {
			t.Errorf("kubernetes.default.svc.cluster.local over %s = %s %v, want NOERROR [10.237.0.1]", netw, rcode, addrs)
		}
	}
	// Outside the cluster domain: refused, never forwarded.
	if rcode, addrs := lookupA(t, "udp", "example.com"); rcode != "REFUSED" {
		t.Errorf("example.com = %s %v, want REFUSED (no upstream: nothing leaves the machine)", rcode, addrs)
	}
	// A name under the domain that does not exist.
	if rcode, _ := lookupA(t, "udp", svc("nosuch")); rcode != "NXDOMAIN" {
		t.Errorf("%s = %s, want NXDOMAIN", svc("nosuch"), rcode)
	}

	// From a pod, through its resolv.conf, with busybox's nslookup as the
	// converter's wait scripts use it (full names: it does not use the
	// search list; short names are TestKubeClusterServesDeployment's). The
	// first Address line is the server's.
	names := []string{"db." + ns + ".svc.cluster.local", "db-ready." + ns + ".svc.cluster.local", "db-0.db." + ns + ".svc.cluster.local"}
	script := "for n in " + strings.Join(names, " ") + "; do " +
		"a=`nslookup $n | sed -n '/^Name:/,$ s/^Address:[[:space:]]*//p' | head -n 1`; echo \"$n=$a\"; done"
	logs := c.runKubePod(t, ns, "client", `apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  restartPolicy: Never
  containers:
  - name: client
    image: docker.io/library/busybox:latest
    imagePullPolicy: Never
    command: ["sh", "-c", `+quoteYAML(script)+`]
`, 90*time.Second)
	for _, n := range names {
		if !strings.Contains(logs, n+"="+podIP+"\n") {
			t.Errorf("pod client: %s did not resolve to %s; its output:\n%s", n, podIP, logs)
		}
	}
}
