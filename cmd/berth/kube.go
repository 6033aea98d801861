package main

import (
	"context"
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/berth/berth/compose"
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
	return o.kubeServiceProject(ctx, nil)
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

// loadKubeProject loads the whole project for a command on a cluster, with
// services checked and enabled as up SERVICE... checks them on one machine
// (an unknown name is an error naming the project's services; a service of
// an inactive profile is enabled by naming it), but not restricted to
// them: up SERVICE... applies objects of the whole project's conversion
// (see kube.Manifests.ForServices).
func (o *globalOptions) loadKubeProject(ctx context.Context, services []string) (*compose.Project, error) {
	if err := o.refuseContainersProject(); err != nil {
		return nil, err
	}
	lo := o.composeOptions()
	lo.Services = services
	lo.KeepUnselected = true
	return compose.Load(ctx, lo)
}

// kubeServiceProject is kubeProject for a command given service names:
// with a compose file the names are checked against it, as on one machine;
// without one (-p NAME) any name passes, as on one machine, where the
// project is then known by name only.
func (o *globalOptions) kubeServiceProject(ctx context.Context, services []string) (string, *kube.Client, error) {
	p, c, err := o.kubeLoadedProject(ctx, services)
	if err != nil {
		return "", nil, err
	}
	return p.Name, c, nil
}

// kubeLoadedProject is kubeServiceProject with the project as loaded
// (only its name when it is known by -p NAME only: FromLabels).
func (o *globalOptions) kubeLoadedProject(ctx context.Context, services []string) (*compose.Project, *kube.Client, error) {
	p, err := o.projectOrName(ctx)
	if err != nil {
		return nil, nil, err
	}
	if !p.FromLabels && len(services) > 0 {
		if p, err = o.loadKubeProject(ctx, services); err != nil {
			return nil, nil, err
		}
	}
	c, err := o.dialKube(ctx)
	if err != nil {
		return nil, nil, err
	}
	return p, c, nil
}

// kubeDownSelection are the services down SERVICE... deletes on a
// cluster: the named ones, as docker compose's down SERVICE with its
// compose file, and berth's on one machine (scheduler.DownServices). A
// project known by -p NAME only has no graph here (one machine takes the
// dependents from the containers' labels): the named ones too. nil
// without names.
func kubeDownSelection(p *compose.Project, services []string) []string {
	if len(services) == 0 {
		return nil
	}
	return scheduler.DownServices(p, nil, services)
}

// kubeSelection are the services up SERVICE... applies on a cluster: the
// named ones and, unless noDeps, everything they depend on, transitively,
// by the graph local up walks (depends_on, network_mode service:,
// volumes_from); nil without names (the whole project).
func kubeSelection(p *compose.Project, services []string, noDeps bool) ([]string, error) {
	if len(services) == 0 {
		return nil, nil
	}
	if noDeps {
		out := slices.Clone(services)
		slices.Sort(out)
		return slices.Compact(out), nil
	}
	g, err := scheduler.NewGraph(p)
	if err != nil {
		return nil, err
	}
	return g.WithDependencies(services), nil
}

// namesOrNil is services, or nil for none: kube's options take nil for the
// whole project.
func namesOrNil(services []string) []string {
	if len(services) == 0 {
		return nil
	}
	return services
}
