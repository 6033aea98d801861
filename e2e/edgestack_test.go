//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// edgeStack is a copy of examples/edge-stack, run under the test's project
// name with its api on a free port of 127.0.0.1.
type edgeStack struct {
	*project
	api    string // http://127.0.0.1:PORT
	dbUser string
	dbName string
	http   *http.Client
}

// reading is a row of GET /readings.
type reading struct {
	ID     int64     `json:"id"`
	TS     time.Time `json:"ts"`
	Sensor string    `json:"sensor"`
	Value  float64   `json:"value"`
	Label  string    `json:"label"`
}

// newEdgeStack copies the example directory into a project of the test,
// appending API_PORT to its .env so that it does not clash with a demo
// running on 8080.
func newEdgeStack(t *testing.T) *edgeStack {
	t.Helper()
	src := filepath.Join(repoRoot, "examples", "edge-stack")
	files := map[string]string{}
	modes := map[string]fs.FileMode{}
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		files[rel], modes[rel] = string(b), info.Mode().Perm()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	compose := files["compose.yaml"]
	delete(files, "compose.yaml")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	files[".env"] += fmt.Sprintf("\nAPI_PORT=%d\n", port)
	p := newProject(t, compose, files)
	for rel, mode := range modes {
		if err := os.Chmod(filepath.Join(p.dir, rel), mode); err != nil {
			t.Fatal(err)
		}
	}
	// Cold, the three images are built with apt-get from Debian's mirror.
	p.timeout = 15 * time.Minute
	// The db image is named edge-stack-db whatever the project (migrate
	// shares it), as the demo names it: it is left for the demo.
	removeImages(t, "docker.io/library/"+p.name+"-worker:latest", "docker.io/library/"+p.name+"-api:latest")
	env := map[string]string{}
	for _, line := range strings.Split(files[".env"], "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok && !strings.HasPrefix(k, "#") {
			env[k] = v
		}
	}
	return &edgeStack{
		project: p,
		api:     fmt.Sprintf("http://127.0.0.1:%d", port),
		dbUser:  env["POSTGRES_USER"],
		dbName:  env["POSTGRES_DB"],
		http:    &http.Client{Timeout: 5 * time.Second},
	}
}

