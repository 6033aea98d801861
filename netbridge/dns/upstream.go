package dns

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Upstream forwards queries to the host's resolvers, one after the other,
// each try bounded, the whole bounded by the caller's context. On an
// offline host an unknown name therefore fails within the context's
// deadline instead of after the usual 5-second retries.
type Upstream struct {
	// Servers are host:port addresses.
	Servers []string
	// TryTimeout bounds each server's try (default 1 s).
	TryTimeout time.Duration
}

var _ Forwarder = (*Upstream)(nil)

// Forward implements Forwarder.
func (u *Upstream) Forward(ctx context.Context, r *dns.Msg) (*dns.Msg, error) {
	if len(u.Servers) == 0 {
		return nil, errors.New("no upstream DNS servers")
	}
	try := u.TryTimeout
	if try == 0 {
		try = time.Second
	}
	var last error
	for _, s := range u.Servers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c := &dns.Client{Net: "udp", Timeout: try}
		resp, _, err := c.ExchangeContext(ctx, r, s)
		if err == nil && resp != nil && resp.Truncated {
			c.Net = "tcp"
			resp, _, err = c.ExchangeContext(ctx, r, s)
		}
		if err == nil && resp != nil {
			return resp, nil
		}
		last = err
	}
	return nil, fmt.Errorf("no upstream DNS server answered: %w", last)
}

// HostResolvers returns the nameservers of the host's resolv.conf as
// host:53 addresses. With systemd-resolved's stub (127.0.0.53) it reads
// resolved's own list of upstream servers instead.
func HostResolvers(resolvConf string) ([]string, error) {
	servers, err := nameservers(resolvConf)
	if err != nil {
		return nil, err
	}
	for _, s := range servers {
		if s == netip.MustParseAddr("127.0.0.53") {
			if real, err := nameservers("/run/systemd/resolve/resolv.conf"); err == nil && len(real) > 0 {
				servers = real
			}
			break
		}
	}
	out := make([]string, 0, len(servers))
	for _, s := range servers {
		out = append(out, net.JoinHostPort(s.String(), "53"))
	}
	return out, nil
}

func nameservers(path string) ([]netip.Addr, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read resolvers: %w", err)
	}
	var out []netip.Addr
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "nameserver" {
			if a, err := netip.ParseAddr(strings.SplitN(f[1], "%", 2)[0]); err == nil {
				out = append(out, a)
			}
		}
	}
	return out, nil
}
