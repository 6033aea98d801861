package netbridge

import (
	"context"
	"errors"
	"fmt"
	"log"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	mdns "github.com/miekg/dns"
	"golang.org/x/sys/unix"

	"github.com/berth/berth/netbridge/dns"
)

// DNSDaemon serves the embedded DNS of one project's networks: a server on
// each network's gateway address, port 53 (never on 0.0.0.0: it must not
// become an open resolver), answering from the endpoints in the IPAM state.
// It reloads whenever the state file changes (inotify, no polling) and
// returns once the project has no network left, which is how down stops it.
type DNSDaemon struct {
	Project string
	IPAM    *IPAM
	// Upstream resolves other names; nil means none (every unknown name is NXDOMAIN).
	Upstream dns.Forwarder
	Log      *log.Logger

	table   *dns.Table
	servers map[string]*gatewayServers
	ports   portHolder
}

type gatewayServers struct {
	gateway  netip.Addr
	udp, tcp *mdns.Server
}

// stateEvents are the inotify events of the state file's directory that
// make the daemon reload. The state file is only ever replaced by rename
// (IN_MOVED_TO), or removed by hand (IN_DELETE); readers, the daemon
// included, neither write nor rename anything there, so each such event
// is a real change and reloading causes none.
const stateEvents = unix.IN_MOVED_TO | unix.IN_DELETE

// retryListen is how soon a reload that failed (a gateway address not on
// its bridge yet) is tried again.
const retryListen = 100 * time.Millisecond

// Run serves until ctx ends or the project has no network left.
func (d *DNSDaemon) Run(ctx context.Context, ready func()) error {
	d.table = dns.NewTable()
	d.servers = map[string]*gatewayServers{}
	defer d.stopAll()

	// Non-blocking, so that reads honour deadlines (the retry below).
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return fmt.Errorf("dns: inotify: %w", err)
	}
	watch := os.NewFile(uintptr(fd), "inotify")
	defer watch.Close()
	dir := filepath.Dir(d.IPAM.path)
	// On a fresh data dir the state's directory is made with the first
	// network: a project with none (network_mode: host or none) is
	// watched all the same.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("dns: %w", err)
	}
	if _, err := unix.InotifyAddWatch(fd, dir, stateEvents); err != nil {
		return fmt.Errorf("dns: watch %s: %w", dir, err)
	}
	go func() { <-ctx.Done(); watch.Close() }()

	buf := make([]byte, 4096)
	first := true
	var lastErr string
	for {
		left, err := d.reload()
		if err != nil && err.Error() != lastErr { // retries say it once
			d.Log.Printf("reload: %v", err)
		}
		lastErr = ""
		if err != nil {
			lastErr = err.Error()
		}
		if first {
			first = false
			if ready != nil {
				ready()
			}
		}
		if err == nil && left == 0 {
			d.Log.Printf("project %s has no network left: exiting", d.Project)
			return nil
		}
		// A network's subnet is in the state a moment before its gateway
		// address is on the bridge: a server that could not listen is
		// tried again shortly, not only at the next change.
		var deadline time.Time
		if err != nil {
			deadline = time.Now().Add(retryListen)
		}
		watch.SetReadDeadline(deadline) //nolint:errcheck // the fd is pollable (non-blocking)
		// A read takes the events queued since the last reload (or an
		// IN_Q_OVERFLOW), as many as fit: one reload serves them all.
		if _, err := watch.Read(buf); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("dns: watch %s: %w", dir, err)
		}
	}
}

// reload reads the state, updates the table and starts or stops servers;
// it returns how many networks the project has.
func (d *DNSDaemon) reload() (int, error) {
	views, err := d.IPAM.Networks()
	if err != nil {
		return -1, err
	}
	mine := map[string]NetworkView{}
	for name, v := range views {
		if v.Project == d.Project {
			mine[name] = v
		}
	}
	for name, gs := range d.servers {
		if v, ok := mine[name]; !ok || v.Subnet.Gateway != gs.gateway {
			gs.stop()
			delete(d.servers, name)
			d.table.Remove(name)
		}
	}
	var errs []error
	// The published ports of the project's containers are held while
	// they are published (the project's networks are here).
	containers := map[string]bool{}
	for _, v := range mine {
		for c := range v.Addresses {
			containers[c] = true
		}
	}
	if ports, err := d.IPAM.ProjectPorts(containers); err != nil {
		errs = append(errs, err)
	} else if err := d.ports.sync(ports); err != nil {
		errs = append(errs, err)
	}
	for name, v := range mine {
		d.table.Set(name, v.Subnet.Prefix, Entries(v))
		if _, ok := d.servers[name]; ok {
			continue
		}
		var fwd dns.Forwarder
		if !v.Internal && d.Upstream != nil {
			fwd = d.Upstream
		}
		h := &dns.Handler{Records: d.table, Forward: fwd, Shuffle: shuffle}
		gs, err := listen(v.Subnet.Gateway, h)
		if err != nil {
			errs = append(errs, fmt.Errorf("network %s: %w", name, err))
			continue
		}
		d.servers[name] = gs
		d.Log.Printf("serving network %s on %s:53", name, v.Subnet.Gateway)
	}
	return len(mine), errors.Join(errs...)
}

// Entries are a network's DNS entries: each container's address with its names.
func Entries(v NetworkView) []dns.Entry {
	containers := make([]string, 0, len(v.Addresses))
	for c := range v.Addresses {
		containers = append(containers, c)
	}
	sort.Strings(containers)
	out := make([]dns.Entry, 0, len(containers))
	for _, c := range containers {
		kept, links := splitLinks(v.Names[c])
		names := append([]string{c}, kept...)
		out = append(out, dns.Entry{Addr: v.Addresses[c], Names: names, Container: c, Links: links})
	}
	return out
}

func shuffle(a []netip.Addr) { rand.Shuffle(len(a), func(i, j int) { a[i], a[j] = a[j], a[i] }) }

// listen serves h over UDP and TCP on the gateway address, port 53.
func listen(gw netip.Addr, h mdns.Handler) (*gatewayServers, error) {
	// IPAM refuses such subnets; never serve on the host's own addresses.
	if !gw.Is4() || gw.IsLoopback() || gw.IsUnspecified() || gw.IsMulticast() || gw.IsLinkLocalUnicast() {
		return nil, fmt.Errorf("refusing to serve DNS on %s: not a usable gateway address", gw)
	}
	addr := net.JoinHostPort(gw.String(), "53")
	pc, err := net.ListenPacket("udp4", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s/udp: %w", addr, err)
	}
	l, err := net.Listen("tcp4", addr)
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("listen on %s/tcp: %w", addr, err)
	}
	gs := &gatewayServers{gateway: gw, udp: &mdns.Server{PacketConn: pc, Handler: h}, tcp: &mdns.Server{Listener: l, Handler: h}}
	var wg sync.WaitGroup
	wg.Add(2)
	gs.udp.NotifyStartedFunc = wg.Done
	gs.tcp.NotifyStartedFunc = wg.Done
	go gs.udp.ActivateAndServe() //nolint:errcheck // ends with Shutdown
	go gs.tcp.ActivateAndServe() //nolint:errcheck // ends with Shutdown
	wg.Wait()
	return gs, nil
}

func (gs *gatewayServers) stop() {
	gs.udp.Shutdown() //nolint:errcheck // closing a server that is going away
	gs.tcp.Shutdown() //nolint:errcheck
}

func (d *DNSDaemon) stopAll() {
	for _, gs := range d.servers {
		gs.stop()
	}
	d.ports.closeAll()
}
