package hostproc

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// fakeProc writes a proc directory: files maps paths to contents.
func fakeProc(t *testing.T, files map[string]string) Dir {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return Dir(dir)
}

const boot = 1_700_000_000

// stat is a /proc/PID/stat line with the fields top reads set.
func stat(pid, comm string, ppid, tty, utime, stime, start int) string {
	return pid + " (" + comm + ") S " + itoa(ppid) + " 1 1 " + itoa(tty) + " -1 4194560 100 0 0 0 " +
		itoa(utime) + " " + itoa(stime) + " 0 0 20 0 1 0 " + itoa(start) + " 1000 200 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestProcesses(t *testing.T) {
	d := fakeProc(t, map[string]string{
		"stat":   "cpu  1 2 3\nbtime 1700000000\nprocesses 10\n",
		"uptime": "100000.00 150000.00\n",
		// pid 7: sleep, started 99,000 s after boot, 10 s of CPU.
		"7/stat":    stat("7", "sleep", 1, 0, 600, 400, 9_900_000),
		"7/status":  "Name:\tsleep\nUid:\t0\t1000\t0\t0\nGid:\t0\t0\t0\t0\n",
		"7/cmdline": "sleep\x00600\x00",
		// pid 3: a shell on pts/2 whose name holds ") (", started at boot.
		"3/stat":    stat("3", "a) (b", 0, 136<<8|2, 360_000_00, 0, 0),
		"3/status":  "Uid:\t65534\t65534\t65534\t65534\n",
		"3/cmdline": "",
	})
	now := time.Unix(boot+100_000, 0)
	names := map[int]string{1000: "app"}
	got, err := d.Processes([]int{7, 3, 99}, now, func(uid int) string { return names[uid] })
	if err != nil {
		t.Fatal(err)
	}
	want := []Process{
		{UID: "65534", PID: 3, PPID: 0, C: 99, STime: time.Unix(boot, 0).Format("Jan02"), TTY: "pts/2", Time: "4-04:00:00", CMD: "[a) (b]"},
		{UID: "app", PID: 7, PPID: 1, C: 1, STime: time.Unix(boot+99_000, 0).Format("15:04"), TTY: "?", Time: "00:00:10", CMD: "sleep 600"},
	}
	if time.Unix(boot, 0).Year() != now.Year() {
		want[0].STime = time.Unix(boot, 0).Format("2006")
	}
	if len(got) != len(want) {
		t.Fatalf("Processes = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Processes()[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestParseStatErrors(t *testing.T) {
	for _, s := range []string{"", "1 sleep S 1", "1 (sleep) S 1 2 3", "1 (x) S a 1 1 0 -1 4 1 0 0 0 1 1 0 0 20 0 1 0 5 1"} {
		if _, err := parseStat(s); err == nil {
			t.Errorf("parseStat(%q) = nil error, want one", s)
		}
	}
}

func TestFormats(t *testing.T) {
	for _, c := range []struct {
		nr   int
		want string
	}{{0, "?"}, {136<<8 | 0, "pts/0"}, {137<<8 | 5, "pts/261"}, {4<<8 | 1, "tty1"}, {4<<8 | 65, "ttyS1"}, {5<<8 | 1, "?"}} {
		if got := ttyName(c.nr); got != c.want {
			t.Errorf("ttyName(%#x) = %q, want %q", c.nr, got, c.want)
		}
	}
	for _, c := range []struct {
		d    time.Duration
		want string
	}{{0, "00:00:00"}, {61 * time.Second, "00:01:01"}, {25*time.Hour + 2*time.Second, "1-01:00:02"}} {
		if got := cpuTime(c.d); got != c.want {
			t.Errorf("cpuTime(%v) = %q, want %q", c.d, got, c.want)
		}
	}
}

func TestCounters(t *testing.T) {
	d := fakeProc(t, map[string]string{
		"meminfo": "MemTotal:        2030000 kB\nMemFree:          100000 kB\n",
		"7/net/dev": `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:  999999      10    0    0    0     0          0         0   999999      10    0    0    0     0       0          0
  eth0:    1500      12    0    0    0     0          0         0      700       7    0    0    0     0       0          0
  eth1:     500       2    0    0    0     0          0         0      300       3    0    0    0     0       0          0
`,
	})
	rx, tx, err := d.NetDev(7)
	if err != nil || rx != 2000 || tx != 1000 {
		t.Errorf("NetDev(7) = %d, %d, %v, want 2000, 1000", rx, tx, err)
	}
	if total, err := d.MemTotal(); err != nil || total != 2030000*1024 {
		t.Errorf("MemTotal() = %d, %v, want %d", total, err, 2030000*1024)
	}
}

func TestStartTicks(t *testing.T) {
	proc := fakeProc(t, map[string]string{
		"42/stat": "42 (berth build) S 1 42 42 0 -1 4194560 10 0 0 0 3 1 0 0 20 0 1 0 98765 1000 10 18446744073709551615",
	})
	if got, err := proc.StartTicks(42); err != nil || got != 98765 {
		t.Errorf("StartTicks(42) = %d, %v, want 98765", got, err)
	}
	if _, err := proc.StartTicks(43); err == nil {
		t.Errorf("StartTicks(43) of a missing process = nil error, want one")
	}
}
