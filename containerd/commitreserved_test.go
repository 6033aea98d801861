package containerd

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

func TestReservedEntry(t *testing.T) {
	for name, want := range map[string]bool{
		".berth/": true, ".berth": true, "./.berth/probe": true, "/.berth/run/": true, ".berth/run/probe.sock": true,
		".berthy": false, "etc/.berth": false, "changed": false, ".wh..berthy": false,
	} {
		if got := reservedEntry(name); got != want {
			t.Errorf("reservedEntry(%q) = %v, want %v", name, got, want)
		}
	}
}

// layerOf is a gzip-compressed tar stream of the named entries (a name
// ending in "/" a directory, else a file holding its name).
func layerOf(t *testing.T, names ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, n := range names {
		h := &tar.Header{Name: n, Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(n)), PAXRecords: map[string]string{"SCHILY.xattr.user.k": "v"}}
		if strings.HasSuffix(n, "/") {
			h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o755, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			if _, err := tw.Write([]byte(n)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestFilterLayer(t *testing.T) {
	in := layerOf(t, ".berth/", ".berth/probe", ".berth/run/", ".berthy", "etc/", "etc/hosts", "changed")
	var out bytes.Buffer
	diffID, dropped, err := filterLayer(bytes.NewReader(in), &out, reservedEntry)
	if err != nil || dropped != 3 {
		t.Fatalf("filterLayer = %v, %d dropped, want 3 and no error", err, dropped)
	}
	zr, err := gzip.NewReader(bytes.NewReader(out.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if want := digest.FromBytes(raw); diffID != want {
		t.Errorf("diff ID %s, want the digest of the tar stream written, %s", diffID, want)
	}
	var got []string
	tr := tar.NewReader(bytes.NewReader(raw))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		got = append(got, h.Name+"="+string(b)+" "+h.PAXRecords["SCHILY.xattr.user.k"])
	}
	if want := ".berthy=.berthy v|etc/= v|etc/hosts=etc/hosts v|changed=changed v"; strings.Join(got, "|") != want {
		t.Errorf("filtered layer has %q, want %q", strings.Join(got, "|"), want)
	}
	// Not a gzip stream: an error, not a layer.
	if _, _, err := filterLayer(strings.NewReader("not gzip"), io.Discard, reservedEntry); err == nil {
		t.Errorf("filterLayer of garbage: no error")
	}
}
