//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkStacks: the shared reference stacks of issue 16 (chain10,
// wide30, build3 from BENCH_STACKS, ../shared/bench by default), each
// brought up with `up -d --wait` and taken down, and wide30 in its steady
// state: CPU (machine and berth's processes), probe latency, peak PSS per
// process group; chain10 once more under `ctr events`, cut into where the
// time of one link (a start and a probe) goes. The figures end in a table
// whose rows paste into docs/benchmarks.md.
//
// It runs on a private managed daemon (data and run directories of its
// own, removed at the end): the build3 cold runs prune its build cache,
// the memory and CPU figures count only its containerd and shims, and two
// runs of it at once (other worktrees) do not collide on project names.
func BenchmarkStacks(b *testing.B) {
	root := benchStacksDir(b)
	d := newBarePrivateDaemon(b)
	archive := filepath.Join(d.base, "busybox.tar")
	if out, err := exec.Command("python3", filepath.Join(root, "mkimage.py"), "-o", archive).CombinedOutput(); err != nil {
		b.Fatalf("mkimage.py: %v: %s", err, out)
	}
	d.must(d.base, "load", "-i", archive)
	rep := &benchReport{}
	rep.row("machine load average (1, 5, 15 min) at the start", loadAverage(), "", "")
	b.Run("chain10", func(b *testing.B) {
		if skipCalibration(b) {
			return
		}
		s := newBenchStack(b, d, root, "chain10")
		s.upDown(b, rep, "chain10", nil, "up", "-d", "--wait")
		s.traceChain(b, rep)
	})
	b.Run("wide30", func(b *testing.B) {
		if skipCalibration(b) {
			return
		}
		s := newBenchStack(b, d, root, "wide30")
		s.upDown(b, rep, "wide30", nil, "up", "-d", "--wait")
		s.must(b, "up", "-d", "--wait")
		s.steadyState(b, rep, "wide30", 30)
		s.must(b, "down")
		// The target is measured with probes that cost next to
		// nothing in the containers: the same stack, `true` probes.
		src, err := os.ReadFile(filepath.Join(root, "stacks", "wide30", "compose.yaml"))
		if err != nil {
			b.Fatal(err)
		}
		trueProbes, err := withTrueProbes(src)
		if err != nil {
			b.Fatalf("wide30 with true probes: %v", err)
		}
		t := newGeneratedStack(b, d, "wide30true", trueProbes)
		t.must(b, "up", "-d", "--wait")
		t.steadyState(b, rep, "wide30 `true` probes", 30)
		t.must(b, "down")
	})
	b.Run("scaling", func(b *testing.B) {
		if skipCalibration(b) {
			return
		}
		// wide30's shape with 10, 30 and 100 services: whether the cost
		// per service stays flat.
		for _, n := range []int{10, 30, 100} {
			name := fmt.Sprintf("wide%d", n)
			s := newGeneratedStack(b, d, name+"gen", wideStack(n))
			up := s.timed(b, "up", "-d", "--wait")
			rep.row(name+" (generated, wide30's shape) `up -d --wait`, 1 run", fmt.Sprintf("%.2f s", up), "", "")
			b.ReportMetric(up, name+"-up-s")
			s.steadyState(b, rep, name, n)
			s.must(b, "down")
		}
	})
	b.Run("build3", func(b *testing.B) {
		if skipCalibration(b) {
			return
		}
		s := newBenchStack(b, d, root, "build3")
		images := strings.Fields(s.must(b, "config", "--images"))
		s.upDown(b, rep, "build3 cold", func(i int) {
			if i > 0 { // the fresh daemon has none before the first
				s.must(b, append([]string{"image", "rm"}, images...)...)
			}
			s.must(b, "builder", "prune")
		}, "up", "-d", "--wait", "--build")
		s.upDown(b, rep, "build3 cached", nil, "up", "-d", "--wait", "--build")
	})
	rep.row("machine load average (1, 5, 15 min) at the end", loadAverage(), "", "")
	rep.print()
}

// loadAverage is the first three fields of /proc/loadavg: how busy the
// machine was, beside figures measured on a machine shared with others.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown: " + err.Error()
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], ", ")
}

