package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/containerd"
	"github.com/berth/berth/netbridge"
	"github.com/berth/berth/platform"
	"github.com/berth/berth/scheduler"
)

type containerRunOptions struct {
	detach, rm, interactive, tty, quiet, noHealthcheck bool
	name, entrypoint, workdir, user, network, restart  string
	hostname, memory, pull, stopSignal                 string
	healthCmd                                          string
	healthInterval, healthTimeout, healthStart         time.Duration
	healthRetries, stopTimeout                         int
	cpus                                               float64
	publish, volumes, env, envFiles, labels            []string
	capAdd, capDrop, addHosts, dns, tmpfs              []string
	privileged, readOnly, init, publishAll             bool
	expose                                             []string
	pidsLimit                                          int64
	platform                                           string
}

func newContainerRunCmd(g *globalOptions) *cobra.Command {
	opts := containerRunOptions{}
	cmd := &cobra.Command{
		Use:   "run [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create and run a new container from an image",
		Long: `Create a container from IMAGE and run it, as "docker run" does: attached to
this terminal, berth exits with the container's exit code; with -d it
runs in the background and berth prints its ID. A missing image is
pulled first. The container joins berth's "bridge" network unless
--network names another (host, none, container:NAME, or an existing
network such as a compose project's PROJECT_default).

Exit codes as docker's: the container's own; 125 when berth fails before
the container starts (a bad flag, an unknown image, a name or port in
use); 126 when the command cannot be run; 127 when it is not found.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runContainerRun(cmd, g, opts, args[0], args[1:], cmd.Flags().Changed("entrypoint"))
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.BoolVarP(&opts.detach, "detach", "d", false, "Run the container in the background and print its ID")
	f.BoolVar(&opts.rm, "rm", false, "Remove the container, with its network namespace and log, when it exits")
	f.StringVar(&opts.name, "name", "", "Name the container (default: a random name such as eager_turing)")
	f.StringArrayVarP(&opts.publish, "publish", "p", nil, "Publish a container's port to the host: [IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL] (repeatable)")
	f.BoolVarP(&opts.publishAll, "publish-all", "P", false, "Publish every port the image exposes (and --expose) on a free host port")
	f.StringArrayVar(&opts.expose, "expose", nil, "Expose a port or a range (8080, 8000-8002/udp) without publishing it (-P publishes it)")
	f.StringArrayVarP(&opts.volumes, "volume", "v", nil, "Mount a host path or a named volume: SOURCE:TARGET[:ro] (repeatable)")
	f.StringArrayVarP(&opts.env, "env", "e", nil, "Set an environment variable: KEY=VALUE, or KEY to take the shell's value (repeatable)")
	f.StringArrayVar(&opts.envFiles, "env-file", nil, "Read environment variables from a file of KEY=VALUE lines (repeatable; -e wins)")
	f.StringVarP(&opts.workdir, "workdir", "w", "", "Working directory inside the container")
	f.StringVarP(&opts.user, "user", "u", "", "User to run as: name or uid[:gid]")
	f.StringVar(&opts.entrypoint, "entrypoint", "", `Replace the image's entrypoint (one executable; "" clears it)`)
	f.StringVar(&opts.network, "network", "", `Network to join: bridge (default), host, none, container:NAME, or an existing network's name`)
	f.StringVar(&opts.restart, "restart", "no", "Restart policy when the container exits: no, always, unless-stopped, on-failure[:max-retries]")
	f.StringVar(&opts.healthCmd, "health-cmd", "", "Command to run to check health (run by /bin/sh -c in the container)")
	f.DurationVar(&opts.healthInterval, "health-interval", 0, "Time between running the check (ms|s|m|h) (default 30s)")
	f.DurationVar(&opts.healthTimeout, "health-timeout", 0, "Maximum time to allow one check to run (ms|s|m|h) (default 30s)")
	f.DurationVar(&opts.healthStart, "health-start-period", 0, "Start period for the container to initialize before failures count (ms|s|m|h) (default 0s)")
	f.IntVar(&opts.healthRetries, "health-retries", 0, "Consecutive failures needed to report unhealthy (default 3)")
	f.BoolVar(&opts.noHealthcheck, "no-healthcheck", false, "Disable the image's HEALTHCHECK")
	f.StringVarP(&opts.memory, "memory", "m", "", "Memory limit (512m, 1g; bytes without a unit)")
	f.Float64Var(&opts.cpus, "cpus", 0, "Number of CPUs (1.5)")
	f.BoolVarP(&opts.interactive, "interactive", "i", false, "Keep standard input open and pass it to the container")
	f.BoolVarP(&opts.tty, "tty", "t", false, "Allocate a pseudo-terminal")
	f.StringArrayVarP(&opts.labels, "label", "l", nil, "Set a label on the container: KEY=VALUE (repeatable)")
	f.StringVarP(&opts.hostname, "hostname", "h", "", "Container host name (default: its name)")
	f.StringVar(&opts.pull, "pull", "missing", "Pull the image before running: always, missing or never")
	f.StringVar(&opts.platform, "platform", "", `Run the image's content for this platform: linux/amd64, linux/arm64 or linux/arm/v7 (default: this host's, else the image's own); a foreign platform runs under qemu user emulation, with a warning`)
	f.BoolVarP(&opts.quiet, "quiet", "q", false, `Suppress the pull output ("Unable to find image", the layers' progress)`)
	f.StringVar(&opts.stopSignal, "stop-signal", "", "Signal to stop the container (default SIGTERM)")
	f.IntVar(&opts.stopTimeout, "stop-timeout", 0, "Seconds to wait for the container to stop before killing it (default 10)")
	f.StringArrayVar(&opts.capAdd, "cap-add", nil, "Add a Linux capability (NET_ADMIN, ALL)")
	f.StringArrayVar(&opts.capDrop, "cap-drop", nil, "Drop a Linux capability (NET_RAW, ALL)")
	f.BoolVar(&opts.privileged, "privileged", false, "Give the container every capability and the host's devices")
	f.BoolVar(&opts.readOnly, "read-only", false, "Mount the container's root filesystem read-only")
	f.BoolVar(&opts.init, "init", false, "Run an init inside the container that forwards signals and reaps processes")
	f.StringArrayVar(&opts.addHosts, "add-host", nil, "Add a line to /etc/hosts: HOST:IP (IP may be host-gateway)")
	f.StringArrayVar(&opts.dns, "dns", nil, "Set a DNS server of the container")
	f.StringArrayVar(&opts.tmpfs, "tmpfs", nil, "Mount a tmpfs: PATH[:OPTIONS], as /run:size=64m")
	f.Int64Var(&opts.pidsLimit, "pids-limit", 0, "Limit the number of processes (0: no limit)")
	// -h is docker's --hostname: help is --help only.
	f.Bool("help", false, "Help for run")
	// docker takes --net for --network.
	f.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if name == "net" {
			name = "network"
		}
		return pflag.NormalizedName(name)
	})
	return cmd
}

