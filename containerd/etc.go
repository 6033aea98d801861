package containerd

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/scheduler"
)

// etcFiles are what a container's /etc/hosts, hostname and resolv.conf
// are made of.
type etcFiles struct {
	Hostname, Domainname string
	// HostResolvConf is the host's resolv.conf.
	HostResolvConf []byte
	// Nameservers replace the host's when given (berth's DNS server);
	// ExtraNameservers (the service's dns) follow them.
	Nameservers, ExtraNameservers []string
	// Search and Options replace the host's when given.
	Search, Options []string
	// ExtraHosts are added to /etc/hosts.
	ExtraHosts []hostLine
}

type hostLine struct{ Addr, Name string }

// etcFor is what the /etc files of container name of service s are made
// of: its nameservers (berth's DNS) and the address host-gateway stands for.
func etcFor(s *compose.Service, name string, nameservers []string, hostGateway string) (etcFiles, error) {
	hostResolv, _ := os.ReadFile("/etc/resolv.conf")
	etc := etcFiles{
		Hostname: hostnameFor(s, name), Domainname: s.Domainname, HostResolvConf: hostResolv,
		Nameservers: nameservers, ExtraNameservers: s.DNS, Search: s.DNSSearch, Options: s.DNSOptions,
	}
	for _, h := range s.ExtraHosts {
		addr := h.Addr
		if addr == "host-gateway" {
			if hostGateway == "" {
				return etcFiles{}, fmt.Errorf("service %q: extra_hosts %s:host-gateway needs the service on a network (it has none)", s.Name, h.Name)
			}
			addr = hostGateway
		}
		etc.ExtraHosts = append(etc.ExtraHosts, hostLine{Addr: addr, Name: h.Name})
	}
	return etc, nil
}

var _ scheduler.EtcWriter = (*Client)(nil)

// WriteEtc implements scheduler.EtcWriter: the files are written in place
// (the same inodes), which the container's bind mounts show.
func (c *Client) WriteEtc(_ context.Context, ctr scheduler.Container, s *compose.Service, nameservers []string) error {
	gateway := ""
	if len(nameservers) > 0 {
		gateway = nameservers[0]
	}
	etc, err := etcFor(s, ctr.Name, nameservers, gateway)
	if err != nil {
		return err
	}
	if err := writeEtcFiles(c.containerDir(ctr.Name), etc); err != nil {
		return fmt.Errorf("write /etc files: %w", err)
	}
	return nil
}

// writeEtcFiles writes the hosts, hostname and resolv.conf files a
// container gets bind-mounted at /etc, into dir.
func writeEtcFiles(dir string, e etcFiles) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := map[string][]byte{
		"hosts":       hostsFile(e.Hostname, e.Domainname, e.ExtraHosts),
		"hostname":    []byte(e.Hostname + "\n"),
		"resolv.conf": resolvConf(e.HostResolvConf, append(append([]string{}, e.Nameservers...), e.ExtraNameservers...), e.Search, e.Options),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// hostsFile is Docker's /etc/hosts for a container, with its extra hosts.
func hostsFile(hostname, domainname string, extra []hostLine) []byte {
	var b bytes.Buffer
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	b.WriteString("fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")
	names := hostname
	if domainname != "" {
		names = hostname + "." + domainname + " " + hostname
	}
	fmt.Fprintf(&b, "127.0.1.1\t%s\n", names)
	for _, h := range extra {
		fmt.Fprintf(&b, "%s\t%s\n", h.Addr, h.Name)
	}
	return b.Bytes()
}

// resolvConf derives a container's resolv.conf from the host's: search and
// options lines are kept; the nameservers are the given ones (berth's DNS
// server, which forwards to the host's), else the host's minus loopback
// ones, which cannot be reached from a container's own network namespace.
// Docker then falls back to public resolvers; berth sends queries nowhere
// the host did not say.
func resolvConf(host []byte, nameservers, search, options []string) []byte {
	var b bytes.Buffer
	for _, ns := range nameservers {
		b.WriteString("nameserver " + ns + "\n")
	}
	if len(search) > 0 {
		b.WriteString("search " + strings.Join(search, " ") + "\n")
	}
	if len(options) > 0 {
		b.WriteString("options " + strings.Join(options, " ") + "\n")
	}
	sc := bufio.NewScanner(bytes.NewReader(host))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") || strings.HasPrefix(fields[0], ";") {
			continue
		}
		switch fields[0] {
		case "nameserver":
			if len(nameservers) > 0 || len(fields) < 2 {
				continue
			}
			if ip := net.ParseIP(fields[1]); ip == nil || ip.IsLoopback() {
				continue
			}
			b.WriteString(line + "\n")
		case "search", "domain":
			if len(search) == 0 {
				b.WriteString(line + "\n")
			}
		case "options":
			if len(options) == 0 {
				b.WriteString(line + "\n")
			}
		}
	}
	return b.Bytes()
}
