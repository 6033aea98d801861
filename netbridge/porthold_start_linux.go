package netbridge

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/google/nftables"

	"github.com/berth/berth/scheduler"
)

var _ scheduler.PortHolder = (*Networks)(nil)

// ReleasePorts implements scheduler.PortHolder: the stopped container's
// port rules go and its bindings are marked stopped, so that the project's
// DNS daemon closes the sockets it holds on their host ports. It returns
// once the ports are free (or after releaseWait, when a socket of the
// daemon lingers), so that a program started after berth stop can bind
// them.
func (n *Networks) ReleasePorts(ctx context.Context, _, container string) error {
	changed, err := n.bridges.IPAM.markPorts(container, true)
	if err != nil || len(changed) == 0 {
		return err
	}
	if err := withNFT(func(t *nft) error {
		if err := t.deleteRules(portTag(n.bridges.scoped(container))); err != nil {
			return err
		}
		return t.dropTableIfEmpty()
	}); err != nil {
		return fmt.Errorf("container %s: remove its port rules: %w", container, err)
	}
	waitReleased(ctx, changed)
	return nil
}

// HoldPorts implements scheduler.PortHolder: the host ports of a container
// about to start again are checked free, then held and forwarded again. A
// port another program took meanwhile fails the start, naming it.
func (n *Networks) HoldPorts(_ context.Context, _, container string) error {
	bindings, err := n.bridges.IPAM.Ports(container)
	if err != nil {
		return err
	}
	for _, b := range bindings {
		if !b.Stopped {
			continue
		}
		if err := probe(b.HostIP, b.HostPort, b.Protocol); err != nil {
			return fmt.Errorf("container %s: port %s is already in use on the host%s: free it or change the port", container, b, holderOf(b.HostPort, b.Protocol))
		}
	}
	if _, err := n.bridges.IPAM.markPorts(container, false); err != nil {
		return err
	}
	if len(bindings) == 0 {
		return nil
	}
	return withNFT(func(t *nft) error {
		var rules []*nftables.Rule
		for _, b := range bindings {
			b.Container = n.bridges.scoped(b.Container) // its rules' tag
			rules = append(rules, portRules(t.table, t.pre, t.out, b)...)
		}
		return t.setRules(portTag(n.bridges.scoped(container)), rules)
	})
}

// markPorts sets the Stopped mark of a container's bindings and returns
// those it changed.
func (m *IPAM) markPorts(container string, stopped bool) ([]PortBinding, error) {
	var changed []PortBinding
	err := m.update(func(st *ipamState) error {
		for i := range st.Ports {
			if b := &st.Ports[i]; b.Container == container && b.Stopped != stopped {
				b.Stopped = stopped
				changed = append(changed, *b)
			}
		}
		if len(changed) == 0 {
			return errUnchanged
		}
		return nil
	})
	return changed, err
}

// releaseWait bounds how long ReleasePorts waits for the DNS daemon to
// close its sockets (it does on its next reload, within milliseconds).
const releaseWait = 3 * time.Second

// waitReleased waits until each binding's host port can be bound by a
// program that does not share it (no SO_REUSEPORT), until releaseWait.
func waitReleased(ctx context.Context, bindings []PortBinding) {
	ctx, cancel := context.WithTimeout(ctx, releaseWait)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for _, b := range bindings {
		for !bindable(b) {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}
}

// bindable reports whether a plain socket can bind the binding's host port.
func bindable(b PortBinding) bool {
	host := ""
	if b.HostIP.IsValid() {
		host = b.HostIP.String()
	}
	addr := net.JoinHostPort(host, strconv.Itoa(int(b.HostPort)))
	if b.Protocol == "udp" {
		c, err := net.ListenPacket("udp4", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}
	l, err := net.Listen("tcp4", addr)
	if err == nil {
		l.Close()
	}
	return err == nil
}
