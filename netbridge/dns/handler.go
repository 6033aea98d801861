package dns

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Records is what a Handler answers from; *Table implements it.
type Records interface {
	Lookup(src netip.Addr, name string) []netip.Addr
	Reverse(src, addr netip.Addr) []string
	Known(src netip.Addr) bool
}

// Forwarder resolves the names a Handler does not know.
type Forwarder interface {
	Forward(ctx context.Context, r *dns.Msg) (*dns.Msg, error)
}

// Handler answers DNS queries for one network's clients: A, AAAA and PTR
// from Records, everything else through Forward. With no Forward (an
// internal network) unknown names are NXDOMAIN.
type Handler struct {
	Records Records
	Forward Forwarder
	// TTL of berth's own answers: short, so that recreated containers are
	// found at once.
	TTL uint32
	// Shuffle orders the addresses of a name with several (replicas): round
	// robin for clients that take the first. Nil keeps them sorted.
	Shuffle func([]netip.Addr)
	// ForwardTimeout bounds a forwarded query (default 2 s).
	ForwardTimeout time.Duration
}

var _ dns.Handler = (*Handler)(nil)

// ServeDNS implements dns.Handler. An answer that does not fit what the
// client takes over UDP (replySize) is cut to what fits, with TC set, so
// that the client asks again over TCP, which the daemon serves on the same
// address: many replicas of a service make answers of more than 512 bytes.
func (h *Handler) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	m := h.answer(sourceAddr(w.RemoteAddr()), r)
	if r.IsEdns0() != nil && m.IsEdns0() == nil {
		m.SetEdns0(ednsSize, false) // RFC 6891: an EDNS query gets an EDNS answer
	}
	m.Truncate(replySize(w.RemoteAddr(), r))
	// A failed write means the client is gone; there is nobody to tell.
	_ = w.WriteMsg(m)
}

// ednsSize is the largest UDP answer berth sends to a client that
// advertises a larger buffer: the DNS Flag Day 2020 size, which no path
// fragments.
const ednsSize = 1232

// replySize is the largest answer a client takes: over TCP a whole
// message; over UDP 512 bytes, or the EDNS0 buffer size its query
// advertises, up to ednsSize.
func replySize(remote net.Addr, r *dns.Msg) int {
	if _, tcp := remote.(*net.TCPAddr); tcp {
		return dns.MaxMsgSize
	}
	if opt := r.IsEdns0(); opt != nil {
		return max(dns.MinMsgSize, min(int(opt.UDPSize()), ednsSize))
	}
	return dns.MinMsgSize
}

func (h *Handler) answer(src netip.Addr, r *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(r)
	m.RecursionAvailable = true
	if len(r.Question) != 1 || !src.IsValid() || !h.Records.Known(src) {
		m.Rcode = dns.RcodeRefused
		return m
	}
	q := r.Question[0]
	name := q.Name
	switch q.Qtype {
	case dns.TypeA, dns.TypeAAAA, dns.TypeANY:
		if addrs := h.Records.Lookup(src, name); len(addrs) > 0 {
			m.Authoritative = true
			if q.Qtype != dns.TypeAAAA { // berth's networks are IPv4 only: no AAAA, but the name exists
				if h.Shuffle != nil {
					h.Shuffle(addrs)
				}
				for _, a := range addrs {
					m.Answer = append(m.Answer, h.a(name, a))
				}
			}
			return m
		}
	case dns.TypePTR:
		if addr, ok := reverseAddr(name); ok {
			if names := h.Records.Reverse(src, addr); len(names) > 0 {
				m.Authoritative = true
				for _, n := range names {
					m.Answer = append(m.Answer, &dns.PTR{Hdr: h.hdr(name, dns.TypePTR), Ptr: dns.Fqdn(n)})
				}
				return m
			}
		}
	}
	return h.forward(r, m)
}

func (h *Handler) forward(r, m *dns.Msg) *dns.Msg {
	if h.Forward == nil {
		m.Rcode = dns.RcodeNameError
		return m
	}
	timeout := h.ForwardTimeout
	if timeout == 0 {
		timeout = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	resp, err := h.Forward.Forward(ctx, r)
	if err != nil || resp == nil {
		m.Rcode = dns.RcodeServerFailure
		return m
	}
	resp.Id = r.Id
	return resp
}

func (h *Handler) hdr(name string, t uint16) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: h.TTL}
}

func (h *Handler) a(name string, addr netip.Addr) dns.RR {
	return &dns.A{Hdr: h.hdr(name, dns.TypeA), A: net.IP(addr.AsSlice())}
}

// reverseAddr reads "4.3.2.1.in-addr.arpa." as 1.2.3.4.
func reverseAddr(name string) (netip.Addr, bool) {
	rest, ok := strings.CutSuffix(strings.ToLower(dns.Fqdn(name)), ".in-addr.arpa.")
	if !ok {
		return netip.Addr{}, false
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 4 {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(parts[3] + "." + parts[2] + "." + parts[1] + "." + parts[0])
	return a, err == nil
}

// sourceAddr is the client's address from a UDP or TCP remote address.
func sourceAddr(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.UDPAddr:
		addr, _ := netip.AddrFromSlice(a.IP)
		return addr.Unmap()
	case *net.TCPAddr:
		addr, _ := netip.AddrFromSlice(a.IP)
		return addr.Unmap()
	}
	return netip.Addr{}
}