// errNotATTY is docker's refusal of -it when standard input is no terminal.
var errNotATTY = errors.New("the input device is not a TTY")

func runContainerRun(cmd *cobra.Command, g *globalOptions, opts containerRunOptions, image string, args []string, entrypointSet bool) error {
	ctx := cmd.Context()
	tty := opts.tty
	if !opts.detach && opts.tty {
		switch {
		case opts.interactive && !isTerminal(os.Stdin):
			return exitError{code: 1, err: errNotATTY}
		case !isTerminal(os.Stdin) && !isTerminal(os.Stdout):
			tty = false // no terminal to give it: plain streams
		}
	}
	co := compose.ContainerOptions{
		Name: opts.name, Image: image, Command: args, Env: opts.env, EnvFiles: opts.envFiles,
		Publish: opts.publish, Volumes: opts.volumes, WorkDir: opts.workdir, User: opts.user, Hostname: opts.hostname,
		Network: opts.network, Restart: opts.restart, HealthCmd: opts.healthCmd, HealthInterval: opts.healthInterval,
		HealthTimeout: opts.healthTimeout, HealthStartTime: opts.healthStart, HealthRetries: opts.healthRetries,
		NoHealthcheck: opts.noHealthcheck, Memory: opts.memory, CPUs: opts.cpus, TTY: tty,
		Interactive: opts.interactive && opts.detach, Labels: opts.labels, AutoRemove: opts.rm,
		StopSignal: opts.stopSignal, StopTimeout: opts.stopTimeout, Lookup: os.LookupEnv,
		CapAdd: opts.capAdd, CapDrop: opts.capDrop, AddHosts: opts.addHosts, DNS: opts.dns, Tmpfs: opts.tmpfs,
		Privileged: opts.privileged, ReadOnly: opts.readOnly, Init: opts.init, PidsLimit: opts.pidsLimit,
	}
	if entrypointSet {
		co.Entrypoint = &opts.entrypoint
	}
	var err error
	if co.WorkingDir, err = os.Getwd(); err != nil {
		return exitError{code: 125, err: err}
	}
	if opts.platform != "" {
		if _, err := platform.Parse(opts.platform); err != nil {
			return exitError{code: 125, err: fmt.Errorf("--platform: %w", err)}
		}
	}
	policy := compose.PullPolicy(opts.pull)
	if policy != compose.PullAlways && policy != compose.PullMissing && policy != compose.PullNever {
		return exitError{code: 125, err: fmt.Errorf("invalid pull option %q: must be one of \"always\", \"missing\" or \"never\"", opts.pull)}
	}
	var showPull atomic.Bool
	showPull.Store(policy == compose.PullAlways)
	rt, nw, err := containerBackends(ctx, g, opts.quiet, &showPull)
	if err != nil {
		return exitError{code: 125, err: err}
	}
	defer rt.Close()
	progress := scheduler.Discard
	if co.Name == "" {
		cs, err := rt.Containers(ctx, "")
		if err != nil {
			return exitError{code: 125, err: err}
		}
		co.Name = compose.RandomContainerName(func(n string) bool {
			_, err := scheduler.FindContainer(cs, n)
			return err == nil
		})
	}
	if ref, ok := strings.CutPrefix(co.Network, "container:"); ok && ref != "" {
		// By name or ID; only a plain container's namespace can be joined.
		cs, err := rt.Containers(ctx, "")
		if err != nil {
			return exitError{code: 125, err: err}
		}
		joined, err := scheduler.FindContainer(cs, ref)
		if err != nil {
			return exitError{code: 125, err: fmt.Errorf("--network container:%s: %w", ref, err)}
		}
		if !isPlain(joined) {
			return exitError{code: 125, err: fmt.Errorf("--network container:%s: %s is a container of compose project %s: join its network %s_default instead", ref, joined.Name, joined.Labels.Project(), joined.Labels.Project())}
		}
		co.Network = "container:" + joined.Name
	}
	p, err := compose.ContainerProject(co)
	if err != nil {
		return exitError{code: 125, err: err}
	}
	s := p.Services[0]
	s.PullPolicy = policy
	s.Platform = opts.platform
	if !opts.detach {
		// Attached, berth itself removes it once it has its exit code.
		delete(s.Labels, compose.LabelAutoRemove)
	}
	if err := p.CheckHost(); err != nil {
		return exitError{code: 125, err: err}
	}
	if policy == compose.PullMissing && !opts.quiet {
		if id, err := rt.ImageID(ctx, s.Image); err == nil && id == "" {
			ref, _ := containerd.NormalizeRef(s.Image)
			fmt.Fprintf(cmd.ErrOrStderr(), "Unable to find image '%s' locally\n", shortRef(ref))
			showPull.Store(true)
		}
	}
	s.Expose = append(s.Expose, opts.expose...)
	if len(opts.expose) > 0 {
		if _, err := compose.ParsePorts(opts.expose); err != nil {
			return exitError{code: 125, err: fmt.Errorf("invalid argument for --expose: %w", err)}
		}
	}
	if opts.publishAll {
		if err := publishAll(ctx, rt, s, &showPull); err != nil {
			return exitError{code: 125, err: containerError(s.Name, err)}
		}
	}
	lock, err := lockProject(cmd, g, p.Name)
	if err != nil {
		return exitError{code: 125, err: err}
	}
	defer endProject(ctx, lock, rt, p.Name)
	c, err := scheduler.CreateContainer(ctx, p, rt, nw, progress)
	if err != nil {
		return exitError{code: 125, err: containerError(s.Name, err)}
	}
	remove := func() error {
		return scheduler.RemoveOneOff(context.WithoutCancel(ctx), p, rt, nw, c.ID)
	}
	if opts.detach {
		if err := rt.Start(ctx, c); err != nil {
			remove() //nolint:errcheck // the start's error is the one to report
			return startError(containerError(s.Name, err))
		}
		fmt.Fprintln(cmd.OutOrStdout(), scheduler.ContainerID(c))
		return nil
	}
	lock.Unlock()
	var code int
	if !opts.interactive && !tty {
		// Through its log, which keeps what it writes, as docker's does.
		code, err = runThroughLog(ctx, rt, c, cmd.OutOrStdout(), cmd.ErrOrStderr())
	} else {
		stdin := cmd.InOrStdin()
		if !opts.interactive {
			stdin = nil
		}
		code, err = rt.RunAttached(ctx, c, tty, stdin, cmd.OutOrStdout(), cmd.ErrOrStderr())
	}
	if opts.rm {
		if rerr := remove(); rerr != nil && err == nil {
			err = rerr
		}
	}
	if err != nil {
		return startError(containerError(s.Name, err))
	}
	if code != 0 {
		return exitError{code: code}
	}
	return nil
}

