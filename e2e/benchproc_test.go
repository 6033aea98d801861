//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// procGroup is a set of processes whose memory and CPU the stack
// benchmarks add up: what berth runs for a stack, told apart so that a
// change to one (a shim per project, no log driver per container) shows
// in its own line.
type procGroup string

const (
	groupBerth      procGroup = "berth"      // berth's processes of the project (the project process)
	groupBerthShim  procGroup = "berth-shim" // berth's processes under a shim (the log drivers)
	groupContainerd procGroup = "containerd" // the managed containerd
	groupShims      procGroup = "shims"      // containerd-shim-runc-v2
	groupRunc       procGroup = "runc"       // runc while it runs (create, start, exec of probes)
	groupContainers procGroup = "containers" // the containers' processes, probes included
)

// engineGroups are the groups that are berth's cost, the containers'
// own processes left out.
var engineGroups = []procGroup{groupBerth, groupBerthShim, groupContainerd, groupShims, groupRunc}

// allGroups lists every group in the order reports print them.
var allGroups = append(slices.Clone(engineGroups), groupContainers)

// proc is what the benchmarks read of one process.
type proc struct {
	pid, ppid int
	comm      string
	cmdline   string // NUL-separated, as in /proc
	exe       string // "" when unreadable (a kernel thread, gone)
	// ticks is utime+stime+cutime+cstime: the CPU of the process and
	// of the children it has reaped, in clock ticks.
	ticks int64
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on
// every architecture Linux builds berth for.
const clockTicks = 100

// readProcs reads every process of the machine; one that ends while it
// is read is left out.
func readProcs() map[int]proc {
	out := map[int]proc{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		p, err := parseProcStat(stat)
		if err != nil {
			continue
		}
		p.cmdline = cmdline(pid)
		exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		p.exe = strings.TrimSuffix(exe, " (deleted)")
		out[pid] = p
	}
	return out
}

// parseProcStat reads pid, comm, ppid and the CPU times from the content
// of /proc/PID/stat. comm is in parentheses and may hold spaces and
// parentheses itself, so the fields after it are found from the last ')'.
func parseProcStat(stat []byte) (proc, error) {
	open, end := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
	if open < 0 || end < open {
		return proc{}, fmt.Errorf("/proc/PID/stat %q: no (comm)", stat)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(stat[:open])))
	if err != nil {
		return proc{}, fmt.Errorf("/proc/PID/stat %q: pid: %w", stat, err)
	}
	// After ")": state(3) ppid(4) … utime(14) stime(15) cutime(16) cstime(17).
	f := strings.Fields(string(stat[end+1:]))
	if len(f) < 15 {
		return proc{}, fmt.Errorf("/proc/PID/stat %q: %d fields after comm, want 15 or more", stat, len(f))
	}
	p := proc{pid: pid, comm: string(stat[open+1 : end])}
	if p.ppid, err = strconv.Atoi(f[1]); err != nil {
		return proc{}, fmt.Errorf("/proc/PID/stat %q: ppid: %w", stat, err)
	}
	for _, s := range f[11:15] {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return proc{}, fmt.Errorf("/proc/PID/stat %q: cpu times: %w", stat, err)
		}
		p.ticks += v
	}
	return p, nil
}

// procGroups sorts the processes that d runs for its projects into their
// groups: its containerd, its shims (their command line names d's run
// directory), what runs under a shim (berth's log drivers, runc, the
// containers' processes and probes), and berth processes started with
// d's run directory (the project processes, a berth command that runs).
// Processes of other daemons and helpers are not in the result.
func (d *privateDaemon) procGroups(procs map[int]proc, berth string) map[int]procGroup {
	groups := map[int]procGroup{}
	if pid := d.containerdPid(); pid != 0 {
		groups[pid] = groupContainerd
	}
	for pid, p := range procs {
		if strings.Contains(p.cmdline, "containerd-shim") && strings.Contains(p.cmdline, d.runDir) {
			groups[pid] = groupShims
		}
	}
	underShim := func(p proc) bool {
		for seen := 0; p.ppid > 1 && seen < 64; seen++ {
			if groups[p.ppid] == groupShims {
				return true
			}
			parent, ok := procs[p.ppid]
			if !ok {
				return false
			}
			p = parent
		}
		return false
	}
	for pid, p := range procs {
		if _, ok := groups[pid]; ok {
			continue
		}
		switch {
		case underShim(p) && p.exe == berth:
			groups[pid] = groupBerthShim
		case underShim(p) && p.comm == "runc":
			groups[pid] = groupRunc
		case underShim(p):
			groups[pid] = groupContainers
		case p.exe == berth && hasEnv(pid, "BERTH_RUN_DIR="+d.runDir):
			groups[pid] = groupBerth
		}
	}
	return groups
}