// benchStacksDir is where the shared stacks are: BENCH_STACKS, else
// ../shared/bench beside the repository. The benchmark is skipped when
// they are not there.
func benchStacksDir(b *testing.B) string {
	dir := os.Getenv("BENCH_STACKS")
	if dir == "" {
		dir = filepath.Join(repoRoot, "..", "shared", "bench")
	}
	for _, f := range []string{"mkimage.py", "stacks"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			// go test shows a benchmark's skip message only with -v: print it.
			msg := fmt.Sprintf("the shared reference stacks are not at %s (no %s): set BENCH_STACKS to the directory with mkimage.py and stacks/", dir, f)
			fmt.Println(b.Name() + ": skipped: " + msg)
			b.Skip(msg)
		}
	}
	return dir
}

// skipCalibration reports whether this call of a benchmark is Go's
// first one, with b.N = 1, made before the -benchtime Nx runs: a run of
// these stacks takes seconds, so that one is skipped. With -benchtime 1x
// (or a duration) the first call is the one that counts.
func skipCalibration(b *testing.B) bool {
	f := flag.Lookup("test.benchtime")
	if f == nil {
		return false
	}
	n, err := strconv.Atoi(strings.TrimSuffix(f.Value.String(), "x"))
	return err == nil && strings.HasSuffix(f.Value.String(), "x") && b.N < n
}

// benchStack is one of the shared stacks, copied into the private
// daemon's directory and run as project bench-NAME.
type benchStack struct {
	d       *privateDaemon
	name    string
	project string
	dir     string
}

// newBenchStack copies stacks/NAME and makes sure that its project is
// down when the benchmark ends.
func newBenchStack(b *testing.B, d *privateDaemon, root, name string) *benchStack {
	b.Helper()
	s := &benchStack{d: d, name: name, project: "bench-" + name, dir: filepath.Join(d.base, "stacks", name)}
	if err := os.MkdirAll(filepath.Dir(s.dir), 0o755); err != nil {
		b.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", filepath.Join(root, "stacks", name), s.dir).CombinedOutput(); err != nil {
		b.Fatalf("copy stack %s: %v: %s", name, err, out)
	}
	b.Cleanup(func() {
		if out, err := s.d.command(s.dir, "-p", s.project, "down", "-t", "0").CombinedOutput(); err != nil {
			b.Errorf("down %s: %v: %s", s.project, err, out)
		}
	})
	return s
}

// newGeneratedStack writes compose as the compose.yaml of a stack NAME
// of the benchmark's own (in the private daemon's directory, nothing in
// the shared stacks) and makes sure that its project is down when the
// benchmark ends.
func newGeneratedStack(b *testing.B, d *privateDaemon, name string, compose []byte) *benchStack {
	b.Helper()
	s := &benchStack{d: d, name: name, project: "bench-" + name, dir: filepath.Join(d.base, "stacks", name)}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, "compose.yaml"), compose, 0o644); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if out, err := s.d.command(s.dir, "-p", s.project, "down", "-t", "0").CombinedOutput(); err != nil {
			b.Errorf("down %s: %v: %s", s.project, err, out)
		}
	})
	return s
}

// wideServe is the main process of wide30's services (stacks/gen.py).
const wideServe = `trap 'exit 0' TERM INT; httpd -f -p 80 -h /www & wait`

// wideStack is a stack of n services in wide30's shape (stacks/gen.py):
// wNN serves HTTP, its healthcheck fetches the next one by name (a ring;
// interval 1s, timeout 3s, retries 60), and the last one also runs a
// client loop fetching the first every second.
func wideStack(n int) []byte {
	width := max(2, len(strconv.Itoa(n)))
	name := func(i int) string { return fmt.Sprintf("w%0*d", width, i) }
	var b strings.Builder
	fmt.Fprintf(&b, "# generated by BenchmarkStacks: %d independent services, ring healthchecks by name\nservices:\n", n)
	for i := 1; i <= n; i++ {
		cmd := wideServe
		if i == n {
			cmd = "trap 'exit 0' TERM INT; httpd -p 80 -h /www; while :; do wget -q -O /dev/null http://" + name(1) + "/ && echo ok >> /tmp/client.log; sleep 1 & wait; done"
		}
		fmt.Fprintf(&b, "  %s:\n    image: localhost/peerbench/busybox:latest\n    command: [\"sh\", \"-c\", %s]\n", name(i), strconv.Quote(cmd))
		fmt.Fprintf(&b, "    healthcheck:\n      test: [\"CMD-SHELL\", \"wget -q -O /dev/null http://%s/\"]\n      interval: 1s\n      timeout: 3s\n      retries: 60\n", name(i%n+1))
	}
	return []byte(b.String())
}