// publishAll publishes on free host ports the ports s's image exposes
// and s exposes (docker run -P), but those -p published already. The
// image is made present first (pulled as the run would).
func publishAll(ctx context.Context, rt *containerd.Client, s *compose.Service, showPull *atomic.Bool) error {
	if err := rt.EnsureImage(ctx, s); err != nil {
		return err
	}
	showPull.Store(false) // pulled now: the run finds it present
	exposed, err := rt.ImageExposedPorts(ctx, s.ImageName())
	if err != nil {
		return err
	}
	ports, err := compose.ParsePorts(append(exposed, s.Expose...))
	if err != nil {
		return fmt.Errorf("-P: %w", err)
	}
	for _, p := range ports {
		if !slices.ContainsFunc(s.Ports, func(q compose.PortMapping) bool {
			return q.ContainerPort == p.ContainerPort && q.Protocol == p.Protocol
		}) {
			s.Ports = append(s.Ports, p)
		}
	}
	if s.PullPolicy == compose.PullAlways {
		s.PullPolicy = compose.PullMissing // pulled just now
	}
	return nil
}

// containerBackends are backends as for up, with only the pull's
// progress shown (as docker run shows it), on standard error: docker run
// reports no other step. quiet shows none.
func containerBackends(ctx context.Context, g *globalOptions, quiet bool, showPull *atomic.Bool) (*containerd.Client, *netbridge.Networks, error) {
	o := *g
	if quiet {
		o.progress = "quiet"
	}
	progress, err := o.progressWriter()
	if err != nil {
		return nil, nil, err
	}
	progress.lead = "" // docker's own lines, not compose's
	rt, err := o.connect(ctx, pullEvents{next: progress, show: showPull})
	if err != nil {
		return nil, nil, err
	}
	nw, err := o.networks()
	if err != nil {
		rt.Close()
		return nil, nil, err
	}
	// The project daemon supervises the containers on this containerd.
	nw.DaemonEnv = []string{"CONTAINERD_ADDRESS=" + rt.Address(), "CONTAINERD_NAMESPACE=" + o.namespace}
	return rt, nw, nil
}