// hasEnv reports whether the environment of pid holds the entry kv.
func hasEnv(pid int, kv string) bool {
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return false
	}
	return slices.Contains(strings.Split(string(env), "\x00"), kv)
}

// pssKiB returns the proportional set size of pid in KiB, from
// /proc/PID/smaps_rollup.
func pssKiB(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0, err
	}
	return parsePss(b)
}

// parsePss finds the "Pss:" line of smaps_rollup content.
func parsePss(rollup []byte) (int64, error) {
	for _, line := range strings.Split(string(rollup), "\n") {
		if v, ok := strings.CutPrefix(line, "Pss:"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		}
	}
	return 0, fmt.Errorf("smaps_rollup: no Pss line")
}

// groupUse is one group's PSS (KiB) and process count at a moment.
type groupUse struct {
	pssKiB int64
	procs  int
}

// pssByGroup adds up the PSS of d's processes per group.
func (d *privateDaemon) pssByGroup(berth string) map[procGroup]groupUse {
	procs := readProcs()
	use := map[procGroup]groupUse{}
	for pid, g := range d.procGroups(procs, berth) {
		kib, err := pssKiB(pid)
		if err != nil {
			continue // ended meanwhile
		}
		u := use[g]
		u.pssKiB += kib
		u.procs++
		use[g] = u
	}
	return use
}

// peakPss samples pssByGroup n times, every gap, and returns per group the
// largest of its samples, and the largest sum of the engine groups.
func (d *privateDaemon) peakPss(berth string, n int, gap time.Duration) (map[procGroup]groupUse, int64) {
	peak := map[procGroup]groupUse{}
	var engine int64
	for i := range n {
		if i > 0 {
			time.Sleep(gap)
		}
		use := d.pssByGroup(berth)
		var sum int64
		for g, u := range use {
			if u.pssKiB > peak[g].pssKiB {
				peak[g] = u
			}
			if slices.Contains(engineGroups, g) {
				sum += u.pssKiB
			}
		}
		engine = max(engine, sum)
	}
	return peak, engine
}

// ticksByGroup adds up the CPU ticks (children reaped included) of d's
// processes per group.
func (d *privateDaemon) ticksByGroup(berth string) map[procGroup]int64 {
	procs := readProcs()
	ticks := map[procGroup]int64{}
	for pid, g := range d.procGroups(procs, berth) {
		ticks[g] += procs[pid].ticks
	}
	return ticks
}

// cpuTimes is the "cpu" line of /proc/stat: the ticks of all cores.
type cpuTimes struct{ busy, total int64 }

// readCPUTimes reads the machine's CPU times from /proc/stat.
func readCPUTimes() (cpuTimes, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}, err
	}
	return parseCPUTimes(b)
}

// parseCPUTimes reads the first line of /proc/stat content: user nice
// system idle iowait irq softirq steal (guest time is inside user's and is
// not added twice). Busy is everything but idle and iowait.
func parseCPUTimes(stat []byte) (cpuTimes, error) {
	line, _, _ := strings.Cut(string(stat), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return cpuTimes{}, fmt.Errorf("/proc/stat: first line %q is not the cpu total", line)
	}
	var t cpuTimes
	for i, s := range f[1:9] {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return cpuTimes{}, fmt.Errorf("/proc/stat: %q: %w", line, err)
		}
		t.total += v
		if i != 3 && i != 4 { // idle, iowait
			t.busy += v
		}
	}
	return t, nil
}

// busyShare is the share of all cores busy between two readings.
func busyShare(from, to cpuTimes) float64 {
	if to.total == from.total {
		return 0
	}
	return float64(to.busy-from.busy) / float64(to.total-from.total)
}

// resolvedBerth is the path of the berth binary as /proc/PID/exe shows it.
func resolvedBerth() string {
	p, err := filepath.EvalSymlinks(berthBin)
	if err != nil {
		return berthBin
	}
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}
