package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/component-base/logs"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"
)

// runKubectl runs kubectl as cmd/kubectl/kubectl.go of k8s.io/kubernetes
// does: the verbosity is read from the arguments before the command is built
// (building it already logs), and an error is printed kubectl's way. It is
// not in commands because cli.Run would print the error a second time. The
// client auth plugins (exec, OIDC) are left out: the cluster's kubeconfig
// uses client certificates.
func runKubectl(args []string) int {
	os.Args = append([]string{"kubectl"}, args...)
	logs.GlogSetter(kubectlcmd.GetLogVerbosity(os.Args)) // nolint:errcheck
	command := kubectlcmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(command); err != nil {
		util.CheckErr(err)
	}
	return 0
}
