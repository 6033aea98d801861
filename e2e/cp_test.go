//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCp: files and directories both ways, into a named volume of a
// running container and into an exited one, as tar streams with -, and
// the errors for a missing path and for symlinks leading out of the
// container (which resolve inside it, never to the host's files).
func TestCp(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  app:
    image: `+testImage+`
    command: ["sleep", "600"]
    stop_signal: SIGKILL
    volumes:
      - data:/data
  done:
    image: `+testImage+`
    command: ["true"]
volumes:
  data:
`, map[string]string{"in/file.txt": "hello\n", "in/dir/a.txt": "a\n", "in/dir/sub/b.txt": "b\n"})
	if err := os.Chown(filepath.Join(p.dir, "in/file.txt"), 1234, 1234); err != nil {
		t.Fatal(err)
	}
	p.must("up", "-d")
	inApp := func(script string) string { return p.must("exec", "-T", "app", "sh", "-c", script).stdout }

	// Into the container: a file into the named volume (owned by root, or
	// with -a by its owner on the host), a directory into /tmp.
	p.must("cp", "in/file.txt", "app:/data/")
	p.must("cp", "-a", "in/file.txt", "app:/data/kept.txt")
	if got := inApp("cat /data/file.txt; ls -ln /data | awk 'NR>1 {print $3, $9}'"); got != "hello\n0 file.txt\n1234 kept.txt\n" {
		t.Errorf("/data in the container:\n%s", got)
	}
	if got := readFile(t, berthDataDir()+"/volumes/"+p.name+"_data/_data/file.txt"); got != "hello\n" {
		t.Errorf("the volume's file on the host: %q", got)
	}
	p.must("cp", "in/dir", "app:/tmp")
	p.must("cp", "in/dir/.", "app:/tmp/contents")
	if got := inApp("cd /tmp && find dir contents | sort | tr '\\n' ' '; cat dir/sub/b.txt"); got != "contents contents/a.txt contents/sub contents/sub/b.txt dir dir/a.txt dir/sub dir/sub/b.txt b\n" {
		t.Errorf("/tmp in the container: %q", got)
	}

	// Out of it: a directory to a new name, a file into a directory.
	inApp("mkdir -p /srv/site/css && echo body > /srv/site/css/main.css && echo '<p>' > /srv/site/index.html")
	p.must("cp", "app:/srv/site", "site")
	p.must("cp", "app:/data/file.txt", "site/")
	for name, want := range map[string]string{"site/css/main.css": "body\n", "site/index.html": "<p>\n", "site/file.txt": "hello\n"} {
		if got := readFile(t, filepath.Join(p.dir, name)); got != want {
			t.Errorf("copied out: %s is %q, want %q", name, got, want)
		}
	}

	// Tar streams: out to standard output, in from standard input.
	r := p.must("cp", "app:/srv/site", "-")
	var names []string
	tr := tar.NewReader(strings.NewReader(r.stdout))
	for h, err := tr.Next(); err == nil; h, err = tr.Next() {
		names = append(names, h.Name)
	}
	if got := strings.Join(names, " "); got != "site/ site/css/ site/css/main.css site/index.html" {
		t.Errorf("cp app:/srv/site - wrote entries %q", got)
	}
	var stream bytes.Buffer
	tw := tar.NewWriter(&stream)
	tw.WriteHeader(&tar.Header{Name: "from-tar/", Typeflag: tar.TypeDir, Mode: 0o755})                   //nolint:errcheck // into a buffer
	tw.WriteHeader(&tar.Header{Name: "from-tar/x", Typeflag: tar.TypeReg, Mode: 0o600, Size: 4, Uid: 7}) //nolint:errcheck // into a buffer
	tw.Write([]byte("tar\n"))                                                                            //nolint:errcheck // into a buffer
	tw.Close()
	cmd := exec.Command(berthBin, append(globalArgs(), "-p", p.name, "cp", "-", "app:/data")...)
	cmd.Dir, cmd.Stdin = p.dir, &stream
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cp - app:/data: %v: %s", err, out)
	}
	if got := inApp("cat /data/from-tar/x; ls -ln /data/from-tar | awk 'NR>1 {print $1, $3}'"); got != "tar\n-rw------- 0\n" {
		t.Errorf("extracted from the tar stream: %q", got)
	}

	// An exited container: its filesystem, without its volumes.
	p.waitFor("done to exit", 10*time.Second, func() bool { return p.entry(p.name+"-done-1").State == "exited" })
	p.must("cp", "in/file.txt", "done:/etc/copied.txt")
	p.must("cp", "done:/etc/copied.txt", "back.txt")
	if got := readFile(t, filepath.Join(p.dir, "back.txt")); got != "hello\n" {
		t.Errorf("through the exited container: %q", got)
	}

	// Errors: a missing path, and symlinks aiming at the host's files.
	if r := p.berth("cp", "app:/nope", "x"); r.code == 0 || !strings.Contains(r.stderr, `/nope: no such file or directory in the container of service "app"`) {
		t.Errorf("cp of a missing path:\n%s", r)
	}
	if r := p.berth("cp", "in/file.txt", "app:/no/such/dir/"); r.code == 0 || !strings.Contains(r.stderr, "directory /no/such does not exist in the container") {
		t.Errorf("cp into a missing directory:\n%s", r)
	}
	secretDir := t.TempDir()
	secret := filepath.Join(secretDir, "secret")
	if err := os.WriteFile(secret, []byte("host only\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	inApp("ln -s ../../../../../../../.." + secret + " /esc && ln -s /../../../.." + secretDir + " /escdir")
	r = p.berth("cp", "-L", "app:/esc", "stolen")
	if r.code == 0 || !strings.Contains(r.stderr, "/esc: no such file or directory in the container of service \"app\" (it leads to "+secret+" there") {
		t.Errorf("cp -L of a symlink out of the container:\n%s", r)
	}
	if _, err := os.Stat(filepath.Join(p.dir, "stolen")); !os.IsNotExist(err) {
		t.Errorf("cp -L of a symlink out of the container wrote stolen: %v", err)
	}
	if r := p.berth("cp", "in/file.txt", "app:/escdir/"); r.code == 0 || !strings.Contains(r.stderr, "does not exist in the container") {
		t.Errorf("cp through a symlink out of the container:\n%s", r)
	}
	if entries, _ := os.ReadDir(secretDir); len(entries) != 1 {
		t.Errorf("the host directory a container symlink names was written to: %v", entries)
	}
	if r := p.berth("cp", "app:/esc", "link"); r.code != 0 {
		t.Errorf("cp of a symlink (not followed):\n%s", r)
	} else if target, err := os.Readlink(filepath.Join(p.dir, "link")); err != nil || !strings.HasSuffix(target, secret) {
		t.Errorf("cp of a symlink made %q, %v, want the symlink itself", target, err)
	}
}

// TestCpOneOff: cp reaches a service that has only a one-off container
// (run -d), with the compose file and by the project's name alone, both
// ways; a service with replicas keeps its one-offs out (unless --all).
func TestCpOneOff(t *testing.T) {
	t.Parallel()
	p := newProject(t, `
services:
  job:
    image: `+testImage+`
    command: ["sleep", "600"]
    stop_signal: SIGKILL
`, map[string]string{"in.txt": "into the one-off\n"})
	p.must("run", "-d", "job")
	host := p.t.TempDir()
	in := filepath.Join(p.dir, "in.txt")

	// By name, no compose file: into the one-off and back out.
	p.must("exec", "-T", "job", "true") // it runs
	if r := p.byName("cp", in, "job:/tmp/in.txt"); r.code != 0 {
		t.Fatalf("cp into the one-off by project name: %s", r)
	}
	if got := p.must("exec", "-T", "job", "cat", "/tmp/in.txt").stdout; got != "into the one-off\n" {
		t.Errorf("the one-off has %q in /tmp/in.txt", got)
	}
	p.must("exec", "-T", "job", "sh", "-c", "echo out of the one-off > /tmp/out.txt")
	if r := p.byName("cp", "job:/tmp/out.txt", filepath.Join(host, "out.txt")); r.code != 0 {
		t.Fatalf("cp out of the one-off by project name: %s", r)
	}
	if got := readFile(t, filepath.Join(host, "out.txt")); got != "out of the one-off\n" {
		t.Errorf("copied out of the one-off: %q", got)
	}

	// With the file too.
	p.must("cp", "job:/tmp/in.txt", filepath.Join(host, "back.txt"))
	if got := readFile(t, filepath.Join(host, "back.txt")); got != "into the one-off\n" {
		t.Errorf("copied out with the compose file: %q", got)
	}

	// Once the service has a replica, cp goes to it, not to the one-off.
	p.must("up", "-d")
	p.must("cp", in, "job:/tmp/replica.txt")
	if r := p.berth("exec", "-T", "--index", "1", "job", "test", "-f", "/tmp/replica.txt"); r.code != 0 {
		t.Errorf("cp did not copy into replica 1: %s", r)
	}
	if r := p.byName("cp", "job:/tmp/out.txt", filepath.Join(host, "none.txt")); r.code == 0 {
		t.Errorf("cp out of a service with a replica read the one-off's file: %s", r)
	}
}
