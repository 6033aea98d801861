package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/containerd"
	"github.com/berth/berth/scheduler"
)

type execOptions struct {
	noTTY      bool
	detach     bool
	privileged bool
	user       string
	workdir    string
	env        []string
	index      int
}

func newExecCmd(g *globalOptions) *cobra.Command {
	opts := execOptions{}
	cmd := &cobra.Command{
		Use:   "exec [OPTIONS] SERVICE COMMAND [ARGS...]",
		Short: "Run a command in a running service container",
		Long: `Run a command in a service's running container, with the container's
environment, user and working directory unless overridden. It gets a
terminal when standard input is one (-T: never). berth exits with the
command's exit code; with -d it returns at once, the command running on
in the container, its output discarded. --privileged gives the command
every capability, whatever the service's cap_add and cap_drop.`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExec(cmd, g, opts, args[0], args[1:])
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.BoolVarP(&opts.noTTY, "no-tty", "T", false, "Do not allocate a terminal")
	f.BoolVar(&opts.noTTY, "no-TTY", false, "Do not allocate a terminal")
	f.MarkHidden("no-TTY") //nolint:errcheck // the flag exists: berth's older spelling of --no-tty
	f.BoolVarP(&opts.detach, "detach", "d", false, "Run the command in the background; its output is discarded")
	f.BoolVar(&opts.privileged, "privileged", false, "Give the command every capability")
	f.StringVarP(&opts.user, "user", "u", "", "Run as this user (name or uid[:gid])")
	f.StringVarP(&opts.workdir, "workdir", "w", "", "Working directory in the container")
	f.StringArrayVarP(&opts.env, "env", "e", nil, "Set an environment variable (KEY=VALUE)")
	f.IntVar(&opts.index, "index", 0, "Which replica of the service (from 1); default: its first running container, a one-off (run -d) when no replica runs")
	return cmd
}

func runExec(cmd *cobra.Command, g *globalOptions, opts execOptions, service string, args []string) error {
	ctx := cmd.Context()
	// As docker compose's exec, it may pick a one-off (run -d) container
	// of the service: a project known by name has its services too.
	p, rt, err := g.serviceProjectBy(ctx, []string{service}, scheduler.ProjectWithOneOffs)
	if err != nil {
		return err
	}
	defer rt.Close()
	c, err := scheduler.ServiceContainer(ctx, rt, p, service, opts.index)
	if err != nil {
		return err
	}
	env, err := compose.ParseEnvArgs("exec -e", opts.env, os.LookupEnv)
	if err != nil {
		return err
	}
	tty := !opts.noTTY && isTerminal(os.Stdin) && isTerminal(os.Stdout)
	code, err := rt.Exec(ctx, c, containerd.ExecRequest{
		Args: args, Env: compose.EnvList(env), User: opts.user, WorkDir: opts.workdir, TTY: tty && !opts.detach,
		Privileged: opts.privileged, Detach: opts.detach,
		Stdin: cmd.InOrStdin(), Stdout: cmd.OutOrStdout(), Stderr: cmd.ErrOrStderr(),
	})
	if err != nil {
		return err
	}
	if code != 0 {
		return exitError{code: code}
	}
	return nil
}
