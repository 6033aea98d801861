//go:build e2e

package e2e

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// TestCommit: commit, from -p alone, makes an image of a running
// container's changes (a file added, a directory removed; not what is in
// its volume) with -c changes to its config and -a/-m in its history, and
// the image runs; --index picks the replica; bad input fails clearly.
func TestCommit(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  app:
    image: `+testImage+`
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    scale: 2
    volumes:
      - data:/data
volumes:
  data:
`, nil)
	image := "berth-e2e.local/" + p.name + ":1"
	removeImages(t, image)
	p.must("up", "-d")
	p.must("exec", "-T", "app", "sh", "-c", "echo hi > /root/note && rm -r /www && echo v > /data/v")
	p.must("exec", "-T", "--index", "2", "app", "sh", "-c", "echo two > /root/note")

	r := p.byName("commit", "-a", "A. Smith <a@example.com>", "-m", "sample commit",
		"-c", "ENV DEBUG=true", "-c", `CMD ["cat", "/root/note"]`, "app", image)
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	id := regexp.MustCompile(`Committed as (sha256:[0-9a-f]{64})`).FindStringSubmatch(r.stderr)
	if id == nil {
		t.Fatalf("commit did not say the image's ID: %s", r)
	}
	var cfg struct {
		Author string
		Config struct {
			Env []string
			Cmd []string
		}
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
		History []struct {
			Author, Comment string
		}
	}
	if err := json.Unmarshal([]byte(ctr(t, "content", "get", id[1])), &cfg); err != nil {
		t.Fatalf("the committed image's config: %v", err)
	}
	last := cfg.History[len(cfg.History)-1]
	if cfg.Author != "A. Smith <a@example.com>" || last.Author != cfg.Author || last.Comment != "sample commit" ||
		!strings.Contains(strings.Join(cfg.Config.Env, " "), "DEBUG=true") || strings.Join(cfg.Config.Cmd, " ") != "cat /root/note" || len(cfg.RootFS.DiffIDs) < 2 {
		t.Errorf("the committed image's config: %+v", cfg)
	}

	p.write("compose.yaml", `
services:
  check:
    image: `+image+`
`)
	if r := p.must("run", "--rm", "check"); r.stdout != "hi\n" {
		t.Errorf("the committed image's CMD printed %q, want hi", r.stdout)
	}
	r = p.must("run", "--rm", "check", "sh", "-c", "echo $DEBUG; test -e /www && echo www; ls /data")
	if r.stdout != "true\n" {
		t.Errorf("in the committed image: %q, want DEBUG=true, no /www and nothing of the volume", r.stdout)
	}

	if r := p.byName("commit", "--index", "2", "--pause=false", "-c", `CMD ["cat", "/root/note"]`, "app", image); r.code != 0 {
		t.Fatalf("%s", r)
	}
	if r := p.must("run", "--rm", "check"); r.stdout != "two\n" {
		t.Errorf("the image of replica 2 printed %q, want two", r.stdout)
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"commit", "app"}, "give the new image's name"},
		{[]string{"commit", "nope", image}, `service "nope" has no container 1`},
		{[]string{"commit", "-c", "RUN true", "app", image}, "RUN cannot be applied to an image"},
		{[]string{"commit", "app", "Bad Name"}, "invalid image reference"},
	} {
		if r := p.byName(tt.args...); r.code == 0 || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("want an error saying %q: %s", tt.want, r)
		}
	}
}
