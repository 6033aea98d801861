package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

type portOptions struct {
	protocol string
	index    int
}

func newPortCmd(g *globalOptions) *cobra.Command {
	opts := portOptions{}
	cmd := &cobra.Command{
		Use:   "port [OPTIONS] SERVICE PRIVATE_PORT",
		Short: "Print the host address and port a service's port is published on",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPort(cmd, g, opts, args[0], args[1])
		},
	}
	cmd.Flags().StringVar(&opts.protocol, "protocol", "tcp", "tcp or udp")
	cmd.Flags().IntVar(&opts.index, "index", 1, "Replica number, when the service has several")
	return cmd
}

func runPort(cmd *cobra.Command, g *globalOptions, opts portOptions, service, private string) error {
	port, err := strconv.ParseUint(strings.TrimSuffix(private, "/"+opts.protocol), 10, 16)
	if err != nil {
		return fmt.Errorf("port %q: give the container's port number, e.g. 80", private)
	}
	_, rt, cs, err := g.projectContainers(cmd.Context(), []string{service})
	if err != nil {
		return err
	}
	rt.Close()
	nets, err := g.networks()
	if err != nil {
		return err
	}
	for _, c := range cs {
		if c.Labels.Service() != service || c.Labels.Number() != opts.index || c.Labels.OneOff() {
			continue
		}
		bindings, err := nets.Ports(c.ID)
		if err != nil {
			return err
		}
		for _, b := range bindings {
			if uint64(b.ContainerPort) == port && b.Protocol == opts.protocol {
				host := "0.0.0.0"
				if b.HostIP.IsValid() {
					host = b.HostIP.String()
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s:%d\n", host, b.HostPort)
				return nil
			}
		}
		return fmt.Errorf("service %q does not publish port %d/%s", service, port, opts.protocol)
	}
	return fmt.Errorf("service %q has no container number %d", service, opts.index)
}
