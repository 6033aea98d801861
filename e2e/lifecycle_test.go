//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"
)

// chain is three services, each depending on the previous, each printing a
// line at start and then every 0.2 s, and stopping at once on SIGTERM.
const chain = `
services:
  db:
    image: ` + testImage + `
    command: ["sh", "-c", "trap 'exit 0' TERM; echo hello from db; while true; do echo tick; sleep 0.2 & wait $$!; done"]
  api:
    image: ` + testImage + `
    depends_on: [db]
    environment:
      MODE: ${MODE:-one}
    command: ["sh", "-c", "trap 'exit 0' TERM; echo hello from api $$MODE; while true; do sleep 1 & wait $$!; done"]
  web:
    image: ` + testImage + `
    depends_on: [api]
    command: ["sh", "-c", "trap 'exit 0' TERM; echo hello from web; while true; do sleep 1 & wait $$!; done"]
`

func TestUpPsLogsDown(t *testing.T) {
	t.Parallel()
	p := newProject(t, chain, nil)
	p.must("up", "-d")

	ps := p.ps(false)
	if len(ps) != 3 {
		t.Fatalf("ps shows %d containers, want 3: %+v", len(ps), ps)
	}
	for _, c := range ps {
		if c.State != "running" || c.Project != p.name || c.Name != p.name+"-"+c.Service+"-1" || !strings.HasPrefix(c.Status, "Up") {
			t.Errorf("ps entry %+v: want running, project %s, name <project>-<service>-1, status Up…", c, p.name)
		}
		if c.label("com.docker.compose.config-hash") == "" || c.label("com.docker.compose.project") != p.name {
			t.Errorf("ps entry %s lacks compose labels: %s", c.Name, c.Labels)
		}
	}

	p.waitFor("each service's first line in the logs", 10*time.Second, func() bool {
		out := p.must("logs", "--no-color").stdout
		return strings.Contains(out, "db-1 ") && !strings.Contains(out, p.name+"-db-1 ") && strings.Contains(out, "| hello from db") &&
			strings.Contains(out, "| hello from api one") && strings.Contains(out, "| hello from web")
	})
	if out := p.must("logs", "--tail", "1", "web").stdout; strings.Count(out, "\n") != 1 || !strings.Contains(out, "hello from web") {
		t.Errorf("logs --tail 1 web = %q, want one line", out)
	}
	if out := p.must("logs", "-t", "--no-log-prefix", "web").stdout; !strings.Contains(out, "Z hello from web") {
		t.Errorf("logs -t = %q, want an RFC 3339 timestamp before the line", out)
	}

	// Re-up changes nothing.
	started := map[string]string{}
	for _, c := range ps {
		started[c.Name] = c.label("berth.started-at")
	}
	r := p.must("up", "-d")
	if !strings.Contains(r.stderr, "Nothing to do") {
		t.Errorf("second up did not say it had nothing to do:\n%s", r.stderr)
	}
	for _, c := range p.ps(false) {
		if c.label("berth.started-at") != started[c.Name] {
			t.Errorf("second up restarted %s", c.Name)
		}
	}

	// A changed service is recreated alone.
	r = p.berthEnv([]string{"MODE=two"}, "up", "-d")
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	for _, c := range p.ps(false) {
		changed := c.label("berth.started-at") != started[c.Name]
		if changed != (c.Service == "api") {
			t.Errorf("after changing api's environment, %s restarted = %v", c.Name, changed)
		}
	}
	p.waitFor("api's new output", 10*time.Second, func() bool {
		return strings.Contains(p.must("logs", "api").stdout, "hello from api two")
	})

	p.must("down")
	if left := p.ps(true); len(left) != 0 {
		t.Errorf("ps -a after down shows %+v", left)
	}
	p.assertNothingLeft()
}

func TestLogsFollow(t *testing.T) {
	t.Parallel()
	p := newProject(t, chain, nil)
	p.must("up", "-d", "db")
	// Lines written after logs -f started arrive: wait for more ticks than
	// existed when it started.
	before := strings.Count(p.must("logs", "db").stdout, "tick")
	seen := 0
	p.follow([]string{"logs", "-f", "--no-color", "db"}, 15*time.Second, func(line string) bool {
		if strings.Contains(line, "| tick") {
			seen++
		}
		return seen > before+3
	})
}

// TestLogsFollowAcrossRestart follows a service whose container exits, is
// started again by up, and writes again: the same logs -f sees both runs.
func TestLogsFollowAcrossRestart(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  job:
    image: `+testImage+`
    command: ["sh", "-c", "echo run at $$(date +%s%N)"]
`, nil)
	p.must("up", "-d")
	p.waitFor("the first run to exit", 10*time.Second, func() bool {
		ps := p.ps(true)
		return len(ps) == 1 && ps[0].State == "exited" && strings.Contains(p.must("logs", "job").stdout, "run at")
	})
	runs := 0
	restarted := false
	p.follow([]string{"logs", "-f", "--no-color", "job"}, 20*time.Second, func(line string) bool {
		if strings.Contains(line, "| run at") {
			runs++
		}
		if runs == 1 && !restarted {
			restarted = true
			if r := p.berth("up", "-d"); r.code != 0 {
				t.Errorf("up -d to restart the exited job: %s", r)
			}
		}
		return runs == 2
	})
	if ps := p.ps(true); len(ps) != 1 || ps[0].ExitCode != 0 {
		t.Errorf("ps -a = %+v, want the one job container, exit code 0", ps)
	}
}
