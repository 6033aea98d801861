package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/containerd"
	"github.com/berth/berth/kube"
	"github.com/berth/berth/scheduler"
)

// containerd's client builds, tags and pushes what convert kubernetes
// publishes.
var _ scheduler.ImagePublisher = (*containerd.Client)(nil)

type convertKubeOptions struct {
	output          string
	namespace       string
	expose          string
	registry        string
	allowPrivileged bool
	waitImage       string
	jobWaitImage    string
	storageClass    string
	noPush          bool
	// build holds the flags that decide what the builds of build:
	// services make (--build-arg, --no-cache, --pull, --platform).
	build buildOptions
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
standard error.

The images of build: services are built (as berth build does: unchanged steps
come from the cache; --build-arg, --no-cache, --pull and --platform act as
there, --platform with several platforms making one index for a cluster of
mixed nodes), pushed, and named in the manifests by digest
(NAME@sha256:...), so that every node runs the very image built here. Services
sharing an image name are built and pushed once. An image's name is the
service's image:, else <project>-<service>; it is pushed as:
  --registry R   R/<name without its registry host>: image: ghcr.io/org/api:1.0
                 goes to R/org/api:1.0, a service without image: to
                 R/<project>-<service>
  no --registry  the name itself, to the registry it starts with (Docker Hub
                 when none); a service without image: has no registry to go
                 to and is refused: give --registry or image: REGISTRY/NAME
With --no-push nothing is built or pushed: the manifests name the images by
tag (R/<name> with --registry, else the name), with a warning per service;
push or import them into the nodes before they run. Nothing is written when a
build or a push fails.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runConvertKube(cmd, g, opts, args)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.output, "output", "o", "", "Write one file per object and a kustomization.yaml into this directory instead of YAML to standard output")
	f.StringVar(&opts.namespace, "namespace", "", "Namespace of the objects (default: the project's name)")
	f.StringVar(&opts.expose, "expose", kube.ExposeNodePort, "How published ports are reached: nodeport or loadbalancer")
	f.StringVar(&opts.registry, "registry", "", "Registry (HOST[:PORT][/PATH]) the images of build: services are pushed to, as REGISTRY/<image name without its registry host>")
	f.BoolVar(&opts.noPush, "no-push", false, "Do not build or push the images of build: services: the manifests name them by tag")
	f.BoolVar(&opts.allowPrivileged, "allow-privileged", false, "Carry privileged: true over instead of refusing it")
	f.StringVar(&opts.waitImage, "wait-image", kube.DefaultWaitImage, "Image (with sh, nslookup and grep) of the init containers that wait for a healthy dependency")
	f.StringVar(&opts.jobWaitImage, "job-wait-image", kube.DefaultJobWaitImage, "Image (with kubectl) of the init containers that wait for a completed dependency")
	f.StringVar(&opts.storageClass, "storage-class", "", "StorageClass of the claims of named volumes (default: the cluster's default class)")
	opts.build.addImageFlags(f)
	return cmd
}

func runConvertKube(cmd *cobra.Command, g *globalOptions, opts convertKubeOptions, services []string) error {
	if err := checkRegistry(opts.registry); err != nil {
		return err
	}
	p, err := g.loadProject(cmd.Context(), services...)
	if err != nil {
		return err
	}
	co := kube.ConvertOptions{
		Namespace: opts.namespace, Expose: opts.expose, Registry: opts.registry,
		AllowPrivileged: opts.allowPrivileged, WaitImage: opts.waitImage, JobWaitImage: opts.jobWaitImage,
		StorageClass: opts.storageClass,
	}
	// Converted first without the images' digests: a project that cannot
	// be carried over is refused before anything is built or pushed.
	m, err := kube.Convert(p, co)
	if err != nil {
		return fmt.Errorf("convert %s to kubernetes:\n%w", p.Name, err)
	}
	var warnings []string
	if built := buildServices(p, nil); len(built) > 0 && opts.noPush {
		warnings = append(warnings, noPushWarnings(built, opts.registry)...)
	} else if len(built) > 0 {
		if co.Images, err = publishImages(cmd, g, p, opts.registry, opts.build); err != nil {
			return err
		}
		if m, err = kube.Convert(p, co); err != nil {
			return fmt.Errorf("convert %s to kubernetes:\n%w", p.Name, err)
		}
	}
	for _, w := range append(warnings, m.Warnings...) {
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

// publishImages builds and pushes the project's images
// (scheduler.PublishImages), progress on standard error, and returns the
// services' references by digest.
func publishImages(cmd *cobra.Command, g *globalOptions, p *compose.Project, registry string, build buildOptions) (map[string]string, error) {
	ctx := cmd.Context()
	// Where the images go, and the build flags, are checked before
	// containerd is reached.
	if _, err := scheduler.PublishTargets(p, registry); err != nil {
		return nil, publishError(p, err)
	}
	bo, err := build.options(nil)
	if err != nil {
		return nil, err
	}
	rt, progress, err := g.connectWithProgress(ctx)
	if err != nil {
		return nil, err
	}
	defer rt.Close()
	bo.Out = buildOutput(progress, cmd.ErrOrStderr(), g.progress == "quiet")
	refs, err := scheduler.PublishImages(ctx, p, rt, rt, scheduler.PublishOptions{Registry: registry, Build: bo})
	if err != nil {
		return nil, publishError(p, err)
	}
	return refs, nil
}

// publishError says what to do about a failed publish: where the images
// go is the user's choice of --registry or --no-push.
func publishError(p *compose.Project, err error) error {
	var pe *scheduler.PushError
	switch {
	case errors.Is(err, scheduler.ErrNoRegistry):
		return fmt.Errorf("convert %s to kubernetes: %w: give --registry REGISTRY (or image: REGISTRY/NAME), or --no-push to name the images by tag without building or pushing them", p.Name, err)
	case errors.As(err, &pe):
		return fmt.Errorf("convert %s to kubernetes: %w; give --registry REGISTRY to push elsewhere, or --no-push to name the images by tag without building or pushing them", p.Name, err)
	}
	return fmt.Errorf("convert %s to kubernetes: %w", p.Name, err)
}

// checkRegistry refuses a --registry that cannot start an image name:
// a URL, or a name with a tag.
func checkRegistry(registry string) error {
	if registry == "" {
		return nil
	}
	bad := strings.Contains(registry, "://")
	if !bad {
		_, err := containerd.NormalizeRef(strings.TrimSuffix(registry, "/") + "/image")
		bad = err != nil
	}
	if bad {
		return fmt.Errorf("--registry %q: give HOST[:PORT][/PATH], without a scheme or a tag (e.g. 127.0.0.1:5000 or ghcr.io/org)", registry)
	}
	return nil
}

// noPushWarnings say, per service, which tag the manifests name an
// image by that --no-push left unbuilt and unpushed.
func noPushWarnings(services []*compose.Service, registry string) []string {
	var out []string
	for _, s := range services {
		out = append(out, fmt.Sprintf("service %q: its image is not built or pushed (--no-push): the manifests name it by tag, %s; push it there or import it into the nodes before it runs",
			s.Name, compose.PublishName(registry, s.ImageName())))
	}
	return out
}
