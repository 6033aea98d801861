package fscopy

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth/berth/fscopy/fscopytest"
)

// TestRootStaysInside: every operation of a Root acts inside it, whatever
// symlinks lead out, with openat2 and with the user-space walk used
// without it.
func TestRootStaysInside(t *testing.T) {
	const up = "../../../../../../../../../.."
	tests := []struct {
		name string
		op   func(r *Root, host string) error
		// want says what is where in the root afterwards ("$HOST" is
		// the canary directory).
		want    map[string]string
		wantErr string
	}{
		{name: "chmod of a symlink is refused, not followed",
			op:      func(r *Root, host string) error { return r.Lchmod("abs", 0o777) },
			wantErr: "operation not supported"},
		{name: "chmod through a relative symlink out",
			op:   func(r *Root, host string) error { return r.Lchmod("updir/sub", 0o777) },
			want: map[string]string{"sub": "dir 0777"}},
		{name: "chown of a symlink",
			op:   func(r *Root, host string) error { return r.Lchown("abs", 4242, 4242) },
			want: map[string]string{"abs": "link -> $HOST/canary"}},
		{name: "times of a symlink",
			op:   func(r *Root, host string) error { return r.Lchtimes("abs", time.Unix(5, 0)) },
			want: map[string]string{"abs": "link -> $HOST/canary"}},
		{name: "remove a symlink",
			op:   func(r *Root, host string) error { return r.Remove("abs") },
			want: map[string]string{"abs": "missing"}},
		{name: "remove all of a symlink to a directory",
			op:   func(r *Root, host string) error { return r.RemoveAll("absdir") },
			want: map[string]string{"absdir": "missing"}},
		{name: "remove all through a symlink",
			op:   func(r *Root, host string) error { return r.RemoveAll("absdir/sub") },
			want: map[string]string{"$HOST/sub": "missing", "absdir": "link -> $HOST"}},
		{name: "create through an absolute symlink",
			op: func(r *Root, host string) error {
				f, err := r.Create("absdir/new")
				if err == nil {
					_, err = f.WriteString("new")
					f.Close()
				}
				return err
			},
			want: map[string]string{"$HOST/new": "file 0600 new"}},
		{name: "create over a symlink is refused",
			op: func(r *Root, host string) error {
				_, err := r.Create("abs")
				return err
			},
			wantErr: "file exists"},
		{name: "open a symlink is refused",
			op: func(r *Root, host string) error {
				_, err := r.OpenFile("abs", os.O_WRONLY|os.O_TRUNC, 0)
				return err
			},
			wantErr: "too many levels of symbolic links"},
		{name: "mkdir through a relative symlink out",
			op:   func(r *Root, host string) error { return r.Mkdir("updir/made", 0o755) },
			want: map[string]string{"made": "dir 0755"}},
		{name: "mkdir all through a dangling symlink",
			op: func(r *Root, host string) error {
				_, err := r.MkdirAll("dangling/a/b", 0o755)
				return err
			},
			want: map[string]string{"$HOST/nothing/a/b": "dir 0755"}},
		{name: "symlink through a symlink",
			op:   func(r *Root, host string) error { return r.Symlink("/etc/shadow", "absdir/canary2") },
			want: map[string]string{"$HOST/canary2": "link -> /etc/shadow"}},
		{name: "hard link to a host file by its absolute path",
			op:      func(r *Root, host string) error { return r.Link("absdir/canary", "h") },
			wantErr: "no such file"},
		{name: "hard link to a symlink out links the symlink",
			op:   func(r *Root, host string) error { return r.Link("abs", "h") },
			want: map[string]string{"h": "link -> $HOST/canary"}},
		{name: "fifo through a symlink",
			op:   func(r *Root, host string) error { return r.Mknod("absdir/p", unix.S_IFIFO|0o600, 0) },
			want: map[string]string{"$HOST/p": "prw-------"}},
		{name: "stat follows inside",
			op: func(r *Root, host string) error {
				fi, err := r.Stat("abs")
				if err == nil {
					return fmt.Errorf("abs leads to a %v", fi.Mode())
				}
				return err
			},
			wantErr: "no such file"},
		// ".." is taken lexically, as in a Dockerfile's and an archive's paths.
		{name: "resolve follows inside",
			op: func(r *Root, host string) error {
				for p, want := range map[string]string{"updir/x": "/x", "abs": host + "/canary", "dangling/y": host + "/nothing/y", "rel/rel/abs": host + "/canary", "/../absdir/..": "/"} {
					if got, err := r.Resolve(p); err != nil || got != want {
						return fmt.Errorf("Resolve(%q) = %q, %v, want %q", p, got, err, want)
					}
				}
				return nil
			}},
	}
	for _, walk := range []bool{false, true} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/walk=%v", tt.name, walk), func(t *testing.T) {
				canary := fscopytest.NewCanary(t)
				host := canary.Dir
				dir := t.TempDir()
				for name, target := range map[string]string{
					"abs": host + "/canary", "absdir": host, "updir": up, "rel": "..", "dangling": host + "/nothing",
				} {
					if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
						t.Fatal(err)
					}
				}
				// The root holds the canary directory's path (empty but
				// for sub/) and a sub/ of its own.
				for _, d := range []string{host + "/sub", "sub"} {
					if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
						t.Fatal(err)
					}
				}
				r, err := OpenRoot(dir)
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				r.walk = r.walk || walk
				err = tt.op(r, host)
				canary.Check(t)
				if tt.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
						t.Fatalf("%s = %v, want an error containing %q", tt.name, err, tt.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatalf("%s = %v", tt.name, err)
				}
				for p, want := range tt.want {
					p, want = strings.ReplaceAll(p, "$HOST", host), strings.ReplaceAll(want, "$HOST", host)
					if got := fscopytest.Describe(filepath.Join(dir, p)); got != want {
						t.Errorf("%s in the root is %q, want %q", p, got, want)
					}
				}
			})
		}
	}
}

