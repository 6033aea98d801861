//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestVolumes(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  app:
    image: `+testImage+`
    stop_signal: SIGKILL
    volumes:
      - data:/data
      - ./conf:/conf:ro
      - ./made:/made
      - type: tmpfs
        target: /cache
    command:
      - sh
      - -c
      - |
        if [ -f /data/first ]; then echo "found $$(cat /data/first)"; else echo run-1 > /data/first; echo "wrote"; fi
        cat /conf/setting
        echo x > /conf/x 2>/dev/null && echo conf-writable || echo conf-readonly
        echo made > /made/file
        grep -q ' /cache tmpfs ' /proc/mounts && echo cache-tmpfs
        sleep 600
volumes:
  data: {}
`, map[string]string{"conf/setting": "setting=1\n"})
	volumeDir := "/var/lib/berth/volumes/" + p.name + "_data"
	logs := func(want string) string {
		var out string
		p.waitFor("app to print "+want, 10*time.Second, func() bool {
			out = p.must("logs", "--no-log-prefix", "app").stdout
			return strings.Contains(out, want)
		})
		return out
	}

	p.must("up", "-d")
	out := logs("cache-tmpfs")
	for _, want := range []string{"wrote", "setting=1", "conf-readonly"} {
		if !strings.Contains(out, want) {
			t.Errorf("first run output lacks %q:\n%s", want, out)
		}
	}
	if b, err := os.ReadFile(filepath.Join(p.dir, "made", "file")); err != nil || string(b) != "made\n" {
		t.Errorf("bind mount source ./made: %q, %v (it must be created and written through)", b, err)
	}

	// down keeps named volumes; up finds the data again.
	p.must("down")
	if _, err := os.Stat(volumeDir); err != nil {
		t.Fatalf("down removed the named volume: %v", err)
	}
	p.must("up", "-d")
	logs("found run-1")

	// down -v removes it.
	p.must("down", "-v")
	if _, err := os.Stat(volumeDir); !os.IsNotExist(err) {
		t.Errorf("down -v left %s (%v)", volumeDir, err)
	}
}