// trueTest matches the healthcheck tests of the shared stacks' files.
var trueTest = regexp.MustCompile(`(?m)^(\s*test:) \[.*\]$`)

// withTrueProbes is a compose file whose healthchecks test
// ["CMD", "true"] instead: what the probes cost berth, with next to
// nothing in the containers.
func withTrueProbes(compose []byte) ([]byte, error) {
	out := trueTest.ReplaceAll(compose, []byte(`$1 ["CMD", "true"]`))
	if bytes.Equal(out, compose) {
		return nil, errors.New("no healthcheck test in the stack's compose file")
	}
	return out, nil
}

// must runs berth -p PROJECT ARGS in the stack's directory and returns its
// output; it fails the benchmark unless berth succeeds.
func (s *benchStack) must(b *testing.B, args ...string) string {
	b.Helper()
	return s.d.must(s.dir, append([]string{"-p", s.project}, args...)...)
}

// timed is must, returning how long the command took in seconds.
func (s *benchStack) timed(b *testing.B, args ...string) float64 {
	b.Helper()
	start := time.Now()
	s.must(b, args...)
	return time.Since(start).Seconds()
}

// upDown runs b.N times: before (when not nil) with the run's index, then the timed up command,
// then a timed down; it reports the median and spread of both.
func (s *benchStack) upDown(b *testing.B, rep *benchReport, what string, before func(i int), up ...string) {
	b.Helper()
	var ups, downs, upCPU []float64
	berth := resolvedBerth()
	// No b.ResetTimer here: it would drop the metrics reported before.
	for i := range b.N {
		if before != nil {
			before(i)
		}
		ticks0 := s.d.ticksByGroup(berth)
		ups = append(ups, s.timed(b, up...))
		ticks1 := s.d.ticksByGroup(berth)
		var t int64
		for _, g := range allGroups {
			t += ticks1[g] - ticks0[g]
		}
		upCPU = append(upCPU, float64(t)/clockTicks)
		downs = append(downs, s.timed(b, "down"))
	}
	metric := strings.ReplaceAll(strings.TrimPrefix(what, s.name), " ", "") // "", "cold", "cached"
	if metric != "" {
		metric += "-"
	}
	rep.seconds(b, what+" `"+strings.Join(up, " ")+"`", ups, metric+"up")
	rep.seconds(b, what+" `down`", downs, metric+"down")
	// The CPU the up cost the engine and the containers (runc's and the
	// probes' included, reaped by the shims), berth's command line not
	// counted; the stack's processes are all new, so nothing else is.
	rep.seconds(b, what+" `"+strings.Join(up, " ")+"`: CPU of berth's project process, containerd, the shims and all under them", upCPU, metric+"up-cpu")
	b.ReportMetric(0, "ns/op")
}

