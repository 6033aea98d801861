package main

import (
	"context"
	"log"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berth/berth/netbridge"
	"github.com/berth/berth/scheduler"
)

// newDNSDaemonCmd is the hidden command up starts in the background for a
// project: it serves DNS on the project's networks and supervises the
// project's containers (healthchecks, restart policies) until the project
// is down.
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
			supervise := func(ctx context.Context, dnsDone func() bool, poke <-chan struct{}, ready func()) error {
				rt, err := g.connect(ctx, scheduler.Discard)
				if err != nil {
					return err
				}
				defer rt.Close()
				s := &scheduler.Supervisor{
					Project: project, Runtime: rt, Clock: scheduler.RealClock{},
					Log: log.New(os.Stderr, "supervisor: ", log.LstdFlags), Done: dnsDone, Poke: poke, Ready: ready,
					Debug: os.Getenv("BERTH_DEBUG") != "",
				}
				return s.Run(ctx)
			}
			return netbridge.RunDNSDaemon(cmd.Context(), project, dataDir(), runDir(), upstreams, supervise)
		},
	}
}
