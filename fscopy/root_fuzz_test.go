package fscopy

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/berth/berth/fscopy/fscopytest"
)

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
		canary := fscopytest.NewCanary(t)
		host := canary.Dir
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
		extractTar(bytes.NewReader(fscopytest.FuzzTar(ops, host)), tr, "/existing", owner) //nolint:errcheck // refusing is fine; touching the host is not
		canary.Check(t)
	})
}
