package build

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/berth/berth/fscopy/fscopytest"
)

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
		host := fscopytest.NewCanary(t)
		root := t.TempDir()
		dest := []string{"/x", "/", "/x/y", "/x"}[setup%4]
		switch setup / 4 % 4 {
		case 1: // the destination is an image symlink to the host
			os.Symlink(host.Dir, filepath.Join(root, "x")) //nolint:errcheck // checked by what follows
		case 2: // an image symlink climbing out, where entries go
			os.MkdirAll(filepath.Join(root, "x"), 0o755)                             //nolint:errcheck // as above
			os.Symlink("../../../../../../../../..", filepath.Join(root, "x", "up")) //nolint:errcheck // as above
		case 3: // an image symlink to the canary, where entries go
			os.MkdirAll(filepath.Join(root, "x"), 0o755)                                 //nolint:errcheck // as above
			os.Symlink(filepath.Join(host.Dir, "canary"), filepath.Join(root, "x", "v")) //nolint:errcheck // as above
		}
		var owner *Owner
		if setup&0x10 != 0 {
			owner = &Owner{UID: 1, GID: 1}
		}
		c := &copier{root: root, owner: owner}
		c.extract(bytes.NewReader(fscopytest.FuzzTar(ops, host.Dir)), dest, "evil.tar") //nolint:errcheck // refusing is fine; touching the host is not
		host.Check(t)
	})
}
