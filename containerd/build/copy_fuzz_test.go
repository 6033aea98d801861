package build

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tarNames and tarLinks are what fuzzTar builds archives from; "$HOST"
// is the canary directory, outside the root.
var (
	tarNames = []string{"v", "d", "d/e", "v/x", "d/v", "/abs", "up/x", "./", "a/../b", "../esc", "x/../../y",
		"$HOST/canary", "d/e/f/g", "h", "up", "v/", "d/../v", "/", "$HOST"}
	tarLinks = []string{"$HOST", "$HOST/canary", "$HOST/sub", "..", "../../../../../../../../../..", "/", "v", "d",
		"../../../../../../../../../..$HOST/canary", "d/e", "nowhere/deep", "h", "up", "v/x", "../esc", ".", ""}
)

// fuzzTar decodes ops into a tar stream, three bytes an entry: type,
// name, and a link target or mode.
func fuzzTar(ops []byte, host string) []byte {
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

// FuzzExtract: ADD of any archive (entries of every type in any order,
// names and links leading anywhere) into a root whose image may hold a
// symlink out of it never changes a host file outside the root, and
// never panics: it unpacks inside the root or refuses.
func FuzzExtract(f *testing.F) {
	f.Add(byte(0), []byte{2, 0, 1, 0, 0, 0})           // v -> $HOST/canary, then directory v
	f.Add(byte(0), []byte{2, 1, 0, 1, 3, 0})           // d -> $HOST, then d/e
	f.Add(byte(1), []byte{2, 14, 4, 1, 6, 0})          // up -> ../.., then up/x
	f.Add(byte(2), []byte{2, 0, 1, 3, 13, 6})          // v -> $HOST/canary, h hard link to v
	f.Add(byte(0), []byte{0, 1, 0, 1, 2, 0, 2, 1, 0})  // directory d, d/e, d replaced by a symlink
	f.Add(byte(3), []byte{1, 11, 0, 3, 0, 1, 4, 0, 0}) // $HOST/canary as a name, a hard link to it, a fifo
	f.Add(byte(0), []byte{5, 0, 0, 2, 0, 8, 0, 0, 0})  // PAX global, relative escape to the canary, directory over it
	f.Fuzz(func(t *testing.T, setup byte, ops []byte) {
		if len(ops) > 3*24 {
			return
		}
		host := newCanary(t)
		root := t.TempDir()
		dest := []string{"/x", "/", "/x/y", "/x"}[setup%4]
		switch setup / 4 % 4 {
		case 1: // the destination is an image symlink to the host
			os.Symlink(host.dir, filepath.Join(root, "x")) //nolint:errcheck // checked by what follows
		case 2: // an image symlink climbing out, where entries go
			os.MkdirAll(filepath.Join(root, "x"), 0o755)                             //nolint:errcheck // as above
			os.Symlink("../../../../../../../../..", filepath.Join(root, "x", "up")) //nolint:errcheck // as above
		case 3: // an image symlink to the canary, where entries go
			os.MkdirAll(filepath.Join(root, "x"), 0o755)                                 //nolint:errcheck // as above
			os.Symlink(filepath.Join(host.dir, "canary"), filepath.Join(root, "x", "v")) //nolint:errcheck // as above
		}
		var owner *Owner
		if setup&0x10 != 0 {
			owner = &Owner{UID: 1, GID: 1}
		}
		c := &copier{root: root, owner: owner}
		c.extract(bytes.NewReader(fuzzTar(ops, host.dir)), dest, "evil.tar") //nolint:errcheck // refusing is fine; touching the host is not
		host.check(t)
	})
}
