// Command loopprobe sends what a container with CAP_NET_RAW can send to
// reach the host's loopback: a TCP SYN to 127.0.0.1:PORT in an Ethernet
// frame addressed to its default gateway, written on a packet socket, so
// that its own kernel's routing (which keeps 127.0.0.0/8 on lo) is
// bypassed. It prints "answered FLAGS" and exits 0 when anything comes
// back from 127.0.0.1:PORT, or prints "no answer" and exits 1 after a few
// tries. The e2e tests build it statically and mount it into a busybox
// container.
//
// Usage: loopprobe PORT [ADDR]
//
// ADDR (default 127.0.0.1) lets a test check the probe itself against an
// address that answers, such as the gateway's DNS port.
package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) != 2 && len(os.Args) != 3 {
		fatal(errors.New("usage: loopprobe PORT [ADDR]"))
	}
	target := net.IPv4(127, 0, 0, 1).To4()
	if len(os.Args) == 3 {
		if target = net.ParseIP(os.Args[2]).To4(); target == nil {
			fatal(fmt.Errorf("%q is not an IPv4 address", os.Args[2]))
		}
	}
	port, err := strconv.ParseUint(os.Args[1], 10, 16)
	if err != nil {
		fatal(err)
	}
	ifname, gw, err := defaultRoute()
	if err != nil {
		fatal(err)
	}
	iface, err := net.InterfaceByName(ifname)
	if err != nil {
		fatal(err)
	}
	src, err := ipv4Of(iface)
	if err != nil {
		fatal(err)
	}
	gwMAC, err := neighbour(gw)
	if err != nil {
		fatal(err)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, int(htons(unix.ETH_P_IP)))
	if err != nil {
		fatal(fmt.Errorf("packet socket (needs CAP_NET_RAW): %w", err))
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_IP), Ifindex: iface.Index}); err != nil {
		fatal(err)
	}
	tv := unix.NsecToTimeval((200 * time.Millisecond).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		fatal(err)
	}
	sport := uint16(40000 + rand.IntN(20000))
	frame := synFrame(iface.HardwareAddr, gwMAC, src, target, sport, uint16(port))
	fmt.Printf("SYN %s:%d -> %s:%d via gateway %s (%s) on %s\n", src, sport, target, port, gw, gwMAC, ifname)
	buf := make([]byte, 2048)
	for try := 0; try < 3; try++ {
		if err := unix.Sendto(fd, frame, 0, &unix.SockaddrLinklayer{Ifindex: iface.Index, Halen: 6, Addr: mac8(gwMAC)}); err != nil {
			fatal(fmt.Errorf("send: %w", err))
		}
		deadline := time.Now().Add(time.Second)
		for time.Now().Before(deadline) {
			n, _, err := unix.Recvfrom(fd, buf, 0)
			if err != nil {
				continue // timeout: look again until the deadline
			}
			if flags, ok := replyFrom(buf[:n], target, uint16(port), src, sport); ok {
				fmt.Printf("answered %s\n", flags)
				os.Exit(0)
			}
		}
	}
	fmt.Println("no answer")
	os.Exit(1)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "loopprobe:", err)
	os.Exit(2)
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func mac8(m net.HardwareAddr) [8]byte {
	var a [8]byte
	copy(a[:], m)
	return a
}

// defaultRoute reads the interface and gateway of the default route.
func defaultRoute() (string, net.IP, error) {
	f, err := os.Open("/proc/net/route")
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 || fields[1] != "00000000" {
			continue
		}
		v, err := strconv.ParseUint(fields[2], 16, 32)
		if err != nil {
			continue
		}
		gw := make(net.IP, 4)
		binary.LittleEndian.PutUint32(gw, uint32(v))
		return fields[0], gw, nil
	}
	return "", nil, errors.New("no default route")
}

