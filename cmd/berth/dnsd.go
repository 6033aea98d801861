package main

import (
	"bytes"
	"context"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/berth/berth/netbridge"
	"github.com/berth/berth/runstate"
	"github.com/berth/berth/scheduler"
)

// newDNSDaemonCmd is the hidden command up starts in the background for a
// project: it serves DNS on the project's networks and supervises the
// project's containers (healthchecks, restart policies) until the project
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
			rec := runstate.Recorder{RunDir: runDir(), Project: project, Pid: os.Getpid(), Log: logger}
			supervise := func(ctx context.Context, dnsDone func() bool, poke <-chan struct{}, ready func()) error {
				rt, err := g.reconnecting(ctx)
				if err != nil {
					rec.Stopped()
					return err
				}
				defer rt.Close()
				s := &scheduler.Supervisor{
					Project: project, Runtime: rt, Connect: rt.SupervisorConnect, State: rec.Supervisor,
					Clock: scheduler.RealClock{}, Log: logger, Done: dnsDone, Poke: poke, Ready: ready,
					Debug: os.Getenv("BERTH_DEBUG") != "",
				}
				if err := s.Run(ctx); err != nil {
					rec.Stopped()
					return err
				}
				return nil
			}
			ctx, stop := context.WithCancel(cmd.Context())
			defer stop()
			// Beside its log, removed with it when the project is down.
			go dumpGoroutines(ctx, filepath.Join(filepath.Dir(netbridge.DNSLogPath(runDir(), project)), "goroutines"))
			return netbridge.RunDNSDaemon(ctx, project, dataDir(), runDir(), upstreams, supervise)
		},
	}
}

// dumpGoroutines writes the process's goroutines to path (Go's profile
// with debug=1, whose first line is "goroutine profile: total N") each
// time the process gets SIGUSR1, until ctx ends: how one sees what a
// project process that ran for months holds, and how the soak test counts
// its goroutines. The file is replaced whole, never seen half-written.
func dumpGoroutines(ctx context.Context, path string) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	defer signal.Stop(sig)
	for {
		select {
		case <-ctx.Done():
			return
		case <-sig:
		}
		var b bytes.Buffer
		if err := pprof.Lookup("goroutine").WriteTo(&b, 1); err != nil {
			log.Printf("goroutine profile: %v", err)
			continue
		}
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, b.Bytes(), 0o600); err != nil {
			log.Printf("goroutine profile: %v", err)
			continue
		}
		if err := os.Rename(tmp, path); err != nil {
			log.Printf("goroutine profile: %v", err)
		}
	}
}
