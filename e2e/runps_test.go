//go:build e2e

package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestRunVolumesFlag: run --volumes (docker compose's spelling of
// --volume) bind-mounts a host path into the one-off.
func TestRunVolumesFlag(t *testing.T) {
	p := newProject(t, "services:\n  app:\n    image: "+testImage+"\n", nil)
	r := p.must("run", "--rm", "-T", "--volumes", p.dir+":/foo", "app", "ls", "/foo")
	if !strings.Contains(r.stdout, "compose.yaml") {
		t.Errorf("run --volumes: ls /foo printed %q, want compose.yaml", r.stdout)
	}
}

// TestRunEnvFromDotEnv: a bare run -e NAME takes NAME from the shell, else
// from .env (or --env-file, COMPOSE_ENV_FILES); --env-from-file adds a
// file's variables, -e winning.
func TestRunEnvFromDotEnv(t *testing.T) {
	p := newProject(t, "services:\n  app:\n    image: "+testImage+"\n", map[string]string{
		".env":      "FROM_DOT=dot\nBOTH=dot\n",
		"other.env": "FROM_DOT=other\n",
		"run.env":   "FOO=BAR\nBOTH=file\n",
	})
	r := p.berthEnv([]string{"BOTH=shell"}, "run", "--rm", "-T", "-e", "FROM_DOT", "-e", "BOTH", "--env-from-file", "run.env", "app", "env")
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	for _, want := range []string{"FROM_DOT=dot\n", "BOTH=shell\n", "FOO=BAR\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("run -e FROM_DOT -e BOTH --env-from-file: env lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, env := range [][]string{{"COMPOSE_ENV_FILES=other.env"}, nil} {
		args := []string{"run", "--rm", "-T", "-e", "FROM_DOT", "app", "env"}
		if env == nil {
			args = append([]string{"--env-file", "other.env"}, args...)
		}
		if r := p.berthEnv(env, args...); r.code != 0 || !strings.Contains(r.stdout, "FROM_DOT=other\n") {
			t.Errorf("run -e FROM_DOT with other.env (%v) = %s, want FROM_DOT=other", env, r)
		}
	}
}

// TestRunRmDetached: the one-off of run --rm -d is removed by the
// project's supervisor once it exits; one without --rm stays.
func TestRunRmDetached(t *testing.T) {
	p := newProject(t, "services:\n  app:\n    image: "+testImage+"\n", nil)
	gone := strings.TrimSpace(p.must("run", "--rm", "-d", "app", "sh", "-c", "sleep 1").stdout)
	kept := strings.TrimSpace(p.must("run", "-d", "app", "true").stdout)
	if gone == "" || kept == "" {
		t.Fatalf("run -d printed no container names: %q %q", gone, kept)
	}
	names := func() map[string]string {
		out := map[string]string{}
		for _, e := range p.ps(true) {
			out[e.Name] = e.State
		}
		return out
	}
	p.waitFor(kept+" to exit", 30*time.Second, func() bool { return names()[kept] == "exited" })
	p.waitFor(gone+" to be removed once it exited", 30*time.Second, func() bool {
		_, ok := names()[gone]
		return !ok
	})
	if names()[kept] != "exited" {
		t.Errorf("the one-off without --rm went: %v", names())
	}
}

// TestExecOneOff: exec reaches a one-off of run -d when no replica of the
// service runs; ps lists one-offs only with -a.
func TestExecOneOff(t *testing.T) {
	p := newProject(t, "services:\n  app:\n    image: "+testImage+"\n    command: sleep 300\n", nil)
	name := strings.TrimSpace(p.must("run", "-d", "app", "sleep", "300").stdout)
	if r := p.must("exec", "-T", "app", "hostname"); strings.TrimSpace(r.stdout) == "" {
		t.Errorf("exec into the one-off printed nothing: %s", r)
	}
	if r := p.must("exec", "-T", "app", "cat", "/proc/1/cmdline"); !strings.Contains(r.stdout, "sleep") {
		t.Errorf("exec ran in %q, want the one-off (sleep)", r.stdout)
	}
	found := false
	for _, e := range p.ps(true) {
		found = found || e.Name == name
	}
	if !found {
		t.Errorf("ps -a does not list the one-off %s", name)
	}
	for _, e := range p.ps(false) {
		if e.Name == name {
			t.Errorf("ps without -a lists the one-off %s", name)
		}
	}
	if r := p.berth("exec", "-T", "--index", "1", "app", "true"); r.code == 0 {
		t.Errorf("exec --index 1 with no replica = %s, want a failure", r)
	}
	// By project name alone (no compose file), as docker compose: the
	// one-off's service is found from its labels.
	if r := p.mustByName("exec", "-T", "app", "cat", "/proc/1/cmdline"); !strings.Contains(r.stdout, "sleep") {
		t.Errorf("exec -p NAME ran in %q, want the one-off (sleep)", r.stdout)
	}
	if r := p.byName("exec", "-T", "--index", "1", "app", "true"); r.code == 0 || !strings.Contains(r.stderr, `service "app" is not running container #1`) {
		t.Errorf("exec -p NAME --index 1 with no replica = %s, want docker compose's error", r)
	}
}

// TestWaitDownProject: wait --down-project takes the project down once
// the service it waits for exits.
func TestWaitDownProject(t *testing.T) {
	p := newProject(t, "services:\n  job:\n    image: "+testImage+"\n    command: sh -c 'sleep 1; exit 3'\n  web:\n    image: "+testImage+"\n    command: sleep 300\n", nil)
	p.must("up", "-d")
	r := p.berth("wait", "--down-project", "job")
	if !strings.HasPrefix(r.stdout, "3\n") || r.code != 3 {
		t.Errorf("wait printed %q, want the exit code 3 first", r.stdout)
	}
	if left := p.ps(true); len(left) != 0 {
		t.Errorf("after wait --down-project, ps -a lists %v", left)
	}
}

// TestPsFormatTemplate: ps --format takes Go templates, with a header for
// "table ...", and json fills Networks, Mounts and the compose version
// label; COMMAND of an init: true container is the service's.
func TestPsFormatTemplate(t *testing.T) {
	p := newProject(t, "services:\n  web:\n    image: "+testImage+"\n    command: sleep 300\n    init: true\n    volumes: [data:/data]\nvolumes:\n  data: {}\n", nil)
	p.must("up", "-d")
	r := p.must("ps", "--format", "{{.Name}} {{.Service}} {{.State}}")
	if want := p.name + "-web-1 web running\n"; r.stdout != want {
		t.Errorf("ps --format template printed %q, want %q", r.stdout, want)
	}
	r = p.must("ps", "--format", `table {{.Name}}\t{{.Service}}`)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "NAME ") || !strings.HasSuffix(lines[0], "SERVICE") || !strings.HasPrefix(lines[1], p.name+"-web-1 ") {
		t.Errorf("ps --format table printed %q", r.stdout)
	}
	var e struct{ Networks, Mounts, Labels, Command string }
	if err := json.Unmarshal([]byte(p.must("ps", "--format", "json").stdout), &e); err != nil {
		t.Fatal(err)
	}
	if e.Networks != p.name+"_default" || e.Mounts != p.name+"_data" || !strings.Contains(e.Labels, "com.docker.compose.version=") {
		t.Errorf("ps json Networks %q, Mounts %q, Labels %q; want the default network, the volume and com.docker.compose.version", e.Networks, e.Mounts, e.Labels)
	}
	if e.Command != `"sleep 300"` {
		t.Errorf("ps json Command = %s, want \"sleep 300\" (not berth's init)", e.Command)
	}
	if r := p.must("ps"); !strings.Contains(r.stdout, `"sleep 300"`) {
		t.Errorf("ps COMMAND of init: true:\n%s", r.stdout)
	}
}

// TestPsExposedPorts: ps shows the ports a service exposes without
// publishing them, as docker compose does.
func TestPsExposedPorts(t *testing.T) {
	p := newProject(t, "services:\n  web:\n    image: "+testImage+"\n    command: sleep 300\n    expose: ['8080', '80', '443']\n", nil)
	p.must("up", "-d")
	if ports := p.ps(false)[0].Ports; ports != "80/tcp, 443/tcp, 8080/tcp" {
		t.Errorf("ps PORTS = %q, want 80/tcp, 443/tcp, 8080/tcp", ports)
	}
	if r := p.must("ps"); !strings.Contains(r.stdout, "80/tcp, 443/tcp, 8080/tcp") {
		t.Errorf("ps table lacks the exposed ports:\n%s", r.stdout)
	}

	// The image's EXPOSE counts too, as docker ps shows it.
	built := newProject(t, "services:\n  web:\n    build: .\n    command: sleep 300\n    expose: ['8080']\n    ports: ['127.0.0.1::9000']\n",
		map[string]string{"Dockerfile": "FROM " + testImage + "\nEXPOSE 5000 9000 53/udp\n"})
	built.must("up", "-d", "--build")
	if ports := built.ps(false)[0].Ports; !strings.HasPrefix(ports, "5000/tcp, 8080/tcp, 53/udp, 127.0.0.1:") || !strings.HasSuffix(ports, "->9000/tcp") {
		t.Errorf("ps PORTS = %q, want 5000/tcp, 8080/tcp, 53/udp (EXPOSE and expose:), then the published 9000", ports)
	}
}

// TestEmptyCommand: command: "" once interpolated runs the image's CMD
// (docker compose's and the engine's rule), not "no command".
func TestEmptyCommand(t *testing.T) {
	p := newProject(t, "services:\n  app:\n    image: "+testImage+"\n    command: ${CMD}\n", nil)
	p.must("up", "-d")
	p.waitFor("app to exit", 30*time.Second, func() bool {
		cs := p.ps(true)
		return len(cs) == 1 && cs[0].State == "exited"
	})
	if c := p.ps(true)[0]; c.ExitCode != 0 || !strings.Contains(p.must("ps", "-a").stdout, `"sh"`) {
		t.Errorf("app ran %+v, want the image's CMD (sh), exit 0", c)
	}
}

// TestMissingEnvFileOtherService: a missing env_file of a service that is
// not selected fails neither up OTHER nor run OTHER.
func TestMissingEnvFileOtherService(t *testing.T) {
	p := newProject(t, "services:\n  broken:\n    image: "+testImage+"\n    env_file: missing.env\n  ok:\n    image: "+testImage+"\n    command: sleep 300\n", nil)
	p.must("up", "-d", "ok")
	if r := p.must("run", "--rm", "-T", "ok", "echo", "fine"); r.stdout != "fine\n" {
		t.Errorf("run ok printed %q", r.stdout)
	}
	if r := p.berth("up", "-d", "broken"); r.code == 0 || !strings.Contains(r.stderr, "missing.env") {
		t.Errorf("up broken = %s, want an error naming missing.env", r)
	}
}

// TestRunInactiveProfile: run SERVICE enables the profile of the service
// it targets; a second run warns about the first one-off, now an orphan,
// unless COMPOSE_IGNORE_ORPHANS.
func TestRunInactiveProfile(t *testing.T) {
	p := newProject(t, "services:\n  tool:\n    image: "+testImage+"\n    profiles: [tools]\n", nil)
	r := p.must("run", "-T", "tool", "echo", "from-tool")
	if r.stdout != "from-tool\n" || strings.Contains(r.stderr, "orphan") {
		t.Errorf("run of a service with an inactive profile = %s", r)
	}
	if r = p.must("run", "-T", "tool", "true"); !strings.Contains(r.stderr, "Found orphan containers ([") {
		t.Errorf("second run does not warn about the exited one-off:\n%s", r)
	}
	if r = p.berthEnv([]string{"COMPOSE_IGNORE_ORPHANS=true"}, "run", "--rm", "-T", "tool", "true"); r.code != 0 || strings.Contains(r.stderr, "orphan") {
		t.Errorf("COMPOSE_IGNORE_ORPHANS: %s", r)
	}
	p.must("run", "--rm", "-T", "--remove-orphans", "tool", "true")
	if left := p.ps(true); len(left) != 0 {
		t.Errorf("run --remove-orphans left %v", left)
	}
}

// TestRemoveOrphansFromDotEnv: COMPOSE_REMOVE_ORPHANS=true in the
// project's .env makes up remove the one-offs that exited, as docker
// compose does; --remove-orphans=false overrides it.
func TestRemoveOrphansFromDotEnv(t *testing.T) {
	p := newProject(t, "services:\n  tool:\n    image: "+testImage+"\n    profiles: [tools]\n  app:\n    image: "+testImage+"\n    command: [sleep, '300']\n    stop_signal: SIGKILL\n",
		map[string]string{".env": "COMPOSE_REMOVE_ORPHANS=true\n"})
	oneOffs := func() int {
		n := 0
		for _, c := range p.ps(true) {
			if strings.Contains(c.Name, "-tool-run-") {
				n++
			}
		}
		return n
	}
	p.must("run", "-T", "tool", "true")
	p.must("up", "-d", "--remove-orphans=false")
	if n := oneOffs(); n != 1 {
		t.Fatalf("up --remove-orphans=false left %d exited one-offs, want 1", n)
	}
	p.must("up", "-d")
	if n := oneOffs(); n != 0 {
		t.Errorf("up with COMPOSE_REMOVE_ORPHANS=true in .env left %d exited one-offs, want 0", n)
	}
}
