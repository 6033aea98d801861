package main

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/containerd"
	"github.com/berth/berth/scheduler"
)

// newContainerCmd is the berth container group: docker's container
// commands, for plain containers made without a compose file. A plain
// container is a one-service project of its own kind (compose.ContainersProject,
// each container a service named after it, labelled berth.standalone), so
// the scheduler, the project daemon that supervises restart policies and
// healthchecks, and the code of ps, logs, exec, cp serve it as they serve
// compose projects. ls, logs, inspect, port, exec, cp and wait also take a
// compose project's containers (docker shows every container); stop,
// start, restart, kill and rm take plain containers only (a compose
// project's are berth stop, rm … -p PROJECT SERVICE).
func newContainerCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "container",
		Short: "Run and manage plain containers, without a compose file (as docker's container commands)",
		Long: `Run an image as a container, as "docker run" does, and manage such
containers: ls, logs, exec, stop, start, restart, kill, rm, inspect, port,
wait, cp. Their flags, output and exit codes are docker's.

Plain containers join berth's "bridge" network (NAT, published ports;
they resolve each other by name) unless --network says otherwise, and are
supervised as compose services are (restart policies, healthchecks).
They never mix with compose projects: berth ps, down and ls of a project
leave them alone, and berth container stop/rm leave compose containers
alone (berth container ls -a, logs, inspect and exec show them too, as
docker does).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return unknownCommand(cmd, args[0])
			}
			return cmd.Help()
		},
	}
	cmd.AddCommand(
		newContainerRunCmd(g),
		newContainerLsCmd(g),
		newContainerLogsCmd(g),
		newContainerLifecycleCmd(g, scheduler.OpStop),
		newContainerLifecycleCmd(g, scheduler.OpStart),
		newContainerLifecycleCmd(g, scheduler.OpRestart),
		newContainerLifecycleCmd(g, scheduler.OpKill),
		newContainerLifecycleCmd(g, scheduler.OpRemove),
		newContainerExecCmd(g),
		newContainerInspectCmd(g),
		newContainerPortCmd(g),
		newContainerWaitCmd(g),
		newContainerCpCmd(g),
	)
	return cmd
}

// allContainers lists every container berth made, compose projects'
// and plain ones.
func (o *globalOptions) allContainers(ctx context.Context) ([]scheduler.Container, error) {
	rt, err := o.connect(ctx, scheduler.Discard)
	if err != nil {
		return nil, err
	}
	defer rt.Close()
	return rt.Containers(ctx, "")
}

// connectAndFind connects to containerd and finds the container ref names
// there (scheduler.FindContainer); the caller closes the client.
func (o *globalOptions) connectAndFind(ctx context.Context, ref string) (_ *containerd.Client, _ scheduler.Container, retErr error) {
	rt, err := o.connect(ctx, scheduler.Discard)
	if err != nil {
		return nil, scheduler.Container{}, err
	}
	defer func() {
		if retErr != nil {
			rt.Close()
		}
	}()
	c, err := findContainerIn(ctx, rt, ref)
	return rt, c, err
}

// findContainerIn finds the container ref names among all of rt's.
func findContainerIn(ctx context.Context, rt interface {
	Containers(context.Context, string) ([]scheduler.Container, error)
}, ref string) (scheduler.Container, error) {
	cs, err := rt.Containers(ctx, "")
	if err != nil {
		return scheduler.Container{}, err
	}
	return scheduler.FindContainer(cs, ref)
}

// findContainer finds the container a berth container command names:
// by name, ID or ID prefix (scheduler.FindContainer).
func (o *globalOptions) findContainer(ctx context.Context, ref string) (scheduler.Container, error) {
	cs, err := o.allContainers(ctx)
	if err != nil {
		return scheduler.Container{}, err
	}
	return scheduler.FindContainer(cs, ref)
}

// containerGlobals are the global options with which the compose
// commands' code (lifecycle, exec, logs, cp) works on c's project, known
// from its labels (never from a compose file in the working directory),
// quietly: the container commands print what docker's print.
func containerGlobals(g *globalOptions, c scheduler.Container) *globalOptions {
	o := *g
	o.byLabels = c.Labels.Project()
	o.projectName, o.files, o.envFiles, o.profiles = "", nil, nil, nil
	o.progress = "quiet"
	return &o
}

// isPlain reports whether c is a plain container (berth container run).
func isPlain(c scheduler.Container) bool {
	return c.Labels.Project() == compose.ContainersProject
}

// containerName is c's name as docker shows it in inspect: "/name".
func containerName(c scheduler.Container) string {
	return "/" + strings.TrimPrefix(c.Name, "/")
}
