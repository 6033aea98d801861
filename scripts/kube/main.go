// Command berth-kube is a multi-call binary holding a single-node Kubernetes
// control plane: etcd and the kube-apiserver, kube-controller-manager,
// kube-scheduler, kubelet, kube-proxy and kubectl commands of one Kubernetes
// release, and coredns (coredns.go), the cluster's DNS: CoreDNS with the
// plugins a cluster's Corefile uses.
// Packages that the commands share compile once, which is what makes the
// build fit a 2-core CI machine; it is what hyperkube did until Kubernetes
// removed it (kubernetes/kubernetes#83093).
//
// The command is chosen by the name the binary is called by (a symlink named
// kube-apiserver) or else by its first argument (berth-kube kube-apiserver ...).
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	_ "time/tzdata" // for CronJob time zones, as in cmd/kube-apiserver

	"github.com/spf13/cobra"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // JSON log format, as in each cmd/<name>
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics, as in each cmd/<name>
	_ "k8s.io/component-base/metrics/prometheus/version"  // version metric, as in each cmd/<name>
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	proxy "k8s.io/kubernetes/cmd/kube-proxy/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kubelet "k8s.io/kubernetes/cmd/kubelet/app"
)

// commands maps each name the binary answers to onto the cobra command that
// cmd/<name>/<name>.go of k8s.io/kubernetes runs. Each is built only when
// chosen: constructing one registers its flags and feature gates.
var commands = map[string]func() *cobra.Command{
	"kube-apiserver":          apiserver.NewAPIServerCommand,
	"kube-controller-manager": controllermanager.NewControllerManagerCommand,
	"kube-scheduler":          func() *cobra.Command { return scheduler.NewSchedulerCommand() },
	"kubelet":                 func() *cobra.Command { return kubelet.NewKubeletCommand(context.Background()) },
	"kube-proxy":              proxy.NewProxyCommand,
}

func main() {
	name, args := filepath.Base(os.Args[0]), os.Args[1:]
	if !known(name) && len(args) > 0 && known(args[0]) {
		name, args = args[0], args[1:]
	}
	switch name {
	case "etcd":
		os.Exit(runEtcd(args))
	case "kubectl":
		os.Exit(runKubectl(args))
	case "coredns":
		os.Exit(runCoreDNS(args))
	}
	newCommand, ok := commands[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "usage: %s COMMAND [FLAGS]\ncommands: %s\n", filepath.Base(os.Args[0]), strings.Join(names(), ", "))
		os.Exit(2)
	}
	cmd := newCommand()
	cmd.SetArgs(args)
	os.Exit(cli.Run(cmd))
}

func known(name string) bool {
	_, ok := commands[name]
	return ok || name == "etcd" || name == "kubectl" || name == "coredns"
}

func names() []string {
	out := []string{"coredns", "etcd", "kubectl"}
	for n := range commands {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
