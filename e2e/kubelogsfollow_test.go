//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// kubeLogsCompose: one service that says which pod it runs in.
const kubeLogsCompose = `name: kubelogsfollow
services:
  talk:
    image: docker.io/library/busybox:latest
    command: ["sh", "-c", "echo hello from $$HOSTNAME; exec sleep 3600"]
`

// TestKubeClientLogsFollow: logs -f on the cluster follows a pod that
// replaces a deleted one, under the same prefix (talk-1), as a recreated
// container keeps its number on one machine: the watch of the project's
// pods (the dynamic client's) sees the new pod and streams it.
func TestKubeClientLogsFollow(t *testing.T) {
	c := needKubeCluster(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(kubeLogsCompose), 0o644); err != nil {
		t.Fatal(err)
	}
	berth := func(args ...string) result {
		t.Helper()
		return runBerth(t, dir, nil, nil, 3*time.Minute, append([]string{"--kubeconfig", c.kubeconfig}, args...)...)
	}
	t.Cleanup(func() { berth("down", "-v") })
	if r := berth("up", "--wait", "--wait-timeout", "150"); r.code != 0 {
		t.Fatalf("up --wait: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, berthBin, append(globalArgs(), "--kubeconfig", c.kubeconfig, "logs", "-f", "--no-color")...)
	cmd.Dir = dir
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait() //nolint:errcheck // killed on purpose
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var seen []string
	// hello waits for a "hello from POD" line under talk-1 from a pod other
	// than not, and returns the pod.
	hello := func(not string) string {
		t.Helper()
		for line := range lines {
			seen = append(seen, line)
			prefix, text, ok := strings.Cut(line, "|")
			pod, isHello := strings.CutPrefix(strings.TrimSpace(text), "hello from ")
			if ok && isHello && pod != not {
				if got := strings.TrimSpace(prefix); got != "talk-1" {
					t.Fatalf("logs -f: %q under prefix %q, want talk-1; so far:\n%s", line, got, strings.Join(seen, "\n"))
				}
				return pod
			}
		}
		t.Fatalf("logs -f ended before a hello from a pod other than %q; got:\n%s\nstderr:\n%s", not, strings.Join(seen, "\n"), stderr.String())
		return ""
	}
	first := hello("")
	c.mustKubectl(t, "-n", "kubelogsfollow", "delete", "pod", first, "--wait=false")
	if second := hello(first); second == first {
		t.Fatalf("logs -f: the same pod %s twice", first)
	}
	cancel()
}
