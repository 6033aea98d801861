package containerd

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
)

// writeEtcFiles writes the hosts, hostname and resolv.conf files a
// container gets bind-mounted at /etc, into dir. nameservers replace the
// host's when given (berth's DNS server on the container's network).
func writeEtcFiles(dir, hostname, domainname string, hostResolvConf []byte, nameservers []string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := map[string][]byte{
		"hosts":       hostsFile(hostname, domainname),
		"hostname":    []byte(hostname + "\n"),
		"resolv.conf": resolvConf(hostResolvConf, nameservers),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// hostsFile is Docker's /etc/hosts for a container without extra hosts.
func hostsFile(hostname, domainname string) []byte {
	var b bytes.Buffer
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	b.WriteString("fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")
	names := hostname
	if domainname != "" {
		names = hostname + "." + domainname + " " + hostname
	}
	fmt.Fprintf(&b, "127.0.1.1\t%s\n", names)
	return b.Bytes()
}

// resolvConf derives a container's resolv.conf from the host's: search and
// options lines are kept; the nameservers are the given ones (berth's DNS
// server, which forwards to the host's), else the host's minus loopback
// ones, which cannot be reached from a container's own network namespace.
// Docker then falls back to public resolvers; berth sends queries nowhere
// the host did not say.
func resolvConf(host []byte, nameservers []string) []byte {
	var b bytes.Buffer
	for _, ns := range nameservers {
		b.WriteString("nameserver " + ns + "\n")
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
		case "search", "domain", "options":
			b.WriteString(line + "\n")
		}
	}
	return b.Bytes()
}
