package hostproc

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// NetDev sums the bytes received and sent on the network interfaces of
// the process's namespace (/proc/PID/net/dev), loopback left out.
func (d Dir) NetDev(pid int) (rx, tx uint64, err error) {
	path := d.path(strconv.Itoa(pid), "net", "dev")
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, err
	}
	// "  eth0: rxbytes rxpackets errs drop fifo frame compressed multicast txbytes ..."
	for line := range strings.Lines(string(b)) {
		name, counters, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(name) == "lo" {
			continue // the two header lines have no colon
		}
		f := strings.Fields(counters)
		if len(f) < 9 {
			return 0, 0, fmt.Errorf("%s: interface %s: %d counters, want 16", path, strings.TrimSpace(name), len(f))
		}
		r, err1 := strconv.ParseUint(f[0], 10, 64)
		t, err2 := strconv.ParseUint(f[8], 10, 64)
		if err1 != nil || err2 != nil {
			return 0, 0, fmt.Errorf("%s: interface %s: bad counters", path, strings.TrimSpace(name))
		}
		rx, tx = rx+r, tx+t
	}
	return rx, tx, nil
}

// MemTotal is the host's memory in bytes (/proc/meminfo's MemTotal).
func (d Dir) MemTotal() (uint64, error) {
	b, err := os.ReadFile(d.path("meminfo"))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			kb, err := strconv.ParseUint(f[0], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s: MemTotal: %w", d.path("meminfo"), err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("%s: no MemTotal line", d.path("meminfo"))
}
