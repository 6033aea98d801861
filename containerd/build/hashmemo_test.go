package build

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// memoContext is a context over dir whose hashes go through memo.
func memoContext(t *testing.T, dir string, memo *hashMemo) *Context {
	t.Helper()
	c, err := OpenContext(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	c.memo = memo
	return c
}

// hashOf selects src in c and hashes it, counting a read of the files when
// the memo did not know them.
func hashOf(t *testing.T, c *Context, src string) (string, bool) {
	t.Helper()
	files, err := c.Select(src)
	if err != nil {
		t.Fatal(err)
	}
	read := false
	h, err := c.memo.hash(c.Root, files, func() (string, error) { read = true; return c.hashFiles(files) })
	if err != nil {
		t.Fatal(err)
	}
	plain, err := (&Context{Root: c.Root}).Hash(files)
	if err != nil || plain != h {
		t.Fatalf("hash of %s = %s, the files' content hash %s (%v)", src, h, plain, err)
	}
	return h, read
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	// Written beside and renamed over, as editors do: a new inode.
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestHashMemo(t *testing.T) {
	dir := t.TempDir()
	state := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.txt"), "one")
	writeFile(t, filepath.Join(dir, "b.txt"), "two")
	later := time.Now().Add(time.Hour) // the files are settled by then
	memo := newHashMemo(memoFile(state))
	memo.now = func() time.Time { return later }
	c := memoContext(t, dir, memo)

	first, read := hashOf(t, c, ".")
	if !read {
		t.Fatal("first hash read no file")
	}
	if again, read := hashOf(t, c, "."); read || again != first {
		t.Errorf("unchanged context: hash %s (read the files: %v), want %s from the memo", again, read, first)
	}
	// Another process (a new memo on the same file) knows it too.
	other := newHashMemo(memoFile(state))
	other.now = memo.now
	oc := memoContext(t, dir, other)
	if h, read := hashOf(t, oc, "."); read || h != first {
		t.Errorf("another builder: hash %s (read: %v), want %s from the file", h, read, first)
	}

	// Same size, other content: a new hash.
	writeFile(t, filepath.Join(dir, "b.txt"), "TWO")
	changed, read := hashOf(t, c, ".")
	if !read || changed == first {
		t.Errorf("after changing b.txt: hash %s (read: %v), want a new one read from the files", changed, read)
	}
	// A selection of its own.
	if _, read := hashOf(t, c, "a.txt"); !read {
		t.Error("a.txt alone came from the memo of the whole context")
	}

	// builder prune forgets them.
	if err := memo.forget(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(memoFile(state)); err == nil {
		t.Error("forget left the memo file")
	}
	if _, read := hashOf(t, c, "."); !read {
		t.Error("after forget, the hash came from the memo")
	}
}

func TestHashMemoRacy(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.txt"), "one")
	memo := newHashMemo(memoFile(t.TempDir()))
	now := time.Now()
	memo.now = func() time.Time { return now }
	c := memoContext(t, dir, memo)
	// Written just now: a write in the same clock tick could keep its
	// times, so its hash is not kept.
	for i := range 2 {
		if _, read := hashOf(t, c, "."); !read {
			t.Fatalf("hash %d of a file written just now came from the memo", i)
		}
	}
	now = now.Add(racyWindow)
	hashOf(t, c, ".")
	if _, read := hashOf(t, c, "."); read {
		t.Error("a settled file was read again")
	}
}

func TestHashMemoLimit(t *testing.T) {
	dir := t.TempDir()
	memo := newHashMemo(memoFile(t.TempDir()))
	memo.limit = 2
	clock := time.Now().Add(time.Hour)
	memo.now = func() time.Time { clock = clock.Add(time.Second); return clock }
	c := memoContext(t, dir, memo)
	for _, name := range []string{"a", "b", "c"} {
		writeFile(t, filepath.Join(dir, name), name)
		hashOf(t, c, name)
	}
	if n := len(memo.read()); n != 2 {
		t.Fatalf("the memo file holds %d entries, want the limit, 2", n)
	}
	fresh := newHashMemo(memo.path)
	fresh.now = memo.now
	fc := memoContext(t, dir, fresh)
	if _, read := hashOf(t, fc, "a"); !read {
		t.Error("the oldest entry was kept past the limit")
	}
	if _, read := hashOf(t, fc, "c"); read {
		t.Error("the newest entry was dropped")
	}
}
