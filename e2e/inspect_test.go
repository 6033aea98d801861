//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestTop: top lists the processes of each running container, as ps -ef.
func TestTop(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  app:
    image: `+testImage+`
    command: ["sleep", "600"]
    stop_signal: SIGKILL
  other:
    image: `+testImage+`
    command: ["sh", "-c", "sleep 700 & exec sleep 800"]
    stop_signal: SIGKILL
`, nil)
	p.must("up", "-d")
	p.waitFor("other's two sleeps", 10*time.Second, func() bool { return strings.Count(p.must("top", "other").stdout, "sleep") == 2 })
	out := p.must("top").stdout
	blocks := strings.Split(strings.TrimSpace(out), "\n\n")
	if len(blocks) != 2 {
		t.Fatalf("top printed %d blocks, want 2:\n%s", len(blocks), out)
	}
	lines := strings.Split(blocks[0], "\n")
	if lines[0] != p.name+"-app-1" || strings.Join(strings.Fields(lines[1]), " ") != "UID PID PPID C STIME TTY TIME CMD" || len(lines) != 3 {
		t.Fatalf("top's block for app:\n%s", blocks[0])
	}
	f := strings.Fields(lines[2])
	if len(f) != 9 || f[0] != "root" || f[5] != "?" || f[7] != "sleep" || f[8] != "600" {
		t.Errorf("app's process line %q, want root ... ? 00:00:00 sleep 600", lines[2])
	}
	pid, _ := strconv.Atoi(f[1])
	if cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline"); err != nil || string(cmdline) != "sleep\x00600\x00" {
		t.Errorf("pid %d on the host is %q, %v, want sleep 600", pid, cmdline, err)
	}
	if !strings.HasPrefix(blocks[1], p.name+"-other-1\n") || !strings.Contains(blocks[1], "sleep 700") || !strings.Contains(blocks[1], "sleep 800") {
		t.Errorf("top's block for other:\n%s", blocks[1])
	}
	if r := p.must("top", "app"); strings.Contains(r.stdout, "other") {
		t.Errorf("top app shows other:\n%s", r.stdout)
	}
	if r := p.berth("top", "nope"); r.code == 0 || !strings.Contains(r.stderr, `no such service: nope`) {
		t.Errorf("top of an unknown service:\n%s", r)
	}
}

// TestStats: stats --no-stream shows each running container's memory
// limit (mem_limit) and process count, as JSON and as a table.
func TestStats(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  app:
    image: `+testImage+`
    command: ["sh", "-c", "sleep 600 & exec sleep 601"]
    stop_signal: SIGKILL
    mem_limit: 64m
  done:
    image: `+testImage+`
    command: ["true"]
`, nil)
	p.must("up", "-d")
	p.waitFor("done to exit", 10*time.Second, func() bool { return p.entry(p.name+"-done-1").State == "exited" })
	r := p.must("stats", "--no-stream", "--format", "json")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 1 {
		t.Fatalf("stats json: %d lines, want 1 (the running container):\n%s", len(lines), r.stdout)
	}
	var row struct{ Name, CPUPerc, MemUsage, MemPerc, NetIO, BlockIO, PIDs string }
	if err := json.Unmarshal([]byte(lines[0]), &row); err != nil {
		t.Fatalf("stats json %q: %v", lines[0], err)
	}
	if row.Name != p.name+"-app-1" || !strings.HasSuffix(row.MemUsage, " / 64MiB") || !strings.HasSuffix(row.CPUPerc, "%") || !strings.Contains(row.NetIO, " / ") {
		t.Errorf("stats row %+v, want %s-app-1 with a 64MiB limit", row, p.name)
	}
	if n, err := strconv.Atoi(row.PIDs); err != nil || n < 2 {
		t.Errorf("stats PIDs %q, want at least 2 (sh's two sleeps)", row.PIDs)
	}
	table := p.must("stats", "--no-stream", "app").stdout
	if lines := strings.Split(strings.TrimSpace(table), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "NAME ") || !strings.HasPrefix(lines[1], p.name+"-app-1 ") {
		t.Errorf("stats table:\n%s", table)
	}
	if r := p.berth("stats", "--format", "yaml"); r.code == 0 || !strings.Contains(r.stderr, "use table or json") {
		t.Errorf("stats --format yaml:\n%s", r)
	}
}
