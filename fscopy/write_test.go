package fscopy

import (
	"archive/tar"
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestTruncatedTarLeavesNoFile: a tar stream cut in the middle of a file
// fails the copy and leaves no half-written file; what was complete stays.
func TestTruncatedTarLeavesNoFile(t *testing.T) {
	type tarEntry struct{ name, body string }
	tests := []struct {
		name    string
		entries []tarEntry
		// want are the files added to the destination directory.
		want map[string]string
	}{
		{name: "file in the destination", entries: []tarEntry{{"cut.bin", "0123456789"}}, want: map[string]string{}},
		{name: "file in a directory of the stream", entries: []tarEntry{{"d/", ""}, {"d/cut.bin", "0123456789"}}, want: map[string]string{"existing/d/": ""}},
		{name: "file after a complete one", entries: []tarEntry{{"whole.txt", "whole"}, {"cut.bin", "0123456789"}}, want: map[string]string{"existing/whole.txt": "whole"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			for _, e := range tt.entries {
				h := &tar.Header{Name: e.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(e.body))}
				if strings.HasSuffix(e.name, "/") {
					h.Typeflag, h.Mode = tar.TypeDir, 0o755
				}
				if err := tw.WriteHeader(h); err != nil {
					t.Fatal(err)
				}
				if _, err := tw.Write([]byte(e.body)); err != nil {
					t.Fatal(err)
				}
			}
			if err := tw.Close(); err != nil {
				t.Fatal(err)
			}
			// Cut the stream three bytes into the last file's content.
			cut := buf.Bytes()[:bytes.LastIndex(buf.Bytes(), []byte("0123456789"))+3]

			dstRoot := t.TempDir()
			makeFiles(t, dstRoot, dstFiles)
			before := listFiles(t, dstRoot)
			err := extractTar(bytes.NewReader(cut), mustOpen(t, dstRoot, "in dst"), "/existing", &Owner{UID: os.Getuid(), GID: os.Getgid()})
			if err == nil || !strings.Contains(err.Error(), "unexpected EOF") {
				t.Fatalf("extractTar(cut stream) = %v, want an unexpected EOF", err)
			}
			want := before
			for k, v := range tt.want {
				want[k] = v
			}
			if got := listFiles(t, dstRoot); !sameFiles(got, want) {
				t.Errorf("extractTar(cut stream) left:\n%s", diffFiles(got, want))
			}
		})
	}
}