// get fetches a path of the api: its status and body, or an error.
func (s *edgeStack) get(path string) (int, string, error) {
	resp, err := s.http.Get(s.api + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// readings is GET /readings?limit=N, or nil when the api does not answer 200.
func (s *edgeStack) readings(limit int) []reading {
	s.t.Helper()
	code, body, err := s.get("/readings?limit=" + strconv.Itoa(limit))
	if err != nil || code != http.StatusOK {
		return nil
	}
	var rows []reading
	if err := json.Unmarshal([]byte(body), &rows); err != nil {
		s.t.Fatalf("GET /readings: %v: %s", err, body)
	}
	return rows
}

// newest is the highest id the api returns, 0 when it returns none.
func (s *edgeStack) newest() int64 {
	if rows := s.readings(1); len(rows) > 0 {
		return rows[0].ID
	}
	return 0
}

// waitNewRows waits until the api returns a row newer than after.
func (s *edgeStack) waitNewRows(what string, after int64) int64 {
	s.t.Helper()
	var id int64
	s.waitFor(what, 60*time.Second, func() bool {
		id = s.newest()
		return id > after
	})
	return id
}

// psql runs a query with psql in the db container and returns its
// unaligned, tuples-only output.
func (s *edgeStack) psql(query string) string {
	s.t.Helper()
	r := s.must("exec", "-T", "db", "psql", "-U", s.dbUser, "-d", s.dbName, "-v", "ON_ERROR_STOP=1", "-tAc", query)
	return strings.TrimSpace(r.stdout)
}

// TestEdgeStack runs examples/edge-stack, the README's demo: it comes up
// healthy, the worker's rows reach the api and its page, the data outlives
// down/up and goes with down -v, a killed worker is restarted, and worker
// and api get over a database restart.
func TestEdgeStack(t *testing.T) {
	loadDebianImage(t)
	s := newEdgeStack(t)
	start := time.Now()
	s.must("up", "-d", "--build", "--wait", "--wait-timeout", "300")
	t.Logf("up -d --build --wait: %s", time.Since(start).Round(time.Millisecond))
	for _, e := range s.ps(true) {
		want := map[string]string{"db": "running healthy", "api": "running healthy", "worker": "running ", "migrate": "exited "}[e.Service]
		if got := e.State + " " + e.Health; got != want || e.Service == "migrate" && e.ExitCode != 0 {
			t.Errorf("%s after up --wait: %q (exit %d), want %q", e.Name, got, e.ExitCode, want)
		}
	}

	// The worker's rows reach the api within seconds, newest first.
	s.waitFor("the api to return the worker's rows", 30*time.Second, func() bool { return len(s.readings(5)) == 5 })
	rows := s.readings(5)
	for i, r := range rows {
		if r.Sensor == "" || r.Label == "" || r.TS.IsZero() || i > 0 && r.ID >= rows[i-1].ID {
			t.Errorf("GET /readings?limit=5: row %d is %+v; all: %+v", i, r, rows)
		}
	}
	for _, bad := range []string{"0", "1001", "abc", "-1", "2.5"} {
		if code, body, err := s.get("/readings?limit=" + bad); err != nil || code != http.StatusBadRequest {
			t.Errorf("GET /readings?limit=%s: %d %s %v, want 400", bad, code, body, err)
		}
	}
	if code, body, err := s.get("/"); err != nil || code != http.StatusOK || !strings.Contains(body, "<table>") || !strings.Contains(body, rows[0].Sensor) {
		t.Errorf("GET /: %d %v:\n%s", code, err, body)
	}
	if code, body, err := s.get("/health"); err != nil || code != http.StatusOK || !strings.Contains(body, `"status":"ok"`) {
		t.Errorf("GET /health: %d %s %v", code, body, err)
	}
	if out := s.must("logs", "worker").stdout; !strings.Contains(out, "connected to "+s.dbUser+"@db/"+s.dbName) || !strings.Contains(out, "batch 1: ") {
		t.Errorf("berth logs worker:\n%s", out)
	}
	if n, err := strconv.Atoi(s.psql("select count(*) from readings")); err != nil || n < 5 {
		t.Errorf("select count(*) from readings: %d, %v", n, err)
	}

	// down and up: the named volume keeps the rows.
	before := s.newest()
	written := s.psql(fmt.Sprintf("select count(*) from readings where id <= %d", before))
	s.must("down")
	s.must("up", "-d", "--wait", "--wait-timeout", "120")
	if got := s.psql(fmt.Sprintf("select count(*) from readings where id <= %d", before)); got != written {
		t.Errorf("after down and up, %s of the %s rows written before are left", got, written)
	}
	s.waitNewRows("new rows after down and up", before)

	// The worker's process is killed (not stopped by berth): it is
	// restarted, and rows keep coming.
	worker := s.name + "-worker-1"
	syscall.Kill(taskPid(t, worker), syscall.SIGKILL)
	s.waitFor("the worker to be restarted", 30*time.Second, func() bool {
		e := s.entry(worker)
		return e.State == "running" && e.RestartCount == 1
	})
	latest := s.waitNewRows("new rows from the restarted worker", s.newest())

	// The database restarts: worker and api reconnect by themselves (the
	// worker is not restarted for it).
	s.must("restart", "db")
	s.waitNewRows("new rows after the database restarted", latest)
	s.waitFor("the api's /health after the database restarted", 30*time.Second, func() bool {
		code, _, _ := s.get("/health")
		return code == http.StatusOK
	})
	if e := s.entry(worker); e.State != "running" || e.RestartCount != 1 {
		t.Errorf("worker after the database restarted: %s, %d restarts (want 1: it reconnects)", e.State, e.RestartCount)
	}
	if out := s.must("logs", "worker").stdout; !strings.Contains(out, "lost the database") && !strings.Contains(out, "database unavailable") {
		t.Errorf("the worker did not say it lost the database:\n%s", out)
	}
	if e := s.entry(s.name + "-api-1"); e.RestartCount != 0 {
		t.Errorf("api was restarted %d times", e.RestartCount)
	}

	// down -v drops the data: the next up starts from an empty database.
	volume := berthDataDir() + "/volumes/" + s.name + "_db-data"
	if _, err := os.Stat(filepath.Join(volume, "_data", "PG_VERSION")); err != nil {
		t.Errorf("the database is not in its named volume: %v", err)
	}
	dropped := s.psql("select now()")
	s.must("down", "-v")
	if _, err := os.Stat(volume); !os.IsNotExist(err) {
		t.Errorf("down -v left %s (%v)", volume, err)
	}
	s.must("up", "-d", "--wait", "--wait-timeout", "120")
	s.waitNewRows("rows in the new database", 0)
	if got := s.psql("select count(*) from readings where ts <= '" + dropped + "'"); got != "0" {
		t.Errorf("after down -v and up, %s rows older than the drop are left", got)
	}
}
