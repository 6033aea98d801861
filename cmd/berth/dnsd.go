package main

import (
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berth/berth/netbridge"
)

// newDNSDaemonCmd is the hidden command up starts in the background for a
// project: it serves DNS on the project's networks until none is left.
func newDNSDaemonCmd() *cobra.Command {
	return &cobra.Command{
		Use:    netbridge.DNSCommand + " PROJECT",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var upstreams []string
			if v := os.Getenv("BERTH_DNS_UPSTREAM"); v != "" {
				upstreams = strings.Split(v, ",")
			}
			return netbridge.RunDNSDaemon(cmd.Context(), args[0], dataDir(), runDir(), upstreams)
		},
	}
}
