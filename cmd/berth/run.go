package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/runstate"
	"github.com/berth/berth/scheduler"
)

type runOptions struct {
	rm           bool
	noDeps       bool
	servicePorts bool
	noTTY        bool
	interactive  bool
	detach       bool
	name         string
	entrypoint   string
	user         string
	workdir      string
	env          []string
	publish      []string
	volumes      []string
	capAdd       []string
	capDrop      []string
	labels       []string
	useAliases   bool
	pull         string
	build        bool
	removeOrph   bool
	quiet        bool
	quietPull    bool
	quietBuild   bool
	envFromFile  []string
}

func newRunCmd(g *globalOptions) *cobra.Command {
	opts := runOptions{}
	cmd := &cobra.Command{
		Use:   "run [OPTIONS] SERVICE [COMMAND] [ARGS...]",
		Short: "Run a one-off command in a new container of a service",
		Long: `Start the services SERVICE depends on (unless --no-deps), then run COMMAND
(default: the service's) in a new container of SERVICE, attached to this
terminal, and exit with its exit code. The service's ports are not
published unless --service-ports or -p asks, and the container is reached
on the networks by its own name only, not the service's, unless
--use-aliases. A missing image is built (or pulled) first; --build
rebuilds it.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRun(cmd, g, opts, args[0], args[1:])
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.BoolVar(&opts.rm, "rm", false, "Remove the container when it exits")
	f.BoolVar(&opts.noDeps, "no-deps", false, "Do not start the services it depends on")
	f.BoolVarP(&opts.servicePorts, "service-ports", "P", false, "Publish the service's ports")
	f.BoolVarP(&opts.noTTY, "no-TTY", "T", false, "Do not allocate a terminal")
	f.BoolVarP(&opts.interactive, "interactive", "i", true, "Keep standard input open")
	f.BoolVarP(&opts.detach, "detach", "d", false, "Run in the background and print the container's name")
	f.StringVar(&opts.name, "name", "", "Name the container")
	f.StringVar(&opts.entrypoint, "entrypoint", "", "Override the entrypoint (a command line)")
	f.StringVarP(&opts.user, "user", "u", "", "Run as this user")
	f.StringVarP(&opts.workdir, "workdir", "w", "", "Working directory in the container")
	f.StringArrayVarP(&opts.env, "env", "e", nil, "Set an environment variable (KEY=VALUE)")
	f.StringArrayVarP(&opts.publish, "publish", "p", nil, "Publish a port (as in ports:)")
	f.StringArrayVarP(&opts.volumes, "volume", "v", nil, "Mount a host path or a declared volume (SOURCE:TARGET[:ro]); also --volumes")
	f.StringArrayVar(&opts.capAdd, "cap-add", nil, "Add a Linux capability (as cap_add:)")
	f.StringArrayVar(&opts.capDrop, "cap-drop", nil, "Drop a Linux capability (as cap_drop:)")
	f.StringArrayVarP(&opts.labels, "label", "l", nil, "Add a label to the container (KEY=VALUE)")
	f.BoolVar(&opts.useAliases, "use-aliases", false, "Give the container the service's name and aliases on its networks")
	f.StringVar(&opts.pull, "pull", "", "Pull the image before running: always, missing or never (default: the service's pull_policy)")
	f.BoolVar(&opts.build, "build", false, "Build the service's image before running it")
	f.BoolVar(&opts.removeOrph, "remove-orphans", false, "Remove containers of services not in the compose file, and one-offs that exited")
	f.BoolVar(&opts.quietPull, "quiet-pull", false, "Pull without printing the progress of each layer")
	f.BoolVar(&opts.quietBuild, "quiet-build", false, "Build without printing the build's output")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "Print nothing to standard output but the command's own (no container name with -d)")
	f.StringArrayVar(&opts.envFromFile, "env-from-file", nil, "Set the environment variables of this file (KEY=VALUE lines, as .env; -e wins)")
	// docker compose takes --volumes for --volume.
	f.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if name == "volumes" {
			name = "volume"
		}
		return pflag.NormalizedName(name)
	})
	return cmd
}

func runRun(cmd *cobra.Command, g *globalOptions, opts runOptions, service string, command []string) error {
	ctx := cmd.Context()
	// The service and what it depends on, its profile enabled even when
	// not active (as docker compose does for the service run targets).
	p, err := g.loadProject(ctx, service)
	if err != nil {
		return err
	}
	if err := g.checkRemoteStack(ctx, os.Stdin, cmd.OutOrStdout(), isTerminal(os.Stdin), p); err != nil {
		return err
	}
	ignoreOrphans, _ := strconv.ParseBool(os.Getenv("COMPOSE_IGNORE_ORPHANS"))
	req := scheduler.RunRequest{
		Service: service, User: opts.user, WorkDir: opts.workdir, NoDeps: opts.noDeps,
		ServicePorts: opts.servicePorts, Name: opts.name,
		TTY: !opts.noTTY && !opts.detach && isTerminal(os.Stdin) && isTerminal(os.Stdout), Interactive: opts.interactive, Detached: opts.detach,
		CapAdd: opts.capAdd, CapDrop: opts.capDrop, UseAliases: opts.useAliases, Build: opts.build, RemoveOrphans: opts.removeOrph,
		// Detached, the project's supervisor removes it when it exits.
		AutoRemove: opts.rm && opts.detach, IgnoreOrphans: ignoreOrphans,
	}
	switch policy := compose.PullPolicy(opts.pull); policy {
	case "":
	case compose.PullAlways, compose.PullMissing, compose.PullNever:
		req.PullPolicy = policy
	default:
		return fmt.Errorf("run --pull %q: use always, missing or never", opts.pull)
	}
	if len(opts.labels) > 0 {
		req.Labels = map[string]string{}
		for _, l := range opts.labels {
			k, v, ok := strings.Cut(l, "=")
			if !ok || k == "" {
				return fmt.Errorf("run --label %q: use KEY=VALUE", l)
			}
			req.Labels[k] = v
		}
	}
	if len(command) > 0 {
		req.Command = command
	}
	if opts.entrypoint != "" {
		req.Entrypoint = strings.Fields(opts.entrypoint)
	}
	if req.Env, err = runEnv(p, opts); err != nil {
		return err
	}
	if req.Ports, err = compose.ParsePorts(opts.publish); err != nil {
		return fmt.Errorf("run -p: %w", err)
	}
	if req.Mounts, err = compose.ParseVolumes(p, opts.volumes); err != nil {
		return fmt.Errorf("run -v: %w", err)
	}
	// Refused before anything is made, as Docker refuses it on creation.
	if err := p.CheckHost(); err != nil {
		return err
	}
	rt, nw, progress, err := g.backends(ctx)
	if err != nil {
		return err
	}
	defer rt.Close()
	// Locked while the one-off and its dependencies are made, not while
	// it runs: a long run must not hold up the project's other commands.
	lock, err := lockProject(cmd, g, p.Name)
	if err != nil {
		return err
	}
	defer endProject(ctx, lock, rt, p.Name)
	// Its image is built when missing (always with --build), as up does.
	req.Builder = rt
	req.BuildOptions = scheduler.BuildOptions{Out: buildOutput(progress, cmd.ErrOrStderr(), opts.quietBuild)}
	progress.quietPull = opts.quietPull
	var awaited []string
	if !opts.noDeps {
		awaited = scheduler.AwaitedServices(p, false)
	}
	release, err := runstate.AnnounceWait(g.namespaceRunDir(), p.Name, os.Getpid(), awaited)
	if err != nil {
		return err
	}
	c, err := scheduler.CreateOneOff(ctx, p, rt, nw, progress, req)
	release()
	if err != nil {
		return err
	}
	if opts.detach {
		if err := rt.Start(ctx, c); err != nil {
			return err
		}
		if !opts.quiet {
			fmt.Fprintln(cmd.OutOrStdout(), c.Name)
		}
		return nil
	}
	lock.Unlock()
	var stdin = cmd.InOrStdin()
	if !opts.interactive {
		stdin = nil
	}
	code, err := rt.RunAttached(ctx, c, req.TTY, stdin, cmd.OutOrStdout(), cmd.ErrOrStderr())
	if opts.rm {
		if rerr := scheduler.RemoveOneOff(context.WithoutCancel(ctx), p, rt, nw, c.ID); rerr != nil && err == nil {
			err = rerr
		}
	}
	if err != nil {
		return err
	}
	if code != 0 {
		return exitError{code: code}
	}
	return nil
}

// runEnv is the one-off's extra environment: -e KEY=VALUE, a bare -e KEY
// valued from the variables the project was loaded with (the shell's,
// then .env, --env-file or COMPOSE_ENV_FILES, as docker compose resolves
// it), then the --env-from-file files for the keys -e did not set.
func runEnv(p *compose.Project, opts runOptions) (map[string]string, error) {
	env, err := compose.ParseEnvArgs("run -e", opts.env, func(k string) (string, bool) {
		v, ok := p.Environment[k]
		return v, ok
	})
	if err != nil {
		return nil, err
	}
	for _, file := range opts.envFromFile {
		vars, err := compose.ReadEnvFile(file, func(k string) (string, bool) {
			v, ok := env[k]
			return v, ok
		})
		if err != nil {
			return nil, fmt.Errorf("run --env-from-file: %w", err)
		}
		for k, v := range vars {
			if _, ok := env[k]; !ok {
				env[k] = v
			}
		}
	}
	return env, nil
}
