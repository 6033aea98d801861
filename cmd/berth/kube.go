package main

import (
	"context"
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/berth/berth/kube"
	"github.com/berth/berth/scheduler"
)

// kubeCommands are the commands that act on a cluster when a kubeconfig
// is given; config (and convert) read the compose file only.
var kubeCommands = []string{"up", "down", "ps", "logs", "wait", "config", "convert", "help", "version", "completion", "berth"}

// addKubeFlags adds the flags that turn the project commands to a
// Kubernetes cluster.
//
// $KUBECONFIG alone does not: it is set on many machines for kubectl, and
// a compose user's berth up must not silently go to a cluster. --kube
// uses the default kubeconfig ($KUBECONFIG, else ~/.kube/config).
func addKubeFlags(cmd *cobra.Command, opts *globalOptions) {
	f := cmd.Flags()
	f.StringVar(&opts.kube.Path, "kubeconfig", "", "Run the project on the Kubernetes cluster of this kubeconfig `FILE` (up, down, ps, logs, wait)")
	f.BoolVar(&opts.kube.Default, "kube", false, "Run the project on the cluster of the default kubeconfig: $KUBECONFIG, else ~/.kube/config ($KUBECONFIG alone never selects a cluster)")
	f.StringVar(&opts.kube.Context, "context", "", "With --kubeconfig or --kube: the kubeconfig context to use (default: its current context)")
}

// checkKube refuses a command that does not act on a cluster when a
// kubeconfig is given, rather than running it on this machine.
func checkKube(cmd *cobra.Command, opts *globalOptions) error {
	if !opts.kube.Enabled() || slices.Contains(kubeCommands, cmd.Name()) {
		return nil
	}
	return fmt.Errorf("berth %s does not act on a cluster: drop --kubeconfig/--kube/--context (on a cluster berth runs up, down, ps, logs and wait)", cmd.Name())
}

// dialKube connects to the cluster the flags name.
func (o *globalOptions) dialKube(ctx context.Context) (*kube.Client, error) {
	return kube.Dial(ctx, o.kube)
}

// kubeProject is the name of the project a command acts on in the cluster
// (from the compose files, or -p) and the cluster's client.
func (o *globalOptions) kubeProject(ctx context.Context) (string, *kube.Client, error) {
	p, err := o.projectOrName(ctx)
	if err != nil {
		return "", nil, err
	}
	c, err := o.dialKube(ctx)
	if err != nil {
		return "", nil, err
	}
	return p.Name, c, nil
}

// kubeProgress shows the cluster commands' steps with the progress writer
// of the local commands: "Deployment demo/api  Created".
func kubeProgress(pw *progressWriter) kube.ProgressFunc {
	return func(p kube.Progress) {
		status := scheduler.StatusWorking
		switch {
		case p.Failed:
			status = scheduler.StatusError
		case p.Done:
			status = scheduler.StatusDone
		}
		pw.Emit(scheduler.Event{Kind: scheduler.Kind(p.Kind), Name: p.Name, Status: status, Text: p.Text, Detail: p.Detail})
	}
}

// refuseKubeArgs refuses service names for a command that acts on the
// whole project on a cluster.
func refuseKubeArgs(command string, services []string) error {
	if len(services) == 0 {
		return nil
	}
	return fmt.Errorf("berth %s %s on a cluster: %s acts on the whole project there; drop the service names", command, services[0], command)
}