// pullEvents passes on the events of images and their layers only, once
// show is set: when an image is pulled, not when it is found present.
type pullEvents struct {
	next scheduler.Events
	show *atomic.Bool
}

func (p pullEvents) Emit(e scheduler.Event) {
	if p.show.Load() && (e.Kind == scheduler.KindImage || e.Kind == scheduler.KindLayer) {
		p.next.Emit(e)
	}
	// A warning (the container runs emulated) is said about the container.
	if e.Kind == scheduler.KindService && e.Status == scheduler.StatusWarning {
		e.Detail = strings.Replace(e.Detail, fmt.Sprintf("service %q", e.Name), fmt.Sprintf("container %q", e.Name), 1)
		p.next.Emit(e)
	}
}

// containerError words the scheduler's errors about the container's
// service as about the container, which is what the user made.
func containerError(name string, err error) error {
	msg := strings.ReplaceAll(err.Error(), fmt.Sprintf("service %q", name), fmt.Sprintf("container %q", name))
	return errors.New(msg)
}

// startError is the exit status docker run gives a container that does
// not start: 127 when its command is not found, 126 when it cannot be
// run, 125 otherwise. runc reports both only in words.
func startError(err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "executable file not found") || strings.Contains(msg, "no such file or directory"):
		return exitError{code: 127, err: err}
	case strings.Contains(msg, "permission denied") || strings.Contains(msg, "is a directory"):
		return exitError{code: 126, err: err}
	}
	return exitError{code: 125, err: err}
}

// shortRef is a normalized reference as docker prints it: busybox:latest
// rather than docker.io/library/busybox:latest.
func shortRef(ref string) string {
	return strings.TrimPrefix(strings.TrimPrefix(ref, "docker.io/"), "library/")
}
