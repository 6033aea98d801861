//go:build e2e

package e2e

import (
	"archive/tar"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tarNames lists a tar stream's entries, with the content of the regular
// files named in contents.
func tarNames(t *testing.T, r io.Reader, contents ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("read the tar stream: %v", err)
		}
		out[h.Name] = ""
		for _, c := range contents {
			if c == h.Name {
				b, _ := io.ReadAll(tr)
				out[h.Name] = string(b)
			}
		}
	}
}

// TestExport: export writes a container's filesystem (image and changes,
// not its volumes) of a running and of an exited container, to -o or to
// standard output, and fails for an unknown service leaving no file.
func TestExport(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  app:
    image: `+testImage+`
    command: ["sh", "-c", "echo changed > /changed; sleep 600"]
    stop_signal: SIGKILL
    volumes:
      - data:/data
volumes:
  data:
`, nil)
	p.must("up", "-d")
	p.waitFor("/changed", 30*time.Second, func() bool { return p.berth("exec", "-T", "app", "test", "-s", "/changed").code == 0 })
	p.must("exec", "-T", "app", "sh", "-c", "echo vol > /data/invol")

	out := filepath.Join(p.dir, "app.tar")
	p.must("export", "-o", out, "app")
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	names := tarNames(t, f, "changed")
	f.Close()
	if names["changed"] != "changed\n" {
		t.Errorf("export of the running container: /changed = %q, want its content", names["changed"])
	}
	if _, ok := names["bin/busybox"]; !ok {
		t.Errorf("export lacks the image's bin/busybox: %d entries", len(names))
	}
	if _, ok := names["data/invol"]; ok {
		t.Errorf("export holds the volume's file data/invol")
	}
	for n := range names {
		if strings.HasPrefix(n, "/") || strings.HasPrefix(n, "./") || strings.HasPrefix(n, "proc/") && n != "proc/" {
			t.Errorf("export entry %q", n)
		}
	}

	p.must("stop", "app")
	r := p.must("export", "app")
	if names := tarNames(t, strings.NewReader(r.stdout), "changed"); names["changed"] != "changed\n" {
		t.Errorf("export of the stopped container to stdout: /changed = %q", names["changed"])
	}

	bad := filepath.Join(p.dir, "bad.tar")
	if r := p.berth("export", "-o", bad, "nope"); r.code == 0 || !strings.Contains(r.stderr, "no such service: nope") {
		t.Errorf("export of an unknown service: %s", r)
	}
	if r := p.berth("export", "--index", "2", "-o", bad, "app"); r.code == 0 || !strings.Contains(r.stderr, "no container 2") {
		t.Errorf("export --index 2: %s", r)
	}
	if entries, _ := filepath.Glob(filepath.Join(p.dir, "*.tar")); len(entries) != 1 {
		t.Errorf("files left: %v", entries)
	}
	if entries, _ := filepath.Glob(filepath.Join(p.dir, ".berth-export-*")); len(entries) != 0 {
		t.Errorf("temporary files left: %v", entries)
	}
}
