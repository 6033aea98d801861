package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/containerd"
	"github.com/berth/berth/scheduler"
)

type containerExecOptions struct {
	interactive, tty, detach, privileged bool
	user, workdir                        string
	env                                  []string
}

func newContainerExecCmd(g *globalOptions) *cobra.Command {
	opts := containerExecOptions{}
	cmd := &cobra.Command{
		Use:   "exec [OPTIONS] CONTAINER COMMAND [ARG...]",
		Short: "Execute a command in a running container",
		Long: `Run a command in a running container (by name or ID; a compose project's
too), with its environment, user and working directory unless overridden,
and exit with the command's exit code (126: it cannot be run, 127: not
found). -i passes standard input on, -t gives it a terminal; with -d it
runs in the background, its output discarded.`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runContainerExec(cmd, g, opts, args[0], args[1:])
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.BoolVarP(&opts.interactive, "interactive", "i", false, "Keep standard input open and pass it on")
	f.BoolVarP(&opts.tty, "tty", "t", false, "Allocate a pseudo-terminal")
	f.BoolVarP(&opts.detach, "detach", "d", false, "Run the command in the background")
	f.BoolVar(&opts.privileged, "privileged", false, "Give the command every capability")
	f.StringVarP(&opts.user, "user", "u", "", "Run as this user (name or uid[:gid])")
	f.StringVarP(&opts.workdir, "workdir", "w", "", "Working directory inside the container")
	f.StringArrayVarP(&opts.env, "env", "e", nil, "Set an environment variable (KEY=VALUE, or KEY for the shell's value)")
	return cmd
}

func runContainerExec(cmd *cobra.Command, g *globalOptions, opts containerExecOptions, ref string, args []string) error {
	ctx := cmd.Context()
	if opts.tty && opts.interactive && !opts.detach && !isTerminal(os.Stdin) {
		return exitError{code: 1, err: errNotATTY}
	}
	rt, c, err := g.connectAndFind(ctx, ref)
	if err != nil {
		return err
	}
	defer rt.Close()
	if c.State != scheduler.StateRunning {
		return fmt.Errorf("container %s is not running", scheduler.ContainerID(c))
	}
	env, err := compose.ParseEnvArgs("exec -e", opts.env, os.LookupEnv)
	if err != nil {
		return err
	}
	req := containerd.ExecRequest{
		Args: args, Env: compose.EnvList(env), User: opts.user, WorkDir: opts.workdir,
		TTY: opts.tty && !opts.detach && isTerminal(os.Stdin) && isTerminal(os.Stdout), Privileged: opts.privileged, Detach: opts.detach,
		Stdout: cmd.OutOrStdout(), Stderr: cmd.ErrOrStderr(),
	}
	if opts.interactive {
		req.Stdin = cmd.InOrStdin()
	}
	code, err := rt.Exec(ctx, c, req)
	if err != nil {
		return startError(err)
	}
	if code != 0 {
		return exitError{code: code}
	}
	return nil
}