// steadyState measures a stack of services services that is up, its rows
// named by what: CPU over 10 one-second samples after a settling time,
// the peak PSS of each process group over 5 samples after that, and the
// latency of the probes in the containers' health logs; with the CPU and
// the PSS per service.
func (s *benchStack) steadyState(b *testing.B, rep *benchReport, what string, services int) {
	b.Helper()
	metric := strings.NewReplacer(" ", "-", "`", "").Replace(what) + "-"
	// The eager probes of the start are over after one interval (1 s).
	time.Sleep(3 * time.Second)
	berth := resolvedBerth()
	const window = 10
	first, err := readCPUTimes()
	if err != nil {
		b.Fatal(err)
	}
	ticks0, start := s.d.ticksByGroup(berth), time.Now()
	var shares []float64
	prev := first
	for range window {
		time.Sleep(time.Second)
		now, err := readCPUTimes()
		if err != nil {
			b.Fatal(err)
		}
		shares = append(shares, 100*busyShare(prev, now))
		prev = now
	}
	ticks1, elapsed := s.d.ticksByGroup(berth), time.Since(start).Seconds()
	rep.row(fmt.Sprintf(what+" steady state: CPU busy, all cores of the machine (/proc/stat, %d × 1 s; includes everything else the machine runs)", window),
		pct(100*busyShare(first, prev)), pct(slices.Min(shares)), pct(slices.Max(shares)))
	b.ReportMetric(100*busyShare(first, prev), metric+"machine-busy-%")
	// A probe, and runc, end within the window and their CPU moves to the
	// shim that reaps them: the shims are counted with everything under
	// them, else a group would lose what another gains.
	share := func(groups ...procGroup) float64 {
		var t int64
		for _, g := range groups {
			t += ticks1[g] - ticks0[g]
		}
		return 100 * float64(t) / clockTicks / elapsed
	}
	for _, g := range [][]procGroup{{groupBerth}, {groupBerthShim}, {groupContainerd}, {groupShims, groupRunc, groupContainers}} {
		group := groupText(g[0])
		if len(g) > 1 {
			group = "shims and all under them (runc, probes, the containers' processes)"
		}
		rep.row(what+" steady state: CPU of "+group+", % of one core", pct(share(g...)), "", "")
	}
	all := share(allGroups...)
	rep.row(what+" steady state: CPU of all the above, % of one core", pct(all), "", "")
	rep.row(what+" steady state: CPU of all the above per service, % of one core", fmt.Sprintf("%.2f %%", all/float64(services)), "", "")
	b.ReportMetric(all, metric+"stack-cpu-%core")

	peak, engine := s.d.peakPss(berth, 5, time.Second)
	for _, g := range allGroups {
		rep.row(fmt.Sprintf("%s peak PSS: %s (%s)", what, groupText(g), plural(peak[g].procs, "process", "processes")), mib(peak[g].pssKiB), "", "")
	}
	rep.row(what+" peak PSS: berth, containerd, shims, runc together (containers' processes not counted)", mib(engine), "", "")
	perService := float64(engine-peak[groupContainerd].pssKiB-peak[groupBerth].pssKiB) / 1024 / float64(services)
	rep.row(what+" peak PSS per service beyond containerd and berth's project process", fmt.Sprintf("%.1f MiB", perService), "", "")
	b.ReportMetric(float64(engine)/1024, metric+"engine-pss-MiB")

	lat, failed, gaps := s.probeLatencies(b)
	if len(lat) == 0 {
		b.Fatalf("no probe results in the health logs of %s", what)
	}
	rep.ms(b, fmt.Sprintf(what+" steady state: probe latency, End − Start in the health logs (%d probes, %d failed); min–max", len(lat), failed), lat, metric+"probe")
	b.ReportMetric(percentile(lat, 90), metric+"probe-p90-ms")
	if len(gaps) > 0 {
		// Probes wait for a free slot (the supervisor's ProbeLimit): with
		// many services the interval they get may be longer than asked.
		rep.row(what+" steady state: time from a probe's start to the next one's in the health logs (interval 1 s asked); min–max",
			millis(median(gaps)), millis(slices.Min(gaps)), millis(slices.Max(gaps)))
		b.ReportMetric(median(gaps), metric+"probe-gap-median-ms")
	}
}

// probeLatencies returns End − Start, in milliseconds, of every probe in
// the health logs of the stack's containers, how many of them failed, and
// the gaps between the starts of a container's consecutive probes.
func (s *benchStack) probeLatencies(b *testing.B) (ms []float64, failed int, gaps []float64) {
	b.Helper()
	var names []string
	for _, line := range strings.Split(s.must(b, "ps", "--format", "{{.Name}}"), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			names = append(names, line)
		}
	}
	var inspected []struct {
		State struct {
			Health *struct {
				Log []struct {
					Start, End time.Time
					ExitCode   int
				}
			}
		}
	}
	out, err := s.d.command(s.dir, append([]string{"container", "inspect"}, names...)...).Output()
	if err != nil {
		b.Fatalf("berth container inspect: %v", err)
	}
	if err := json.Unmarshal(out, &inspected); err != nil {
		b.Fatalf("berth container inspect: %v: %s", err, out)
	}
	for _, c := range inspected {
		if c.State.Health == nil {
			continue
		}
		for i, r := range c.State.Health.Log {
			if i > 0 {
				gaps = append(gaps, float64(r.Start.Sub(c.State.Health.Log[i-1].Start).Microseconds())/1000)
			}
			ms = append(ms, float64(r.End.Sub(r.Start).Microseconds())/1000)
			if r.ExitCode != 0 {
				failed++
			}
		}
	}
	return ms, failed, gaps
}

