package watch

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestSyncInto(t *testing.T) {
	host, root := t.TempDir(), t.TempDir()
	write := func(dir, p, content string) {
		t.Helper()
		os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, p), []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	write(host, "a.txt", "new")
	write(host, "d/b.txt", "b")
	write(root, "app/a.txt", "old content, longer")
	write(root, "app/gone.txt", "x")
	write(root, "app/gonedir/x", "x")
	os.Symlink("a.txt", filepath.Join(host, "link"))
	mtime := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	os.Chtimes(filepath.Join(host, "a.txt"), mtime, mtime)
	// A symlink in the container pointing out of it is followed inside it.
	os.Symlink("/outside", filepath.Join(root, "app", "esc"))

	files := []File{
		{Host: filepath.Join(host, "a.txt"), Container: "/app/a.txt"},
		{Host: filepath.Join(host, "d/b.txt"), Container: "/app/d/b.txt"},
		{Host: filepath.Join(host, "gone.txt"), Container: "/app/gone.txt"},
		{Host: filepath.Join(host, "gonedir"), Container: "/app/gonedir"},
		{Host: filepath.Join(host, "link"), Container: "/app/link"},
		{Host: filepath.Join(host, "d/b.txt"), Container: "/app/esc/b.txt"},
	}
	owner := Owner{UID: 1234, GID: 5678}
	if err := SyncInto(root, owner, files); err != nil {
		t.Fatalf("SyncInto: %v", err)
	}
	// Written as the container's user, as compose's sync does.
	for _, p := range []string{"app/a.txt", "app/d", "app/d/b.txt", "app/link"} {
		st, err := os.Lstat(filepath.Join(root, p))
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if sys := st.Sys().(*syscall.Stat_t); int(sys.Uid) != owner.UID || int(sys.Gid) != owner.GID {
			t.Errorf("%s belongs to %d:%d, want %d:%d", p, sys.Uid, sys.Gid, owner.UID, owner.GID)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(root, "app/a.txt")); string(b) != "new" {
		t.Errorf("a.txt = %q, want new (rewritten, truncated)", b)
	}
	if st, err := os.Stat(filepath.Join(root, "app/a.txt")); err != nil || !st.ModTime().Equal(mtime) || st.Mode().Perm() != 0o640 {
		t.Errorf("a.txt stat = %v %v, want mtime %v mode 0640", st, err, mtime)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "app/d/b.txt")); string(b) != "b" {
		t.Errorf("d/b.txt = %q, want b (parent made)", b)
	}
	for _, gone := range []string{"app/gone.txt", "app/gonedir"} {
		if _, err := os.Lstat(filepath.Join(root, gone)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s still there (err %v), want removed", gone, err)
		}
	}
	if l, _ := os.Readlink(filepath.Join(root, "app/link")); l != "a.txt" {
		t.Errorf("link -> %q, want a.txt", l)
	}
	if b, err := os.ReadFile(filepath.Join(root, "outside/b.txt")); err != nil || string(b) != "b" {
		t.Errorf("write through /app/esc: %q %v, want it inside the root at /outside/b.txt", b, err)
	}
}
