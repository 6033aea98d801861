//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"

	"github.com/berth/berth/netbridge"
)

// cyclesCount is how many up/down cycles TestCycles runs: BERTH_CYCLES,
// 50 by default.
func cyclesCount(t *testing.T) int {
	v := os.Getenv("BERTH_CYCLES")
	if v == "" {
		return 50
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 2 {
		t.Fatalf("BERTH_CYCLES=%q: want a number of cycles, 2 or more", v)
	}
	return n
}

// census is what TestCycles counts between cycles: for each kind of thing
// a project makes, the things there are (names, to show what was left).
type census map[string][]string

// rssTolerance is how much containerd's resident memory may grow over the
// cycles without counting as a leak. containerd is a Go program: its heap
// may grow to twice what it keeps live before a collection, and the Go
// runtime returns freed pages to the system only minutes later, so its RSS
// at two moments differs by up to its live heap (about 10 MB here) with
// nothing leaked. A leak that matters, of a cycle's worth of state or
// more, is caught by the exact counts (containers, tasks, snapshots,
// leases, descriptors) long before it adds up to this.
const rssTolerance = 16 << 10 // kB

// TestCycles brings a stack with a build, a network of its own, a
// published port, a named volume and a healthcheck up and down
// BERTH_CYCLES times (50 by default) on a private containerd, and checks
// that everything counted after the first cycle (which builds the image)
// is there in the same numbers after the last: containers, tasks,
// snapshots, leases, images, network namespaces, links, nft rules,
// mounts, IPAM entries, files under berth's data and run directories, and
// containerd's descriptors; its resident memory within rssTolerance.
func TestCycles(t *testing.T) {
	n := cyclesCount(t)
	d := onPrivateDaemon(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	p := newProject(t, fmt.Sprintf(`services:
  web:
    build: .
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    stop_signal: SIGKILL
    ports: ["127.0.0.1:%d:8080"]
    networks: [front]
    volumes: ["data:/data"]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O/dev/null", "http://127.0.0.1:8080/"]
      interval: 1s
  side:
    image: %s
    command: ["sh", "-c", "echo $$(date) >> /data/cycles; exec sleep 86400"]
    stop_signal: SIGKILL
    networks: [front]
    volumes: ["data:/data"]
    depends_on:
      web: {condition: service_healthy}
networks:
  front: {}
volumes:
  data: {}
`, port, testImage), map[string]string{
		"Dockerfile": "FROM " + testImage + "\nCOPY index.html /www/index.html\nRUN echo built > /www/built\n",
		"index.html": "<h1>cycles</h1>\n",
	})
	bridges := []string{netbridge.BridgeName(d.scoped(p.name + "_front"))}
	// links are the project's links seen while it is up: its bridges and
	// the host ends of its veths (their names are the same every cycle).
	links := map[string]bool{}
	for _, b := range bridges {
		links[b] = true
	}
	cycle := func(i int) (up, down time.Duration) {
		start := time.Now()
		p.must("up", "-d", "--wait")
		up = time.Since(start)
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/built", port))
		if err != nil {
			t.Fatalf("cycle %d: the published port: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "built\n" {
			t.Fatalf("cycle %d: the published port answered %q, want %q", i, body, "built\n")
		}
		for _, b := range bridges {
			ports, _ := os.ReadDir(filepath.Join("/sys/class/net", b, "brif"))
			for _, port := range ports {
				links[port.Name()] = true
			}
		}
		start = time.Now()
		p.must("down", "-v")
		return up, time.Since(start)
	}

	// The first cycle builds the image and fills containerd's caches.
	first, firstDown := cycle(0)
	before := p.settledCensus(d, links)
	rssBefore := settledProcStats(t, containerdPID(t, d.runDir))
	var upTotal, downTotal, slowest time.Duration
	start := time.Now()
	for i := 1; i < n; i++ {
		up, down := cycle(i)
		upTotal, downTotal = upTotal+up, downTotal+down
		slowest = max(slowest, up+down)
	}
	elapsed := time.Since(start)
	after := p.settledCensus(d, links)
	rssAfter := settledProcStats(t, containerdPID(t, d.runDir))

	t.Logf("first cycle (build): up %s, down %s", first.Round(time.Millisecond), firstDown.Round(time.Millisecond))
	t.Logf("%d more cycles in %s: %s per cycle (up %s, down %s on average; slowest %s)", n-1, elapsed.Round(time.Millisecond),
		(elapsed / time.Duration(n-1)).Round(time.Millisecond), (upTotal / time.Duration(n-1)).Round(time.Millisecond),
		(downTotal / time.Duration(n-1)).Round(time.Millisecond), slowest.Round(time.Millisecond))
	t.Logf("containerd before: %s; after: %s; links followed: %d", rssBefore, rssAfter, len(links))
	keys := make([]string, 0, len(before))
	for k := range before {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var counts []string
	for _, k := range keys {
		counts = append(counts, fmt.Sprintf("%s %d/%d", k, len(before[k]), len(after[k])))
		if gone, added := diff(before[k], after[k]); len(gone)+len(added) > 0 {
			t.Errorf("%s: %d before, %d after %d cycles; new: %s; gone: %s", k, len(before[k]), len(after[k]), n-1, list(added), list(gone))
		}
	}
	t.Logf("counts before/after: %s", strings.Join(counts, ", "))
	if os.Getenv("BERTH_CYCLES_SHOW") != "" {
		for _, k := range keys {
			t.Logf("%s: %s", k, strings.Join(after[k], " "))
		}
	}
	if rssAfter.fds != rssBefore.fds {
		t.Errorf("containerd holds %d descriptors after %d cycles, %d before", rssAfter.fds, n-1, rssBefore.fds)
	}
	if rssAfter.rssKB > rssBefore.rssKB+rssTolerance {
		t.Errorf("containerd's RSS grew from %d kB to %d kB over %d cycles (tolerance %d kB)", rssBefore.rssKB, rssAfter.rssKB, n-1, rssTolerance)
	}
}

// settledCensus is the census once two taken in a row agree: containerd
// removes a deleted snapshot's files in its garbage collection, a moment
// after the deletion. What leaks is in every census; it waits 20 s at
// most.
func (p *project) settledCensus(d *privateDaemon, links map[string]bool) census {
	p.t.Helper()
	c := p.census(d, links)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		time.Sleep(300 * time.Millisecond)
		next := p.census(d, links)
		if reflect.DeepEqual(next, c) {
			return c
		}
		c = next
	}
	return c
}

// census counts what the project, and the private daemon it runs on, has:
// in containerd, in the kernel (namespaces, links, nft, mounts), in the
// IPAM state and as files. Projects are down when it is called, so the
// project's entries are all expected to be gone; the daemon's (images,
// the build's cache) to stay the same.
func (p *project) census(d *privateDaemon, links map[string]bool) census {
	t := p.t
	t.Helper()
	c := census{}
	base := filepath.Dir(d.dataDir)
	for _, what := range []string{"containers", "tasks", "snapshots", "leases", "images", "content"} {
		// The first column: names, keys or IDs (a header first).
		rows := []string{}
		for _, row := range strings.Split(strings.TrimSpace(d.ctr(what, "ls")), "\n")[1:] {
			if f := strings.Fields(row); len(f) > 0 {
				rows = append(rows, f[0])
			}
		}
		c["ctr "+what] = rows
	}
	c["netns"], c["links"], c["mounts"], c["processes"] = []string{}, []string{}, []string{}, []string{}
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "berth-"+p.name+"-") {
			c["netns"] = append(c["netns"], e.Name())
		}
	}
	for l := range links {
		if _, err := os.Lstat(filepath.Join("/sys/class/net", l)); err == nil {
			c["links"] = append(c["links"], l)
		}
	}
	c["nft"] = p.nftEntries(links)
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(line); len(f) > 4 && (strings.Contains(f[4], base) || strings.Contains(line, p.name)) {
			c["mounts"] = append(c["mounts"], f[4])
		}
	}
	c["ipam"] = ipamFileEntries(t, filepath.Join(d.dataDir, "network", "ipam.json"))
	for _, dir := range []string{d.dataDir, d.runDir} {
		var files []string
		filepath.WalkDir(dir, func(path string, _ os.DirEntry, err error) error { //nolint:errcheck // a file gone meanwhile is not counted
			if err == nil {
				files = append(files, path)
			}
			return nil
		})
		c["files under "+strings.TrimPrefix(dir, base+"/")] = files
	}
	// The processes of the private daemon: containerd, and its shims and
	// the project's process while it is up.
	procs, _ := os.ReadDir("/proc")
	for _, proc := range procs {
		if _, err := strconv.Atoi(proc.Name()); err != nil {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + proc.Name() + "/cmdline")
		if err == nil && (bytes.Contains(cmdline, []byte(base)) || bytes.Contains(cmdline, []byte("__dns\x00"+p.name+"\x00"))) {
			c["processes"] = append(c["processes"], strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
	return c
}

// nftEntries are the nft rules, chains and sets of the project: tagged
// with its name, or naming one of its links.
func (p *project) nftEntries(links map[string]bool) []string {
	p.t.Helper()
	conn, err := nftables.New()
	if err != nil {
		p.t.Fatalf("nftables: %v", err)
	}
	tables, err := conn.ListTables()
	if err != nil {
		p.t.Fatalf("nft tables: %v", err)
	}
	mentions := func(b []byte) bool {
		if bytes.Contains(b, []byte(p.name)) {
			return true
		}
		for l := range links {
			if bytes.Contains(b, []byte(l)) {
				return true
			}
		}
		return false
	}
	out := []string{}
	chains, _ := conn.ListChains()
	for _, ch := range chains {
		if mentions([]byte(ch.Name)) {
			out = append(out, "chain "+ch.Table.Name+"/"+ch.Name)
		}
		rules, _ := conn.GetRules(ch.Table, ch)
		for _, r := range rules {
			hit := mentions(r.UserData)
			for _, e := range r.Exprs {
				if cmp, ok := e.(*expr.Cmp); ok && mentions(cmp.Data) {
					hit = true
				}
			}
			if hit {
				out = append(out, fmt.Sprintf("rule %s/%s %q", ch.Table.Name, ch.Name, r.UserData))
			}
		}
	}
	for _, tb := range tables {
		sets, _ := conn.GetSets(tb)
		for _, s := range sets {
			if mentions([]byte(s.Name)) {
				out = append(out, "set "+tb.Name+"/"+s.Name)
			}
		}
	}
	return out
}

// ipamFileEntries are the networks, addresses, names and ports the IPAM state
// file records (the private daemon's: all of them are the test's).
func ipamFileEntries(t testing.TB, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return []string{}
	}
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Networks map[string]struct {
			Addresses map[string]any   `json:"addresses"`
			Names     map[string][]any `json:"names"`
		} `json:"networks"`
		Ports []json.RawMessage `json:"ports"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := []string{}
	for name, n := range st.Networks {
		out = append(out, "network "+name)
		for a := range n.Addresses {
			out = append(out, "address "+name+"/"+a)
		}
		for a := range n.Names {
			out = append(out, "names "+name+"/"+a)
		}
	}
	for _, pb := range st.Ports {
		out = append(out, "port "+string(pb))
	}
	return out
}

// diff returns what is only in a (gone) and only in b (added), as
// multisets.
func diff(a, b []string) (gone, added []string) {
	count := map[string]int{}
	for _, s := range a {
		count[s]++
	}
	for _, s := range b {
		count[s]--
	}
	for s, n := range count {
		for ; n > 0; n-- {
			gone = append(gone, s)
		}
		for ; n < 0; n++ {
			added = append(added, s)
		}
	}
	sort.Strings(gone)
	sort.Strings(added)
	return gone, added
}

// list shows at most 10 names.
func list(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	if len(names) > 10 {
		return strings.Join(names[:10], ", ") + fmt.Sprintf(" and %d more", len(names)-10)
	}
	return strings.Join(names, ", ")
}

// TestFailedUpReleasesVolumes: an up that fails removes the named volumes
// it made for the containers it removed again (app's command does not
// exist), and keeps a volume that was there before and those a container
// it left mounts.
func TestFailedUpReleasesVolumes(t *testing.T) {
	p := newProject(t, fmt.Sprintf(`services:
  db:
    image: %[1]s
    command: ["sleep", "86400"]
    stop_signal: SIGKILL
    volumes: ["kept:/kept", "shared:/shared"]
  app:
    image: %[1]s
    command: ["/nonexistent"]
    volumes: ["new:/new", "shared:/shared", "old:/old"]
    depends_on: [db]
volumes:
  kept: {}
  shared: {}
  new: {}
  old: {}
`, testImage), nil)
	// There before the up: made by a one-off.
	p.must("run", "--rm", "-T", "--no-deps", "-v", "old:/old", "db", "true")
	if r := p.berth("up", "-d"); r.code == 0 {
		t.Fatalf("up succeeded, want it to fail: %s", r)
	}
	var got []string
	for _, v := range p.projectFiles(filepath.Join(berthDataDir(), "volumes")) {
		if rel, err := filepath.Rel(filepath.Join(berthDataDir(), "volumes"), v); err == nil && !strings.Contains(rel, "/") {
			got = append(got, strings.TrimPrefix(rel, p.name+"_"))
		}
	}
	sort.Strings(got)
	if want := "kept,old,shared"; strings.Join(got, ",") != want {
		t.Errorf("volumes after the failed up: %s, want %s (app's new one removed)", strings.Join(got, ","), want)
	}
}
