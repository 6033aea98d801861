package hostproc

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Dir is a proc filesystem: Host, or a fake one in tests.
type Dir string

// Host is the host's proc filesystem.
const Host Dir = "/proc"

// clockTicks is the kernel's USER_HZ, the unit of the CPU times in
// /proc/PID/stat. It is 100 on every Linux architecture berth builds for
// (sysconf would need cgo).
const clockTicks = 100

func (d Dir) path(elem ...string) string {
	return filepath.Join(append([]string{string(d)}, elem...)...)
}

// Process is one process as ps -ef shows it, which is what docker compose
// top prints.
type Process struct {
	// UID is the effective user's name on the host, or its number.
	UID  string
	PID  int
	PPID int
	// C is its CPU use over its lifetime, in percent of one CPU (capped at
	// 99, as ps caps it).
	C int
	// STime is when it started: "15:04" within a day, "Jan02" within the
	// year, else the year.
	STime string
	// TTY is its terminal ("pts/0"), or "?".
	TTY string
	// Time is the CPU time it used, "[DD-]HH:MM:SS".
	Time string
	// CMD is its command line, or "[name]" when it has none (a zombie).
	CMD string
}

// Processes reads the processes pids from the proc directory, in pid
// order. One that is gone meanwhile is left out. userName turns a uid
// into a name ("" keeps the number); now is the time STIME is shown from.
func (d Dir) Processes(pids []int, now time.Time, userName func(uid int) string) ([]Process, error) {
	boot, err := d.bootTime()
	if err != nil {
		return nil, err
	}
	uptime, err := d.uptime()
	if err != nil {
		return nil, err
	}
	sorted := slices.Clone(pids)
	slices.Sort(sorted)
	var out []Process
	for _, pid := range sorted {
		p, err := d.process(pid, boot, uptime, now, userName)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func (d Dir) process(pid int, boot time.Time, uptime float64, now time.Time, userName func(int) string) (Process, error) {
	dir := strconv.Itoa(pid)
	st, err := d.stat(pid)
	if err != nil {
		return Process{}, err
	}
	status, err := os.ReadFile(d.path(dir, "status"))
	if err != nil {
		return Process{}, err
	}
	uid, err := effectiveUID(string(status))
	if err != nil {
		return Process{}, fmt.Errorf("%s: %w", d.path(dir, "status"), err)
	}
	cmdline, err := os.ReadFile(d.path(dir, "cmdline"))
	if err != nil {
		return Process{}, err
	}
	p := Process{UID: strconv.Itoa(uid), PID: pid, PPID: st.ppid, TTY: ttyName(st.ttyNr), CMD: command(cmdline, st.comm)}
	if userName != nil {
		if name := userName(uid); name != "" {
			p.UID = name
		}
	}
	cpu := float64(st.utime+st.stime) / clockTicks
	if alive := uptime - float64(st.start)/clockTicks; alive > 0 {
		p.C = min(int(cpu*100/alive), 99)
	}
	p.STime = startTime(boot.Add(time.Duration(st.start)*time.Second/clockTicks), now)
	p.Time = cpuTime(time.Duration(cpu * float64(time.Second)))
	return p, nil
}

// procStat is what top reads of /proc/PID/stat.
type procStat struct {
	comm         string
	ppid, ttyNr  int
	utime, stime uint64
	// start is when the process started, in clock ticks after boot.
	start uint64
}

func (d Dir) stat(pid int) (procStat, error) {
	path := d.path(strconv.Itoa(pid), "stat")
	b, err := os.ReadFile(path)
	if err != nil {
		return procStat{}, err
	}
	st, err := parseStat(string(b))
	if err != nil {
		return procStat{}, fmt.Errorf("%s: %w", path, err)
	}
	return st, nil
}

// parseStat reads "pid (comm) state ppid pgrp session tty_nr ...": comm
// may hold spaces and parentheses, so the fields start after the last ")".
func parseStat(s string) (procStat, error) {
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return procStat{}, errors.New("no (comm) field")
	}
	f := strings.Fields(s[end+1:])
	// f[0] is field 3 (state); field n is f[n-3].
	if len(f) < 20 {
		return procStat{}, fmt.Errorf("%d fields, want at least 22", len(f)+2)
	}
	st := procStat{comm: s[open+1 : end]}
	var errs []error
	num := func(n int) uint64 {
		v, err := strconv.ParseUint(f[n-3], 10, 64)
		errs = append(errs, err)
		return v
	}
	ppid, tty := num(4), num(7)
	st.ppid, st.ttyNr = int(ppid), int(tty)
	st.utime, st.stime, st.start = num(14), num(15), num(22)
	if err := errors.Join(errs...); err != nil {
		return procStat{}, err
	}
	return st, nil
}

// effectiveUID reads the second number of status's "Uid:" line.
func effectiveUID(status string) (int, error) {
	for line := range strings.Lines(status) {
		if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
			f := strings.Fields(rest)
			if len(f) < 2 {
				break
			}
			return strconv.Atoi(f[1])
		}
	}
	return 0, errors.New("no Uid line")
}

// ttyName names a tty_nr the way ps does for the usual terminals.
func ttyName(nr int) string {
	major, minor := (nr>>8)&0xfff, (nr&0xff)|((nr>>12)&0xfff00)
	switch {
	case nr == 0:
		return "?"
	case major >= 136 && major <= 143:
		return "pts/" + strconv.Itoa((major-136)*256+minor)
	case major == 4 && minor < 64:
		return "tty" + strconv.Itoa(minor)
	case major == 4:
		return "ttyS" + strconv.Itoa(minor-64)
	}
	return "?"
}

// command joins a NUL-separated command line with spaces.
func command(cmdline []byte, comm string) string {
	s := strings.TrimRight(string(cmdline), "\x00")
	if s == "" {
		return "[" + comm + "]"
	}
	return strings.ReplaceAll(s, "\x00", " ")
}

// startTime formats a start time as ps's STIME column does.
func startTime(t, now time.Time) string {
	switch {
	case now.Sub(t) < 24*time.Hour:
		return t.Format("15:04")
	case t.Year() == now.Year():
		return t.Format("Jan02")
	}
	return t.Format("2006")
}

// cpuTime formats CPU time as ps's TIME column does: [DD-]HH:MM:SS.
func cpuTime(d time.Duration) string {
	s := int64(d / time.Second)
	days, h, m := s/86400, s/3600%24, s/60%60
	if days > 0 {
		return fmt.Sprintf("%d-%02d:%02d:%02d", days, h, m, s%60)
	}
	return fmt.Sprintf("%02d:%02d:%02d", h, m, s%60)
}

// bootTime is /proc/stat's btime.
func (d Dir) bootTime() (time.Time, error) {
	b, err := os.ReadFile(d.path("stat"))
	if err != nil {
		return time.Time{}, err
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "btime "); ok {
			secs, err := strconv.ParseInt(strings.TrimSpace(rest), 10, 64)
			if err != nil {
				return time.Time{}, fmt.Errorf("%s: btime: %w", d.path("stat"), err)
			}
			return time.Unix(secs, 0), nil
		}
	}
	return time.Time{}, fmt.Errorf("%s: no btime line", d.path("stat"))
}

// uptime is /proc/uptime's first number, in seconds.
func (d Dir) uptime() (float64, error) {
	b, err := os.ReadFile(d.path("uptime"))
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, fmt.Errorf("%s is empty", d.path("uptime"))
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", d.path("uptime"), err)
	}
	return v, nil
}

// UserName is the name of a uid in the host's /etc/passwd, or "".
func UserName(uid int) string {
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return ""
	}
	return u.Username
}
