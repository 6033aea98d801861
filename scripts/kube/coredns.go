package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	// The plugins a cluster's Corefile uses (kubeadm's default Corefile, less
	// prometheus, reload and loadbalance), plus bind to serve on the node IP
	// only. Each registers itself; corednsDirectives orders them.
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/ready"
)

// corednsDirectives are the plugins compiled in, in the order CoreDNS's
// plugin.cfg runs them (a Corefile's order does not matter). A Corefile that
// names another plugin is refused at start ("unknown directive").
var corednsDirectives = []string{"bind", "ready", "health", "errors", "cache", "kubernetes", "loop", "forward"}

// runCoreDNS runs CoreDNS (github.com/coredns/coredns, as a library) with
// the plugins above: the cluster's DNS, which the kubelet's clusterDNS points
// at. Its flags are the coredns binary's (-conf Corefile, -version, -plugins);
// scripts/kube-cluster.sh writes the Corefile. coremain registers those flags
// on the standard library's flag.CommandLine at init, which no Kubernetes
// command reads, and runs until SIGINT or SIGTERM; it exits the process itself
// on a bad Corefile.
func runCoreDNS(args []string) int {
	if err := dnsserver.SetDirectives(corednsDirectives); err != nil {
		fmt.Fprintf(os.Stderr, "coredns: %v\n", err)
		return 1
	}
	flag.CommandLine.Init("coredns", flag.ExitOnError)
	os.Args = append([]string{"coredns"}, args...)
	coremain.Run()
	return 0
}
