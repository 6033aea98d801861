package main

import (
	"github.com/spf13/cobra"

	"github.com/berth/berth/containerd"
)

// newLogDriverCmd is the hidden command containerd's shim runs to write a
// container's output to its log file: `berth __logdriver PATH`.
func newLogDriverCmd() *cobra.Command {
	return &cobra.Command{
		Use:    containerd.LogDriverCommand + " PATH",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		Run: func(_ *cobra.Command, args []string) {
			containerd.RunLogDriver(args[0])
		},
	}
}