// traceChain brings chain10 up once more under `ctr events` and reports
// where the time of one link of the chain goes (the median over links
// s02…s10, with the spread), and of the start of s01, which waits for
// nothing.
func (s *benchStack) traceChain(b *testing.B, rep *benchReport) {
	b.Helper()
	rec := s.d.recordEvents(b)
	upAt := time.Now()
	s.must(b, "up", "-d", "--wait")
	traces := traceContainers(rec.stop())
	s.must(b, "down")
	var chain []string
	for i := 1; i <= 10; i++ {
		chain = append(chain, fmt.Sprintf("%s-s%02d-1", s.project, i))
	}
	steps, probes := chainBreakdown(traces, chain)
	for _, st := range linkSteps {
		if v := steps[st.what]; len(v) > 0 {
			rep.row(fmt.Sprintf("chain10 link (%d of 9): %s", len(v), st.what),
				millis(median(v)*1000), millis(v[0]*1000), millis(v[len(v)-1]*1000))
		}
	}
	if len(probes) > 0 {
		rep.row("chain10 link: probes run until healthy", fmt.Sprintf("%.0f", median(probes)), fmt.Sprintf("%.0f", probes[0]), fmt.Sprintf("%.0f", probes[len(probes)-1]))
	}
	if c := traces[chain[0]]; c != nil {
		for _, st := range []struct {
			what string
			at   time.Time
		}{{"container created", c.created}, {"task created", c.taskCreated}, {"task started", c.taskStarted}, {"healthy", c.healthy}} {
			if d, ok := between(upAt, st.at); ok {
				rep.row("chain10 s01 (waits for nothing): `up` run → "+st.what, millis(d.Seconds()*1000), "", "")
			}
		}
	}
}

// benchReport gathers the rows of the table BenchmarkStacks prints.
type benchReport struct{ rows []string }

// row adds a table row.
func (r *benchReport) row(what, median, lo, hi string) {
	r.rows = append(r.rows, fmt.Sprintf("| %s | %s | %s | %s |", what, median, lo, hi))
}

// seconds reports v (seconds) as metric-median-s, -min-s, -max-s and adds
// its row.
func (r *benchReport) seconds(b *testing.B, what string, v []float64, metric string) {
	m := spread(b, v, metric+"-median-s", metric+"-min-s", metric+"-max-s")
	r.row(what, fmt.Sprintf("%.2f s", m), fmt.Sprintf("%.2f s", v[0]), fmt.Sprintf("%.2f s", v[len(v)-1]))
}

// ms reports v (milliseconds) as metric-p50-ms with its spread and adds
// its row.
func (r *benchReport) ms(b *testing.B, what string, v []float64, metric string) {
	m := spread(b, v, metric+"-p50-ms", metric+"-min-ms", metric+"-max-ms")
	r.row(what, millis(m)+" (p90 "+millis(percentile(v, 90))+")", millis(v[0]), millis(v[len(v)-1]))
}

// print writes the table to standard output.
func (r *benchReport) print() {
	if len(r.rows) == 0 {
		return
	}
	fmt.Println("| what (BenchmarkStacks) | median | min | max |")
	fmt.Println("|---|---|---|---|")
	for _, row := range r.rows {
		fmt.Println(row)
	}
}

// percentile returns the p-th percentile (nearest rank) of v.
func percentile(v []float64, p float64) float64 {
	s := slices.Sorted(slices.Values(v))
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

func pct(v float64) string    { return fmt.Sprintf("%.1f %%", v) }
func mib(kib int64) string    { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }
func millis(v float64) string { return fmt.Sprintf("%.1f ms", v) }

// plural is "1 process", "30 processes".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// groupText names a process group in the report.
func groupText(g procGroup) string {
	switch g {
	case groupBerth:
		return "berth's project process"
	case groupBerthShim:
		return "berth under the shims (log drivers)"
	case groupShims:
		return "shims"
	case groupRunc:
		return "runc (while running)"
	case groupContainers:
		return "containers' processes and probes"
	}
	return string(g)
}
