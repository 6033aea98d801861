package netbridge

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
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
	changed, err := n.bridges.IPAM.stopPorts(container)
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
	changed, err := n.bridges.IPAM.resumePorts(container)
	if err != nil || len(changed) == 0 {
		return err
	}
	bindings, err := n.bridges.IPAM.Ports(container)
	if err != nil {
		return err
	}
	if err := withNFT(func(t *nft) error {
		var rules []*nftables.Rule
		for _, b := range bindings {
			b.Container = n.bridges.scoped(b.Container) // its rules' tag
			rules = append(rules, portRules(t.table, t.pre, t.out, b)...)
		}
		return t.setRules(portTag(n.bridges.scoped(container)), rules)
	}); err != nil {
		n.bridges.IPAM.stopPorts(container) //nolint:errcheck // rollback: the start fails with the error below
		return fmt.Errorf("container %s: forward its ports: %w", container, err)
	}
	return nil
}

// The containers whose ports are released (stopped) are kept in a file of
// their own beside the IPAM state, not in it: berth binaries of before
// this (a project's daemon still running them) rewrite the state without
// fields they do not know. It is written under the state's lock, by
// rename, which the DNS daemon sees and reloads on.

func (m *IPAM) stoppedPath() string { return m.path + ".stopped" }

// readStopped returns the containers whose ports are released.
func (m *IPAM) readStopped() (map[string]bool, error) {
	out := map[string]bool{}
	b, err := os.ReadFile(m.stoppedPath())
	switch {
	case errors.Is(err, os.ErrNotExist):
		return out, nil
	case err != nil:
		return nil, fmt.Errorf("ipam: %w", err)
	}
	var names []string
	if err := json.Unmarshal(b, &names); err != nil {
		return nil, fmt.Errorf("ipam: %s is damaged (%v): remove it", m.stoppedPath(), err)
	}
	for _, n := range names {
		out[n] = true
	}
	return out, nil
}

// writeStopped replaces the set; the state's lock is held (update).
func (m *IPAM) writeStopped(stopped map[string]bool) error {
	names := sortedKeys(stopped)
	if names == nil {
		names = []string{}
	}
	b, err := json.Marshal(names)
	if err != nil {
		return fmt.Errorf("ipam: %w", err)
	}
	tmp := m.stoppedPath() + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("ipam: %w", err)
	}
	if err := os.Rename(tmp, m.stoppedPath()); err != nil {
		return fmt.Errorf("ipam: %w", err)
	}
	return nil
}

// stopPorts marks a container's ports released and returns its bindings
// (none when it has none, or they were released already).
func (m *IPAM) stopPorts(container string) ([]PortBinding, error) {
	var changed []PortBinding
	err := m.update(func(st *ipamState) error {
		stopped, err := m.readStopped()
		if err != nil || stopped[container] {
			return cmp.Or(err, errUnchanged)
		}
		for _, b := range st.Ports {
			if b.Container == container {
				changed = append(changed, b)
			}
		}
		if len(changed) > 0 {
			stopped[container] = true
			if err := m.writeStopped(stopped); err != nil {
				return err
			}
		}
		return errUnchanged // the state itself is as it was
	})
	return changed, err
}

// resumePorts takes a container's released ports back, once it checked
// that their host ports are still free: no other container of berth's
// publishes them now, and no socket on the host has them. It returns the
// bindings it took back (none when they were not released).
func (m *IPAM) resumePorts(container string) ([]PortBinding, error) {
	var changed []PortBinding
	err := m.update(func(st *ipamState) error {
		stopped, err := m.readStopped()
		if err != nil || !stopped[container] {
			return cmp.Or(err, errUnchanged)
		}
		for _, b := range st.Ports {
			if b.Container != container {
				continue
			}
			for _, o := range st.Ports {
				if o.Container != container && !stopped[o.Container] && o.overlaps(b) {
					return fmt.Errorf("container %s: port %s is already published by berth for container %s: stop it or change the port", container, b, o.Container)
				}
			}
			if err := probe(b.HostIP, b.HostPort, b.Protocol); err != nil {
				return fmt.Errorf("container %s: port %s is already in use on the host%s: free it or change the port", container, b, holderOf(b.HostPort, b.Protocol))
			}
			changed = append(changed, b)
		}
		delete(stopped, container)
		if err := m.writeStopped(stopped); err != nil {
			return err
		}
		return errUnchanged
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
