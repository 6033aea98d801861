package fscopy

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fuzzNames and fuzzLinks are what fuzzTar builds archives from; "$HOST"
// is the canary directory, outside the root.
var (
	fuzzNames = []string{"v", "d", "d/e", "v/x", "d/v", "/abs", "up/x", "./", "a/../b", "../esc", "x/../../y",
		"$HOST/canary", "d/e/f", "h", "up", "v/", "/", "$HOST", "$HOST/sub"}
	fuzzLinks = []string{"$HOST", "$HOST/canary", "$HOST/sub", "..", "../../../../../../../../../..", "/", "v", "d",
		"../../../../../../../../../..$HOST/canary", "d/e", "nowhere/deep", "h", "up", "v/x", "../esc", ".", ""}
)

// fuzzTar decodes ops into a tar stream, three bytes an entry: type,
// name, and a link target or mode.
func fuzzTar(ops []byte, host string) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	sub := func(s string) string { return strings.ReplaceAll(s, "$HOST", host) }
	for ; len(ops) >= 3; ops = ops[3:] {
		name := sub(fuzzNames[int(ops[1])%len(fuzzNames)])
		link := sub(fuzzLinks[int(ops[2])%len(fuzzLinks)])
		h := &tar.Header{Name: name, Mode: int64(ops[2])<<4 | 0o7, Uid: int(ops[2]), Gid: int(ops[1]), ModTime: time.Unix(int64(ops[0])<<20, 0)}
		body := ""
		switch ops[0] % 6 {
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
			h.Typeflag, h.Linkname = tar.TypeSymlink, sub(fuzzNames[int(ops[2])%len(fuzzNames)])
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

// FuzzExtractTar: berth cp's extraction of any tar stream (entries of
// every type in any order, names and links leading anywhere) into a
// container's root never changes a host file outside the root and never
// panics: it writes inside the root or refuses.
func FuzzExtractTar(f *testing.F) {
	f.Add(false, []byte{2, 0, 1, 0, 0, 0})          // v -> $HOST/canary, then directory v
	f.Add(false, []byte{2, 1, 0, 1, 3, 0})          // d -> $HOST, then d/e
	f.Add(true, []byte{2, 14, 4, 1, 6, 0})          // up -> ../.., then up/x
	f.Add(false, []byte{2, 0, 1, 3, 13, 6})         // v -> $HOST/canary, h hard link to v
	f.Add(true, []byte{1, 11, 0, 3, 0, 1, 4, 0, 0}) // $HOST/canary as a name, a hard link to it, a fifo
	f.Add(false, []byte{2, 0, 8, 1, 0, 0, 0, 0, 0}) // relative escape to the canary, then a file and a directory over it
	f.Fuzz(func(t *testing.T, archive bool, ops []byte) {
		if len(ops) > 3*24 {
			return
		}
		host := newHost(t)
		before := hostState(t, host)
		root := t.TempDir()
		// The root holds the canary directory's path, so that entries
		// through symlinks to it land somewhere.
		if err := os.MkdirAll(filepath.Join(root, "existing", host), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(root, host), 0o755); err != nil {
			t.Fatal(err)
		}
		owner := &Owner{UID: 1, GID: 1}
		if archive {
			owner = nil // cp -a: the entries' own owners
		}
		tr, err := openTree(root, "in the container")
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		extractTar(bytes.NewReader(fuzzTar(ops, host)), tr, "/existing", owner) //nolint:errcheck // refusing is fine; touching the host is not
		if now := hostState(t, host); now != before {
			t.Fatalf("a host file outside the root changed:\nbefore:\n%s\nafter:\n%s", before, now)
		}
	})
}
