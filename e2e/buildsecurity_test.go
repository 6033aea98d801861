//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hostCanary makes a directory outside every build context and snapshot,
// holding a file "canary" (0600, old times), and returns it with a
// description of its state (contents, modes, owners, times, link counts).
func hostCanary(t *testing.T) (dir string, state func() string) {
	t.Helper()
	dir = t.TempDir()
	old := time.Unix(1e9, 0)
	if err := os.WriteFile(filepath.Join(dir, "canary"), []byte("the host's file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"canary", "."} {
		if err := os.Chtimes(filepath.Join(dir, p), old, old); err != nil {
			t.Fatal(err)
		}
	}
	state = func() string {
		var out []string
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				out = append(out, err.Error())
				return nil
			}
			info, err := d.Info()
			if err != nil {
				out = append(out, err.Error())
				return nil
			}
			st := info.Sys().(*syscall.Stat_t)
			line := fmt.Sprintf("%s %v %d:%d nlink=%d mtime=%d ctime=%d", strings.TrimPrefix(p, dir), info.Mode(), st.Uid, st.Gid, st.Nlink, st.Mtim.Nano(), st.Ctim.Nano())
			if info.Mode().IsRegular() {
				b, _ := os.ReadFile(p)
				line += " " + string(b)
			}
			out = append(out, line)
			return nil
		})
		return strings.Join(out, "\n")
	}
	return dir, state
}

// evilTar is an archive of headers (regular files hold their own name).
func evilTar(t *testing.T, entries []tar.Header) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range entries {
		body := ""
		if h.Typeflag == tar.TypeReg {
			body = h.Name + "\n"
			h.Size = int64(len(body))
		}
		if h.ModTime.IsZero() {
			h.ModTime = time.Unix(1.5e9, 0)
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	return buf.String()
}

// TestBuildSecurityContained: ADD of a hostile archive and COPY of a
// directory holding symlinks out of the context change no host file;
// what they hold lands inside the image, as Docker puts it there.
func TestBuildSecurityContained(t *testing.T) {
	host, state := hostCanary(t)
	before := state()
	canary := filepath.Join(host, "canary")
	up := strings.Repeat("../", 12)
	tarball := evilTar(t, []tar.Header{
		// The reported defect: a symlink to a host file, then a
		// directory of that name whose mode and time went to the file.
		{Name: "v", Typeflag: tar.TypeSymlink, Linkname: canary},
		{Name: "v/", Typeflag: tar.TypeDir, Mode: 0o777},
		// An absolute name lands in the destination.
		{Name: "/etc/abs.txt", Typeflag: tar.TypeReg, Mode: 0o644},
		// A relative symlink climbing out, and an entry through it.
		{Name: "esc", Typeflag: tar.TypeSymlink, Linkname: up},
		{Name: "esc/escaped.txt", Typeflag: tar.TypeReg, Mode: 0o644},
		// An absolute symlink to the host directory, and an entry through it.
		{Name: "hostdir", Typeflag: tar.TypeSymlink, Linkname: host},
		{Name: "hostdir/dropped.txt", Typeflag: tar.TypeReg, Mode: 0o644},
		{Name: "hostdir/canary", Typeflag: tar.TypeReg, Mode: 0o666},
		// A hard link to a symlink out links the symlink.
		{Name: "link", Typeflag: tar.TypeSymlink, Linkname: canary},
		{Name: "hard", Typeflag: tar.TypeLink, Linkname: "link"},
	})
	p := newProject(t, "services:\n  app:\n    build: .\n", map[string]string{
		"Dockerfile": "FROM " + testImage + "\nADD evil.tar /x/\nCOPY dir/ /copied/\n",
		"evil.tar":   tarball,
		"dir/a.txt":  "a\n",
	})
	for name, target := range map[string]string{"dir/out": canary, "dir/outdir": host, "dir/up": up} {
		if err := os.Symlink(target, filepath.Join(p.dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	image := "docker.io/library/" + p.name + "-app:latest"
	removeImages(t, image)

	p.must("build")
	if now := state(); now != before {
		t.Fatalf("berth build changed a host file:\nbefore:\n%s\nafter:\n%s", before, now)
	}
	assertNoBuildLeftovers(t)

	script := strings.Join([]string{
		"echo v=$(stat -c '%F %a' /x/v)",
		"echo abs=$(cat /x/etc/abs.txt)",
		"echo esc=$(readlink /x/esc)",
		"echo escaped=$(cat /escaped.txt)",
		"echo dropped=$(cat " + host + "/dropped.txt)",
		"echo canary=$(stat -c '%a' " + canary + ") $(cat " + canary + ")",
		"echo hard=$(readlink /x/hard)",
		"echo out=$(readlink /copied/out)",
		"echo outdir=$(readlink /copied/outdir)",
		"echo up=$(readlink /copied/up)",
		"echo a=$(cat /copied/a.txt)",
	}, "; ")
	out := p.must("run", "--rm", "-T", "app", "sh", "-c", script).stdout
	for _, want := range []string{
		"v=directory 777",
		"abs=/etc/abs.txt",
		"esc=" + up,
		"escaped=esc/escaped.txt",
		"dropped=hostdir/dropped.txt",
		"canary=666 hostdir/canary",
		"hard=" + canary,
		"out=" + canary,
		"outdir=" + host,
		"up=" + up,
		"a=a",
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("in the image: want %q; got:\n%s", want, out)
		}
	}
	if now := state(); now != before {
		t.Fatalf("a host file changed:\nbefore:\n%s\nafter:\n%s", before, now)
	}
}

// TestBuildSecurityRefused: an archive entry or hard link climbing out of
// the destination is refused with the Dockerfile's line, and changes no
// host file.
func TestBuildSecurityRefused(t *testing.T) {
	host, state := hostCanary(t)
	before := state()
	tests := []struct {
		name    string
		entries []tar.Header
		want    string
	}{
		{"name climbing out", []tar.Header{{Name: "../../../../../../.." + host + "/canary", Typeflag: tar.TypeReg, Mode: 0o777}},
			"points outside the destination: refusing to unpack it"},
		{"hard link climbing out", []tar.Header{{Name: "h", Typeflag: tar.TypeLink, Linkname: "../../../../../../.." + host + "/canary"}},
			"points outside the destination: refusing to unpack it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProject(t, "services:\n  app:\n    build: .\n", map[string]string{
				"Dockerfile": "FROM " + testImage + "\nRUN true\nADD evil.tar /x/\n",
				"evil.tar":   evilTar(t, tt.entries),
			})
			image := "docker.io/library/" + p.name + "-app:latest"
			removeImages(t, image)
			r := p.berth("build")
			if r.code == 0 || !strings.Contains(r.stderr, "Dockerfile:3: ") || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("want a failure at Dockerfile:3 saying %q, got:\n%s", tt.want, r)
			}
			if now := state(); now != before {
				t.Fatalf("berth build changed a host file:\nbefore:\n%s\nafter:\n%s", before, now)
			}
			if manifestDigest(t, image) != "" {
				t.Errorf("a failed build left an image")
			}
			assertNoBuildLeftovers(t)
		})
	}
}
