//go:build e2e

package e2e

import (
	"strings"
	"testing"
)

// TestBadInput checks that each bad input fails with one clear line on
// stderr naming what is wrong, a non-zero status, and nothing created.
func TestBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		compose string
		args    []string
		want    []string
	}{
		{"yaml syntax", "services:\n  a:\n    image: " + testImage + "\n   bad: indent\n", []string{"up", "-d"}, []string{"compose.yaml", "yaml"}},
		{"unknown key", "services:\n  a:\n    image: " + testImage + "\n    colour: red\n", []string{"up", "-d"}, []string{"compose.yaml", "colour"}},
		{"missing variable", "services:\n  a:\n    image: " + testImage + "\n    command: ${MUST:?set MUST first}\n", []string{"up", "-d"}, []string{"MUST", "set MUST first"}},
		{"unknown dependency", "services:\n  a:\n    image: " + testImage + "\n    depends_on: [nope]\n", []string{"up", "-d"}, []string{`"nope"`}},
		{"cycle", "services:\n  a:\n    image: " + testImage + "\n    depends_on: [b]\n  b:\n    image: " + testImage + "\n    depends_on: [a]\n", []string{"up", "-d"}, []string{"a -> b -> a"}},
		{"bad port", "services:\n  a:\n    image: " + testImage + "\n    ports: [\"80:80:80:80\"]\n", []string{"up", "-d"}, []string{"compose.yaml", "80:80"}},
		{"undefined volume", "services:\n  a:\n    image: " + testImage + "\n    volumes: [\"data:/data\"]\n", []string{"up", "-d"}, []string{"compose.yaml", "data"}},
		{"unknown service", "services:\n  a:\n    image: " + testImage + "\n", []string{"up", "-d", "nope"}, []string{"no such service: nope"}},
		{"missing image, never pull", "services:\n  a:\n    image: berth-e2e.local/absent:1\n    pull_policy: never\n", []string{"up", "-d"}, []string{`service "a"`, "absent:1", "berth load"}},
		{"registry unreachable", "services:\n  a:\n    image: 127.0.0.1:1/absent:1\n", []string{"up", "-d"}, []string{`service "a"`, "127.0.0.1:1/absent:1", "cannot be reached"}},
		{"command not found", "services:\n  ok:\n    image: " + testImage + "\n    command: [sleep, '600']\n  a:\n    image: " + testImage + "\n    depends_on: [ok]\n    command: [/nonexistent]\n  b:\n    image: " + testImage + "\n    depends_on: [a]\n",
			[]string{"up", "-d"}, []string{"/nonexistent", `service "b" skipped`}},
		{"unknown user", "services:\n  a:\n    image: " + testImage + "\n    user: nosuchuser\n", []string{"up", "-d"}, []string{`service "a"`, `user "nosuchuser"`, "numeric uid"}},
		{"missing external network", "services:\n  a:\n    image: " + testImage + "\n    networks: [shared]\nnetworks:\n  shared:\n    external: true\n    name: nobody-made-this\n", []string{"up", "-d"}, []string{"nobody-made-this", "declared as external, but could not be found"}},
		{"network driver", "services:\n  a:\n    image: " + testImage + "\nnetworks:\n  default:\n    driver: overlay\n", []string{"up", "-d"}, []string{`network "default"`, "overlay"}},
		{"abort flag with -d", "services:\n  a:\n    image: " + testImage + "\n", []string{"up", "-d", "--abort-on-container-exit"}, []string{"attached mode: drop -d"}},
		{"exit code flag with --wait", "services:\n  a:\n    image: " + testImage + "\n", []string{"up", "--wait", "--exit-code-from", "a"}, []string{"attached mode: drop -d/--wait"}},
		{"exit code of an unknown service", "services:\n  a:\n    image: " + testImage + "\n", []string{"up", "--exit-code-from", "nope"}, []string{"--exit-code-from nope", "no such service"}},
		{"attach an unknown service", "services:\n  a:\n    image: " + testImage + "\n", []string{"up", "--attach", "nope"}, []string{"--attach nope", "no such service"}},
		{"wait without containers", "services:\n  a:\n    image: " + testImage + "\n", []string{"wait", "a"}, []string{"service a has no container", "berth up -d"}},
		{"run --env-from-file missing", "services:\n  a:\n    image: " + testImage + "\n", []string{"run", "-d", "--rm", "--env-from-file", "missing.env", "a"}, []string{"run --env-from-file", "missing.env"}},
		{"ps --format broken template", "services:\n  a:\n    image: " + testImage + "\n", []string{"ps", "--format", "{{.Name"}, []string{"ps --format", "Go template"}},
		{"config --variables --format xml", "services:\n  a:\n    image: " + testImage + "\n", []string{"config", "--variables", "--format", "xml"}, []string{"use table, json or yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newProject(t, tt.compose, nil)
			r := p.berth(tt.args...)
			if r.code == 0 {
				t.Fatalf("want a failure:\n%s", r)
			}
			msg := strings.TrimSpace(r.stderr)
			if i := strings.LastIndex(msg, "\n"); i >= 0 && tt.name != "command not found" {
				// Progress lines may come first; the error is the last line.
				msg = msg[i+1:]
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q\n%s", msg, w, r)
				}
			}
			if tt.name == "command not found" {
				// The failed container is rolled back; its dependency stays up, as in docker compose.
				ps := p.ps(true)
				if len(ps) != 1 || ps[0].Service != "ok" {
					t.Errorf("after the failed start, ps -a = %+v, want only ok's container", ps)
				}
				return
			}
			if ps := p.ps(true); len(ps) != 0 {
				t.Errorf("a failed up left containers: %+v", ps)
			}
			p.assertNothingLeft()
		})
	}
}
