package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/containerd/errdefs"
	"github.com/spf13/cobra"

	"github.com/berth/berth/hostproc"
	"github.com/berth/berth/scheduler"
)

func newTopCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "top [SERVICE...]",
		Short: "Show the processes running in the services' containers",
		Long: `For each running (or paused) container of the project, or of the named
services, print its name, then its processes as "ps -ef" shows them:
UID PID PPID C STIME TTY TIME CMD, as docker compose top does.

The processes are those of the container's task (its cgroup), read from
the host's /proc: PIDs are the host's, and UID is the user's name on the
host (or its number), not in the container. C is the CPU use over the
process's lifetime; use berth stats for the current one.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTop(cmd, g, args)
		},
	}
}

func runTop(cmd *cobra.Command, g *globalOptions, services []string) error {
	ctx := cmd.Context()
	_, rt, cs, err := g.projectContainers(ctx, services)
	if err != nil {
		return err
	}
	defer rt.Close()
	now := time.Now()
	for _, c := range scheduler.RunningContainers(cs, services) {
		pids, err := rt.Pids(ctx, c)
		if errdefs.IsNotFound(err) {
			continue // it stopped meanwhile
		}
		if err != nil {
			return err
		}
		procs, err := hostproc.Host.Processes(pids, now, hostproc.UserName)
		if err != nil {
			return fmt.Errorf("container %s: %w", c.Name, err)
		}
		if err := printTop(cmd.OutOrStdout(), c.Name, procs); err != nil {
			return err
		}
	}
	return nil
}

// printTop writes a container's name, then its processes' table and an
// empty line, as docker compose top does.
func printTop(out io.Writer, name string, procs []hostproc.Process) error {
	fmt.Fprintln(out, name)
	tw := tabwriter.NewWriter(out, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "UID\tPID\tPPID\tC\tSTIME\tTTY\tTIME\tCMD")
	for _, p := range procs {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\n", p.UID, p.PID, p.PPID, p.C, p.STime, p.TTY, p.Time, p.CMD)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(out)
	return err
}
