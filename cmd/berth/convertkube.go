package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berth/berth/kube"
)

type convertKubeOptions struct {
	output          string
	namespace       string
	expose          string
	registry        string
	allowPrivileged bool
	waitImage       string
	jobWaitImage    string
	storageClass    string
}

// newConvertCmd is config under its other name, with the kubernetes
// subcommand: `berth convert` alone prints the configuration, as docker
// compose's convert alias does.
func newConvertCmd(g *globalOptions) *cobra.Command {
	cmd := newConfigCmd(g)
	cmd.Use = "convert [OPTIONS] [SERVICE...]"
	cmd.Short = "Print the project's configuration (as config), or convert it: convert kubernetes"
	cmd.AddCommand(newConvertKubeCmd(g))
	return cmd
}

func newConvertKubeCmd(g *globalOptions) *cobra.Command {
	opts := convertKubeOptions{}
	cmd := &cobra.Command{
		Use:     "kubernetes [OPTIONS] [SERVICE...]",
		Aliases: []string{"kube", "k8s"},
		Short:   "Convert the project to Kubernetes manifests",
		Long: `Convert the project to the Kubernetes objects that run it on a cluster: a
namespace, a Deployment per service (a StatefulSet with its claims for a service
with a named volume, a Job for one others wait to complete), headless Services
so that service names, aliases and container names resolve as on one machine,
NodePort or LoadBalancer Services for published ports, ConfigMaps and Secrets,
probes from healthchecks and init containers for depends_on conditions.

Without -o the YAML goes to standard output; with -o DIR, one file per object
and a kustomization.yaml (kubectl apply -k DIR). What cannot be carried over is
refused, naming the service and key; what runs differently is warned about on
standard error. Images of build: services are not built or pushed here: with
--registry R they are named R/<image>, which must be pushed (or imported into
the nodes) before they run.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runConvertKube(cmd, g, opts, args)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.output, "output", "o", "", "Write one file per object and a kustomization.yaml into this directory instead of YAML to standard output")
	f.StringVar(&opts.namespace, "namespace", "", "Namespace of the objects (default: the project's name)")
	f.StringVar(&opts.expose, "expose", kube.ExposeNodePort, "How published ports are reached: nodeport or loadbalancer")
	f.StringVar(&opts.registry, "registry", "", "Registry the images of build: services are pushed to: they run as REGISTRY/<image>")
	f.BoolVar(&opts.allowPrivileged, "allow-privileged", false, "Carry privileged: true over instead of refusing it")
	f.StringVar(&opts.waitImage, "wait-image", kube.DefaultWaitImage, "Image (with sh, nslookup and grep) of the init containers that wait for a healthy dependency")
	f.StringVar(&opts.jobWaitImage, "job-wait-image", kube.DefaultJobWaitImage, "Image (with kubectl) of the init containers that wait for a completed dependency")
	f.StringVar(&opts.storageClass, "storage-class", "", "StorageClass of the claims of named volumes (default: the cluster's default class)")
	return cmd
}

func runConvertKube(cmd *cobra.Command, g *globalOptions, opts convertKubeOptions, services []string) error {
	p, err := g.loadProject(cmd.Context(), services...)
	if err != nil {
		return err
	}
	m, err := kube.Convert(p, kube.ConvertOptions{
		Namespace: opts.namespace, Expose: opts.expose, Registry: opts.registry,
		AllowPrivileged: opts.allowPrivileged, WaitImage: opts.waitImage, JobWaitImage: opts.jobWaitImage,
		StorageClass: opts.storageClass,
	})
	if err != nil {
		return fmt.Errorf("convert %s to kubernetes:\n%w", p.Name, err)
	}
	for _, w := range m.Warnings {
		fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
	}
	if opts.output != "" {
		return m.WriteDir(opts.output)
	}
	b, err := m.YAML()
	if err != nil {
		return err
	}
	_, err = cmd.OutOrStdout().Write(b)
	return err
}
