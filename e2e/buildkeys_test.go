//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// uniq is content no other run of the suite has, so that a build step
// holding it never comes from another run's build cache.
func uniq(t *testing.T) string {
	return fmt.Sprintf("%s-%d", t.Name(), time.Now().UnixNano())
}

// TestBuildRunNotTmpfs: /run is no tmpfs, neither in build steps nor in
// containers (Docker mounts none there): what one step writes under /run
// is there in the next step and in the container; tmpfs: /run still
// gives an empty one.
func TestBuildRunNotTmpfs(t *testing.T) {
	token := uniq(t)
	p := newProject(t, `
services:
  app:
    build: .
    command: [cat, /run/pg/token]
  fresh:
    image: `+testImage+`
    command: [ls, -A, /run]
    tmpfs: [/run]
    depends_on: [app]
`, map[string]string{
		"Dockerfile": "FROM " + testImage + "\nRUN mkdir -p /run/pg && echo " + token + " > /run/pg/token\nRUN cat /run/pg/token\n",
	})
	removeImages(t, "docker.io/library/"+p.name+"-app:latest")
	r := p.must("build")
	if !strings.Contains(r.stdout, "app | "+token) {
		t.Errorf("the second RUN did not see what the first wrote under /run:\n%s", r)
	}
	p.must("up", "-d")
	p.waitFor("both containers to exit", 30*time.Second, func() bool {
		for _, c := range p.ps(true) {
			if c.State != "exited" {
				return false
			}
		}
		return true
	})
	if logs := p.must("logs", "--no-log-prefix", "app").stdout; !strings.Contains(logs, token) {
		t.Errorf("the container does not have the image's /run/pg/token: logs %q", logs)
	}
	if logs := strings.TrimSpace(p.must("logs", "--no-log-prefix", "fresh").stdout); logs != "" {
		t.Errorf("tmpfs: /run is not empty: %q", logs)
	}
}
