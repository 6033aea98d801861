package build

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

func parseRun(t *testing.T, line string) *instructions.RunCommand {
	t.Helper()
	df, err := ParseDockerfileBytes("Dockerfile", []byte("FROM busybox\n"+line+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	return df.Stages[0].Commands[0].(*instructions.RunCommand)
}

// TestRunMounts: ids and targets default as in BuildKit.
func TestRunMounts(t *testing.T) {
	tests := []struct {
		line string
		want []string
	}{
		{"RUN --mount=type=secret,id=tok cat /run/secrets/tok", []string{"secret,id=tok,target=/run/secrets/tok,env="}},
		{"RUN --mount=type=secret,target=/etc/npmrc true", []string{"secret,id=npmrc,target=/etc/npmrc,env="}},
		{"RUN --mount=type=secret,id=tok,env=TOKEN true", []string{"secret,id=tok,target=,env=TOKEN"}},
		{"RUN --mount=type=ssh --mount=type=ssh,id=deploy true", []string{"ssh,id=default,target=/run/buildkit/ssh_agent.0,env=SSH_AUTH_SOCK", "ssh,id=deploy,target=/run/buildkit/ssh_agent.1,env=SSH_AUTH_SOCK"}},
		{"RUN true", nil},
	}
	for _, tt := range tests {
		if got := mountKeys(runMounts(parseRun(t, tt.line))); !slices.Equal(got, tt.want) {
			t.Errorf("runMounts(%q) = %q, want %q", tt.line, got, tt.want)
		}
	}
}

// TestMountsFor: a secret's content is written to a private file and bound
// read-only (or given as a variable), a missing optional one is left out,
// an agent socket is bound as it is, and key files are served by an agent
// of berth's own that lists them.
func TestMountsFor(t *testing.T) {
	dir := t.TempDir()
	req := Request{Secrets: map[string]Secret{"tok": {Data: []byte("s3cret")}}}
	binds, env, release, err := mountsFor(dir, req, runMounts(parseRun(t, "RUN --mount=type=secret,id=tok --mount=type=secret,id=tok,env=TOKEN,target=/t --mount=type=secret,id=absent true")))
	if err != nil {
		t.Fatal(err)
	}
	release()
	if len(binds) != 2 || binds[0].Destination != "/run/secrets/tok" || !slices.Contains(binds[0].Options, "ro") {
		t.Fatalf("binds = %+v", binds)
	}
	if b, err := os.ReadFile(binds[0].Source); err != nil || string(b) != "s3cret" || !strings.HasPrefix(binds[0].Source, dir) {
		t.Errorf("secret file %s = %q, %v", binds[0].Source, b, err)
	}
	if !slices.Equal(env, []string{"TOKEN=s3cret"}) {
		t.Errorf("env = %q", env)
	}

	key := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(key, testKey(t), 0o600); err != nil {
		t.Fatal(err)
	}
	req = Request{SSH: map[string][]string{"default": {key}}}
	binds, env, release, err = mountsFor(dir, req, runMounts(parseRun(t, "RUN --mount=type=ssh ssh-add -l")))
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if len(binds) != 1 || binds[0].Destination != "/run/buildkit/ssh_agent.0" || !slices.Equal(env, []string{"SSH_AUTH_SOCK=/run/buildkit/ssh_agent.0"}) {
		t.Fatalf("binds %+v, env %q", binds, env)
	}
	conn, err := net.Dial("unix", binds[0].Source)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	keys, err := agent.NewClient(conn).List()
	if err != nil || len(keys) != 1 || keys[0].Type() != "ssh-ed25519" {
		t.Errorf("agent lists %v, %v; want the one ed25519 key", keys, err)
	}

	// An agent's socket is bound as it is.
	sock := filepath.Join(dir, "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	binds, _, _, err = mountsFor(dir, Request{SSH: map[string][]string{"default": {sock}}}, runMounts(parseRun(t, "RUN --mount=type=ssh true")))
	if err != nil || len(binds) != 1 || binds[0].Source != sock {
		t.Errorf("agent socket: binds %+v, %v", binds, err)
	}
}

// testKey is a new unencrypted ed25519 private key in OpenSSH's format.
func testKey(t *testing.T) []byte {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "berth test")
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block)
}
