package main

import (
	"context"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berth/berth/containerd"
	"github.com/berth/berth/netbridge"
	"github.com/berth/berth/runstate"
	"github.com/berth/berth/scheduler"
)

// newDNSDaemonCmd is the hidden command up starts in the background for a
// project: it serves DNS on the project's networks and supervises the
// project's containers (healthchecks, restart policies) and collects their
// output into their log files (containerd.LogCollector) until the project
// is down. It records whether it supervises (runstate) for up and ps.
func newDNSDaemonCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:    netbridge.DNSCommand + " PROJECT",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var upstreams []string
			if v := os.Getenv("BERTH_DNS_UPSTREAM"); v != "" {
				upstreams = strings.Split(v, ",")
			}
			project := args[0]
			logger := log.New(os.Stderr, "supervisor: ", log.LstdFlags)
			rec := runstate.Recorder{RunDir: g.namespaceRunDir(), Project: project, Pid: os.Getpid(), Log: logger}
			supervise := func(ctx context.Context, dnsDone func() bool, poke <-chan struct{}, ready func()) error {
				rt, err := g.reconnecting(ctx)
				if err != nil {
					rec.Stopped()
					return err
				}
				defer rt.Close()
				nw, err := g.networks()
				if err != nil {
					rec.Stopped()
					return err
				}
				s := &scheduler.Supervisor{
					Project: project, Runtime: rt, Connect: rt.SupervisorConnect, State: rec.Supervisor,
					Clock: scheduler.RealClock{}, Log: logger, Done: dnsDone, Poke: poke, Ready: ready,
					Debug: os.Getenv("BERTH_DEBUG") != "",
					Remove: func(ctx context.Context, c scheduler.Container) error {
						return scheduler.RemoveExited(ctx, rt, nw, c)
					},
					ReleasePorts: func(ctx context.Context, c scheduler.Container) error {
						return nw.ReleasePorts(ctx, project, c.ID)
					},
					Awaited: func() map[string]bool { return runstate.Awaited(g.namespaceRunDir(), project) },
				}
				if err := s.Run(ctx); err != nil {
					rec.Stopped()
					return err
				}
				return nil
			}
			ctx, stop := context.WithCancel(cmd.Context())
			defer stop()
			// The output of the project's containers: read from their
			// FIFOs into their log files for as long as this process runs.
			// It takes the tasks handed over to it before this process
			// counts as started.
			collector, err := containerd.NewLogCollector(containerd.TaskIODir(runDir(), g.namespace), project, log.New(os.Stderr, "logs: ", log.LstdFlags))
			if err != nil {
				return err
			}
			collected := make(chan struct{})
			defer func() { stop(); <-collected }()
			go func() {
				defer close(collected)
				collector.Run(ctx)
			}()
			// Beside its log, removed with it when the project is down.
			go runstate.DumpGoroutinesOnSignal(ctx, filepath.Join(filepath.Dir(netbridge.DNSLogPath(g.namespaceRunDir(), project)), "goroutines"), logger)
			return netbridge.RunDNSDaemon(ctx, project, g.namespaceDataDir(), g.namespaceRunDir(), upstreams, supervise)
		},
	}
}
