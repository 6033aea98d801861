package main

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berth/berth/netbridge"
)

func newContainerPortCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "port CONTAINER [PRIVATE_PORT[/PROTO]]",
		Short: "List port mappings or a specific mapping for the container",
		Long: `Print where the container's ports are published on the host, as docker port
does: every mapping ("80/tcp -> 0.0.0.0:8080"), or the host addresses of
one port ("0.0.0.0:8080").`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			private := ""
			if len(args) == 2 {
				private = args[1]
			}
			return runContainerPort(cmd, g, args[0], private)
		},
	}
}

func runContainerPort(cmd *cobra.Command, g *globalOptions, ref, private string) error {
	c, err := g.findContainer(cmd.Context(), ref)
	if err != nil {
		return err
	}
	nets, err := g.networks()
	if err != nil {
		return err
	}
	bindings, err := nets.Ports(c.ID)
	if err != nil {
		return err
	}
	return printPorts(cmd.OutOrStdout(), c.Name, bindings, private)
}

// printPorts prints the mappings as docker port does; private narrows
// them to one port ("80", "80/tcp"), which must be published.
func printPorts(w io.Writer, container string, bindings []netbridge.PortBinding, private string) error {
	sort.Slice(bindings, func(i, j int) bool {
		if bindings[i].ContainerPort != bindings[j].ContainerPort {
			return bindings[i].ContainerPort < bindings[j].ContainerPort
		}
		return bindings[i].Protocol < bindings[j].Protocol
	})
	host := func(b netbridge.PortBinding) string {
		ip := "0.0.0.0"
		if b.HostIP.IsValid() {
			ip = b.HostIP.String()
		}
		return ip + ":" + strconv.Itoa(int(b.HostPort))
	}
	if private == "" {
		for _, b := range bindings {
			fmt.Fprintf(w, "%d/%s -> %s\n", b.ContainerPort, b.Protocol, host(b))
		}
		return nil
	}
	portText, proto, ok := strings.Cut(private, "/")
	if !ok {
		proto = "tcp"
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return fmt.Errorf("invalid port %q: give the container's port, as 80 or 53/udp", private)
	}
	found := false
	for _, b := range bindings {
		if uint64(b.ContainerPort) == port && b.Protocol == proto {
			fmt.Fprintln(w, host(b))
			found = true
		}
	}
	if !found {
		return fmt.Errorf("no public port '%d/%s' published for %s", port, proto, container)
	}
	return nil
}
