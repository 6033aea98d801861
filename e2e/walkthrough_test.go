//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// readmeWalkthrough is the shell block of README.md between the
// walkthrough markers, a command a line.
func readmeWalkthrough(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "<!-- walkthrough:")
	end := strings.Index(text, "<!-- walkthrough end -->")
	if start < 0 || end < start {
		t.Fatal("README.md has no walkthrough block (<!-- walkthrough: … --> … <!-- walkthrough end -->)")
	}
	block := text[start:end]
	open := strings.Index(block, "```sh\n")
	closing := strings.LastIndex(block, "```")
	if open < 0 || closing <= open {
		t.Fatal("README.md: the walkthrough block has no ```sh fence")
	}
	var lines []string
	for _, l := range strings.Split(block[open+len("```sh\n"):closing], "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// TestReadmeWalkthrough runs the README's "From code to container in four
// commands" line by line, as a newcomer pastes it: build a named image,
// run it with a published port, fetch a page, tag and push it to a real
// registry, remove it locally, pull it back (the digest the registry
// holds) and run it again. Only the registry's and the app's host ports
// differ (free ones instead of 5000 and 8000), and `berth` is bin/berth
// with the suite's global flags.
func TestReadmeWalkthrough(t *testing.T) {
	loadDebianImage(t)
	registry := startRegistry(t) // 127.0.0.1:PORT
	regPort := registry[strings.LastIndex(registry, ":")+1:]
	appPort := strconv.Itoa(freeLoopbackPort(t))
	local := "localhost:" + regPort + "/my-flask-app:1.0"

	bin := t.TempDir()
	wrapper := "#!/bin/sh\nexec " + shellQuote(berthBin)
	for _, a := range globalArgs() {
		wrapper += " " + shellQuote(a)
	}
	wrapper += ` "$@"` + "\n"
	if err := os.WriteFile(filepath.Join(bin, "berth"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	berthCmd := func(args ...string) (string, error) {
		out, err := exec.Command(filepath.Join(bin, "berth"), args...).CombinedOutput()
		return string(out), err
	}
	t.Cleanup(func() {
		berthCmd("container", "rm", "-f", "flask")           //nolint:errcheck // may be gone already
		berthCmd("image", "rm", "-f", "my-flask-app", local) //nolint:errcheck // may be gone already
	})

	dir := repoRoot
	pushed := ""
	runs := 0
	for _, line := range readmeWalkthrough(t) {
		line = strings.ReplaceAll(line, "localhost:5000", "localhost:"+regPort)
		line = strings.ReplaceAll(line, "8000:", appPort+":")
		line = strings.ReplaceAll(line, "127.0.0.1:8000", "127.0.0.1:"+appPort)
		switch {
		case line == "export PATH=$PWD/bin:$PATH":
			continue // the wrapper's directory is first in PATH instead
		case strings.HasPrefix(line, "cd "):
			dir = filepath.Join(dir, strings.TrimPrefix(line, "cd "))
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", line)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("README walkthrough: %s: %v\n%s", line, err, out)
		}
		t.Logf("$ %s\n%s", line, out)

		// What each step must have done, beyond exiting 0.
		switch {
		case strings.HasPrefix(line, "curl "):
			if !strings.Contains(string(out), "Hello from Flask") {
				t.Fatalf("%s: got %q, want the app's greeting", line, out)
			}
		case strings.HasPrefix(line, "berth container run "):
			runs++
			if id := strings.TrimSpace(string(out)); len(id) != 64 {
				t.Fatalf("%s: printed %q, want the container's full ID as docker run -d does", line, out)
			}
		case strings.HasPrefix(line, "berth image push "):
			pushed = registryDigest(t, registry, "my-flask-app", "1.0")
			if pushed == "" {
				t.Fatalf("%s: the registry has no my-flask-app:1.0", line)
			}
		case strings.HasPrefix(line, "berth image rm "):
			for _, name := range []string{"my-flask-app", local} {
				if out, err := berthCmd("image", "inspect", name); err == nil {
					t.Fatalf("%s: %s is still there:\n%s", line, name, out)
				}
			}
		case strings.HasPrefix(line, "berth image pull "):
			out, err := berthCmd("image", "inspect", "--format", "{{json .RepoDigests}}", local)
			if err != nil || !strings.Contains(out, pushed) {
				t.Fatalf("%s: image inspect gives %q (%v), want the pushed digest %s", line, out, err, pushed)
			}
		case strings.HasPrefix(line, "berth container rm "):
			if out, err := berthCmd("container", "inspect", "flask"); err == nil {
				t.Fatalf("%s: the container is still there:\n%s", line, out)
			}
		}
	}
	if runs != 2 || pushed == "" {
		t.Fatalf("the walkthrough ran the container %d times and pushed %q: the README block lost steps", runs, pushed)
	}
}

// shellQuote quotes s for sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