// TestExtractTarStaysInRoot: berth cp's tar extraction (docker cp -)
// writes inside the container's root whatever order and type its entries
// come in, or refuses as docker cp does; a host file is never touched.
func TestExtractTarStaysInRoot(t *testing.T) {
	const up = "../../../../../../../../../.."
	mt := time.Unix(1e9, 0)
	sym := func(name, target string) tar.Header {
		return tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target, ModTime: mt}
	}
	dir := func(name string) tar.Header {
		return tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o777, ModTime: mt}
	}
	file := func(name string) tar.Header {
		return tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, ModTime: mt}
	}
	tests := []struct {
		name    string
		entries []tar.Header
		want    map[string]string
		wantErr string
	}{
		{name: "directory over a symlink to a host file is refused, as docker cp does",
			entries: []tar.Header{sym("v", "$HOST/canary"), dir("v")},
			wantErr: "a file is there"},
		{name: "file over a symlink to a host file",
			entries: []tar.Header{sym("v", "$HOST/canary"), file("v")},
			want:    map[string]string{"existing/v": "file 0644 v"}},
		{name: "symlink over a symlink",
			entries: []tar.Header{sym("v", "$HOST/canary"), sym("v", "x")},
			want:    map[string]string{"existing/v": "link -> x"}},
		{name: "hard link to a symlink links the symlink",
			entries: []tar.Header{sym("v", "$HOST/canary"), {Name: "h", Typeflag: tar.TypeLink, Linkname: "v"}},
			want:    map[string]string{"existing/h": "link -> $HOST/canary"}},
		{name: "hard link over a symlink",
			entries: []tar.Header{file("f"), sym("v", "$HOST/canary"), {Name: "v", Typeflag: tar.TypeLink, Linkname: "f"}},
			want:    map[string]string{"existing/v": "file 0644 f"}},
		{name: "hard link climbing out",
			entries: []tar.Header{{Name: "h", Typeflag: tar.TypeLink, Linkname: "../../canary"}},
			wantErr: "leads out of the destination"},
		{name: "file through a symlink to a host directory",
			entries: []tar.Header{sym("d", "$HOST"), file("d/new")},
			want:    map[string]string{"$HOST/new": "file 0644 d/new"}},
		{name: "file through a relative symlink climbing out",
			entries: []tar.Header{sym("d", up), file("d/new")},
			want:    map[string]string{"new": "file 0644 d/new"}},
		{name: "fifo through a symlink",
			entries: []tar.Header{sym("d", "$HOST"), {Name: "d/p", Typeflag: tar.TypeFifo, Mode: 0o600}},
			want:    map[string]string{"$HOST/p": "prw-------"}},
		{name: "directory through a symlink",
			entries: []tar.Header{sym("d", "$HOST"), dir("d/sub")},
			want:    map[string]string{"$HOST/sub": "dir 0777"}},
		{name: "symlink over a directory is refused, as docker cp does",
			entries: []tar.Header{dir("d"), sym("d", "$HOST")},
			wantErr: "a directory is there"},
		{name: "absolute name",
			entries: []tar.Header{file("/f")},
			want:    map[string]string{"existing/f": "file 0644 /f"}},
		{name: "name climbing out",
			entries: []tar.Header{file("../f")},
			wantErr: "leads out of the destination"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			canary := fscopytest.NewCanary(t)
			host := canary.Dir
			sub := func(s string) string { return strings.ReplaceAll(s, "$HOST", host) }
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			for _, h := range tt.entries {
				h.Name, h.Linkname = sub(h.Name), sub(h.Linkname)
				body := ""
				if h.Typeflag == tar.TypeReg {
					body = h.Name
					h.Size = int64(len(body))
				}
				if err := tw.WriteHeader(&h); err != nil {
					t.Fatal(err)
				}
				if _, err := tw.Write([]byte(body)); err != nil {
					t.Fatal(err)
				}
			}
			if err := tw.Close(); err != nil {
				t.Fatal(err)
			}
			root := t.TempDir()
			for _, d := range []string{"existing", host} {
				if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			err := extractTar(&buf, mustOpen(t, root, "in the container"), "/existing", &Owner{UID: os.Getuid(), GID: os.Getgid()})
			canary.Check(t)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("extractTar = %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("extractTar = %v", err)
			}
			for p, want := range tt.want {
				if got := fscopytest.Describe(filepath.Join(root, sub(p))); got != sub(want) {
					t.Errorf("%s in the root is %q, want %q", p, got, sub(want))
				}
			}
		})
	}
}
