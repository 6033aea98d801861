package build

import (
	"strings"
	"testing"
	"time"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// applyAll parses a Dockerfile and applies its last stage's metadata
// instructions to a base config.
func applyAll(t *testing.T, content string, base dockerspec.DockerOCIImageConfig, buildArgs map[string]string) *StageState {
	t.Helper()
	df, err := ParseDockerfile(writeDockerfile(t, content))
	if err != nil {
		t.Fatal(err)
	}
	s := NewStageState(base, buildArgs, globalArgMap(df))
	for _, cmd := range df.Stages[len(df.Stages)-1].Commands {
		if _, err := s.ApplyMeta(cmd); err != nil {
			t.Fatalf("ApplyMeta(%s): %v", cmd.Name(), err)
		}
	}
	return s
}

func globalArgMap(df *Dockerfile) map[string]string {
	m := map[string]string{}
	for _, kv := range globalArgs(df.MetaArgs, nil) {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

func TestApplyMeta(t *testing.T) {
	base := dockerspec.DockerOCIImageConfig{ImageConfig: ocispec.ImageConfig{
		Env: []string{"PATH=/usr/bin:/bin"}, Cmd: []string{"sh"}, WorkingDir: "/",
	}}
	s := applyAll(t, `ARG VERSION=1.0
FROM busybox
ARG VERSION
ARG FLAVOR=plain
ENV APP_HOME=/srv/app PATH=/srv/app/bin:$PATH
WORKDIR $APP_HOME
WORKDIR data
LABEL org.opencontainers.image.version=$VERSION flavor=${FLAVOR}
EXPOSE 8080 53/UDP
USER app:app
VOLUME /srv/app/data
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --retries=2 CMD wget -qO- localhost:8080/health
ENTRYPOINT ["/srv/app/bin/run"]
`, base, map[string]string{"FLAVOR": "fancy"})
	c := s.Config
	checks := []struct{ name, got, want string }{
		{"Env", strings.Join(c.Env, " "), "PATH=/srv/app/bin:/usr/bin:/bin APP_HOME=/srv/app"},
		{"WorkingDir", c.WorkingDir, "/srv/app/data"},
		{"version label (global ARG default)", c.Labels["org.opencontainers.image.version"], "1.0"},
		{"flavor label (build arg)", c.Labels["flavor"], "fancy"},
		{"User", c.User, "app:app"},
		{"StopSignal", c.StopSignal, "SIGINT"},
		{"Entrypoint", strings.Join(c.Entrypoint, " "), "/srv/app/bin/run"},
		{"Cmd (reset by ENTRYPOINT)", strings.Join(c.Cmd, " "), ""},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %q, want %q", ch.name, ch.got, ch.want)
		}
	}
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("ExposedPorts = %v, want 8080/tcp", c.ExposedPorts)
	}
	if _, ok := c.ExposedPorts["53/udp"]; !ok {
		t.Errorf("ExposedPorts = %v, want 53/udp", c.ExposedPorts)
	}
	if _, ok := c.Volumes["/srv/app/data"]; !ok {
		t.Errorf("Volumes = %v", c.Volumes)
	}
	if h := c.Healthcheck; h == nil || h.Interval != 5*time.Second || h.Retries != 2 || strings.Join(h.Test, " ") != "CMD-SHELL wget -qO- localhost:8080/health" {
		t.Errorf("Healthcheck = %+v", h)
	}
	if len(s.History) != 12 || !s.History[0].EmptyLayer {
		t.Errorf("history has %d entries, want one per instruction, empty layers", len(s.History))
	}
	if s.Args["VERSION"] != "1.0" || s.Args["FLAVOR"] != "fancy" {
		t.Errorf("Args = %v", s.Args)
	}
	for _, kv := range c.Env {
		if strings.HasPrefix(kv, "VERSION=") || strings.HasPrefix(kv, "FLAVOR=") {
			t.Errorf("an ARG leaked into the image's Env: %s", kv)
		}
	}
}

func TestApplyMetaShellForms(t *testing.T) {
	s := applyAll(t, `FROM busybox
SHELL ["/bin/bash", "-euc"]
CMD echo $HOME
ENTRYPOINT exec app
`, dockerspec.DockerOCIImageConfig{}, nil)
	if got := strings.Join(s.Config.Cmd, "|"); got != "/bin/bash|-euc|echo $HOME" {
		t.Errorf("Cmd = %q: the shell form runs in the SHELL, unexpanded", got)
	}
	if got := strings.Join(s.Config.Entrypoint, "|"); got != "/bin/bash|-euc|exec app" {
		t.Errorf("Entrypoint = %q", got)
	}
	if got := strings.Join(s.Config.Cmd, " "); got == "" {
		t.Errorf("CMD set in this stage was dropped by a later ENTRYPOINT")
	}
}

func TestApplyMetaLeavesFilesystemSteps(t *testing.T) {
	df, err := ParseDockerfile(writeDockerfile(t, "FROM busybox\nRUN true\nCOPY a /a\nADD b /b\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := NewStageState(dockerspec.DockerOCIImageConfig{}, nil, nil)
	for _, cmd := range df.Stages[0].Commands {
		if meta, err := s.ApplyMeta(cmd); meta || err != nil {
			t.Errorf("ApplyMeta(%s) = %v, %v; want it left to the executor", cmd.Name(), meta, err)
		}
	}
}

func TestCheckExposed(t *testing.T) {
	for _, ok := range []string{"80/tcp", "53/UDP", "8000-8010/tcp", "1/sctp", "65535/tcp"} {
		if err := checkExposed(ok); err != nil {
			t.Errorf("checkExposed(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"http/tcp", "0/tcp", "65536/tcp", "90-80/tcp", "80/icmp", "/tcp", "80-/tcp"} {
		if err := checkExposed(bad); err == nil {
			t.Errorf("checkExposed(%q) = nil, want an error", bad)
		}
	}
}
