// Package fscopytest holds what the tests of fscopy and containerd/build
// share to prove that copying and tar extraction never reach a host file
// outside the root they write into: a canary directory on the host whose
// files must never change, a description of a path for table tests, and
// the decoder that turns fuzz input into tar archives. Only tests import
// it.
package fscopytest

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

// Canary is a directory on the host, outside the root a copy writes into,
// whose files must never change: their content, mode, owner, times and
// link counts, and the directory's own.
type Canary struct {
	// Dir is the canary directory; "$HOST" in tests' names and links.
	Dir    string
	before string
}

// NewCanary makes the canary directory, with old times: canary (a file,
// 0600), sub/ (0700) and sub/inner (0644).
func NewCanary(t testing.TB) *Canary {
	t.Helper()
	dir := t.TempDir()
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	for _, f := range []struct {
		name string
		dir  bool
		mode fs.FileMode
	}{{"canary", false, 0o600}, {"sub", true, 0o700}, {"sub/inner", false, 0o644}} {
		p := filepath.Join(dir, f.name)
		var err error
		if f.dir {
			err = os.Mkdir(p, f.mode)
		} else {
			err = os.WriteFile(p, []byte("the host's "+f.name), f.mode)
		}
		if err == nil {
			err = os.Chmod(p, f.mode)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"sub/inner", "sub", "canary", "."} {
		if err := os.Chtimes(filepath.Join(dir, p), old, old); err != nil {
			t.Fatal(err)
		}
	}
	c := &Canary{Dir: dir}
	c.before = c.state(t)
	return c
}

// state describes everything under the canary directory.
func (c *Canary) state(t testing.TB) string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(c.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		// Not the access time, which reading them here changes.
		line := fmt.Sprintf("%s %v %d:%d nlink=%d mtime=%d ctime=%d size=%d", strings.TrimPrefix(p, c.Dir), info.Mode(), st.Uid, st.Gid, st.Nlink, st.Mtim.Nano(), st.Ctim.Nano(), st.Size)
		if info.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			line += " " + string(b)
		}
		out = append(out, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, "\n")
}

// Check fails the test if anything under the canary directory changed.
func (c *Canary) Check(t testing.TB) {
	t.Helper()
	if now := c.state(t); now != c.before {
		t.Fatalf("a host file outside the root changed:\nbefore:\n%s\nafter:\n%s", c.before, now)
	}
}

// Describe says what is at p: "dir 0755", "file 0644 <content>",
// "link -> <target>", "missing", or the mode.
func Describe(p string) string {
	fi, err := os.Lstat(p)
	if err != nil {
		return "missing"
	}
	switch {
	case fi.IsDir():
		return fmt.Sprintf("dir %#o", fi.Mode().Perm())
	case fi.Mode()&fs.ModeSymlink != 0:
		l, _ := os.Readlink(p)
		return "link -> " + l
	case fi.Mode().IsRegular():
		b, _ := os.ReadFile(p)
		return fmt.Sprintf("file %#o %s", fi.Mode().Perm(), b)
	}
	return fi.Mode().String()
}

// tarNames and tarLinks are what FuzzTar builds archives from; "$HOST"
// is the canary directory, outside the root.
var (
	tarNames = []string{"v", "d", "d/e", "v/x", "d/v", "/abs", "up/x", "./", "a/../b", "../esc", "x/../../y",
		"$HOST/canary", "d/e/f/g", "h", "up", "v/", "d/../v", "/", "$HOST", "$HOST/sub"}
	tarLinks = []string{"$HOST", "$HOST/canary", "$HOST/sub", "..", "../../../../../../../../../..", "/", "v", "d",
		"../../../../../../../../../..$HOST/canary", "d/e", "nowhere/deep", "h", "up", "v/x", "../esc", ".", ""}
)

// FuzzTar decodes fuzz input into a tar stream, three bytes an entry:
// the type (directory, file, symlink, hard link, fifo, PAX global
// header, symlink to a name), the name, and a link target or mode. host
// replaces "$HOST" in names and links.
func FuzzTar(ops []byte, host string) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	sub := func(s string) string { return strings.ReplaceAll(s, "$HOST", host) }
	for ; len(ops) >= 3; ops = ops[3:] {
		name := sub(tarNames[int(ops[1])%len(tarNames)])
		link := sub(tarLinks[int(ops[2])%len(tarLinks)])
		mode := int64(ops[2])<<4 | 0o7
		h := &tar.Header{Name: name, Mode: mode, Uid: int(ops[2]), Gid: int(ops[1]), ModTime: time.Unix(int64(ops[0])<<20, 0)}
		body := ""
		switch ops[0] % 7 {
		case 0:
			h.Typeflag = tar.TypeDir
		case 1:
			h.Typeflag, body = tar.TypeReg, "content of "+name
		case 2:
			h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, link, 0o777
		case 3:
			h.Typeflag, h.Linkname = tar.TypeLink, link
		case 4:
			h.Typeflag = tar.TypeFifo
		case 5:
			h.Typeflag, h.PAXRecords = tar.TypeXGlobalHeader, map[string]string{"comment": name}
		case 6:
			h.Typeflag, h.Linkname = tar.TypeSymlink, sub(tarNames[int(ops[2])%len(tarNames)])
		}
		h.Size = int64(len(body))
		if tw.WriteHeader(h) != nil {
			continue
		}
		tw.Write([]byte(body)) //nolint:errcheck // a short body shows as a read error
	}
	tw.Close() //nolint:errcheck // as above
	return buf.Bytes()
}