func ipv4Of(iface *net.Interface) (net.IP, error) {
	addrs, err := iface.Addrs()
	if err != nil {
		return nil, err
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
			return n.IP.To4(), nil
		}
	}
	return nil, fmt.Errorf("%s has no IPv4 address", iface.Name)
}

// neighbour resolves the gateway's MAC: a datagram to it makes the kernel
// ask (ARP), then the neighbour table has the answer.
func neighbour(gw net.IP) (net.HardwareAddr, error) {
	c, err := net.Dial("udp4", net.JoinHostPort(gw.String(), "9"))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	for i := 0; i < 40; i++ {
		c.Write([]byte("arp")) //nolint:errcheck // only to resolve the neighbour
		if m, ok := arpEntry(gw); ok {
			return m, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil, fmt.Errorf("no neighbour entry for %s", gw)
}

func arpEntry(ip net.IP) (net.HardwareAddr, bool) {
	b, err := os.ReadFile("/proc/net/arp")
	if err != nil {
		return nil, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && f[0] == ip.String() && f[2] != "0x0" {
			if m, err := net.ParseMAC(f[3]); err == nil {
				return m, true
			}
		}
	}
	return nil, false
}

// synFrame is an Ethernet frame holding an IPv4 TCP SYN.
func synFrame(srcMAC, dstMAC net.HardwareAddr, src, dst net.IP, sport, dport uint16) []byte {
	tcp := make([]byte, 20)
	binary.BigEndian.PutUint16(tcp[0:], sport)
	binary.BigEndian.PutUint16(tcp[2:], dport)
	binary.BigEndian.PutUint32(tcp[4:], rand.Uint32())
	tcp[12] = 5 << 4 // data offset
	tcp[13] = 0x02   // SYN
	binary.BigEndian.PutUint16(tcp[14:], 64240)
	pseudo := append(append(append([]byte{}, src...), dst...), 0, unix.IPPROTO_TCP, 0, byte(len(tcp)))
	binary.BigEndian.PutUint16(tcp[16:], checksum(append(pseudo, tcp...)))

	ip := make([]byte, 20)
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)+len(tcp)))
	binary.BigEndian.PutUint16(ip[4:], uint16(rand.UintN(65536)))
	ip[8] = 64
	ip[9] = unix.IPPROTO_TCP
	copy(ip[12:], src)
	copy(ip[16:], dst)
	binary.BigEndian.PutUint16(ip[10:], checksum(ip))

	eth := make([]byte, 14)
	copy(eth[0:], dstMAC)
	copy(eth[6:], srcMAC)
	binary.BigEndian.PutUint16(eth[12:], unix.ETH_P_IP)
	return append(append(eth, ip...), tcp...)
}

func checksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// replyFrom reports whether frame is a TCP segment from src:sport to
// dst:dport, and its flags.
func replyFrom(frame []byte, src net.IP, sport uint16, dst net.IP, dport uint16) (string, bool) {
	if len(frame) < 14+20+20 || binary.BigEndian.Uint16(frame[12:]) != unix.ETH_P_IP {
		return "", false
	}
	ip := frame[14:]
	ihl := int(ip[0]&0x0f) * 4
	if ip[9] != unix.IPPROTO_TCP || len(ip) < ihl+20 || !net.IP(ip[12:16]).Equal(src) || !net.IP(ip[16:20]).Equal(dst) {
		return "", false
	}
	tcp := ip[ihl:]
	if binary.BigEndian.Uint16(tcp[0:]) != sport || binary.BigEndian.Uint16(tcp[2:]) != dport {
		return "", false
	}
	var flags []string
	for _, f := range []struct {
		bit  byte
		name string
	}{{0x02, "SYN"}, {0x10, "ACK"}, {0x04, "RST"}} {
		if tcp[13]&f.bit != 0 {
			flags = append(flags, f.name)
		}
	}
	if len(flags) == 0 {
		flags = append(flags, fmt.Sprintf("0x%02x", tcp[13]))
	}
	return strings.Join(flags, "+"), true
}
