package build

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// hashMemo remembers the content hashes of build context selections by
// what stat says of their files, so that a build whose context did not
// change reads none of its files: only their names and stat. It is kept
// in a file beside the cache index, shared by berth's processes.
//
// A selection is known by its root and each file's path, mode, size,
// modification and change times, inode and device. A write to a file
// changes its change time, which user space cannot set back; a hash is
// only kept when every file's times are older than racyWindow, so that a
// write within the same clock tick as the last one cannot go unseen (git
// calls these entries racy).
type hashMemo struct {
	path  string
	now   func() time.Time
	limit int

	mu      sync.Mutex // guards following
	loaded  bool
	entries map[string]memoEntry
}

type memoEntry struct {
	Hash string `json:"hash"`
	// Recorded is when the entry was written.
	Recorded time.Time `json:"recorded"`
}

// racyWindow is how old a file's times must be for its hash to be kept.
const racyWindow = 2 * time.Second

// memoLimit bounds the entries kept; the oldest recorded go first (a hit
// writes nothing, so that a build from the cache writes no file).
const memoLimit = 1024

func newHashMemo(path string) *hashMemo {
	return &hashMemo{path: path, now: time.Now, limit: memoLimit}
}

// signature is the key of a selection of root's files, and whether all of
// them are old enough to be kept (see racyWindow); ok is false when stat
// does not tell enough (no inode or change time).
func signature(root string, files []File, now time.Time) (key string, settled, ok bool) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00", root)
	settled = true
	for _, f := range files {
		st, isStat := f.Info.Sys().(*syscall.Stat_t)
		if !isStat {
			return "", false, false
		}
		ctime := time.Unix(st.Ctim.Unix())
		mtime := f.Info.ModTime()
		if now.Sub(ctime) < racyWindow || now.Sub(mtime) < racyWindow {
			settled = false
		}
		fmt.Fprintf(h, "%s\x00%o\x00%d\x00%d\x00%d\x00%d\x00%d\x00%s\x00", f.Rel, f.Info.Mode(), f.Info.Size(), mtime.UnixNano(), ctime.UnixNano(), st.Ino, st.Dev, f.Link)
	}
	return hex.EncodeToString(h.Sum(nil)), settled, true
}

// hash returns the content hash of files under root: the remembered one,
// or compute's, which is remembered when the files are settled.
func (m *hashMemo) hash(root string, files []File, compute func() (string, error)) (string, error) {
	key, settled, ok := signature(root, files, m.now())
	if !ok {
		return compute()
	}
	m.mu.Lock()
	if !m.loaded {
		m.entries, m.loaded = m.read(), true
	}
	e, hit := m.entries[key]
	m.mu.Unlock()
	if hit {
		return e.Hash, nil
	}
	h, err := compute()
	if err != nil || !settled {
		return h, err
	}
	m.store(key, h)
	return h, nil
}

// store records a hash in the file, merged with what other processes
// recorded; a failure to write only costs reading the files next time.
func (m *hashMemo) store(key, hash string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries[key] = memoEntry{Hash: hash, Recorded: m.now().UTC()}
	lf, err := os.OpenFile(m.path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return
	}
	defer lf.Close()
	if unix.Flock(int(lf.Fd()), unix.LOCK_EX) != nil {
		return
	}
	disk := m.read()
	for k, v := range m.entries {
		disk[k] = v
	}
	if len(disk) > m.limit {
		keys := make([]string, 0, len(disk))
		for k := range disk {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return disk[keys[i]].Recorded.After(disk[keys[j]].Recorded) })
		for _, k := range keys[m.limit:] {
			delete(disk, k)
		}
	}
	b, err := json.Marshal(disk)
	if err != nil {
		return
	}
	tmp := m.path + ".tmp"
	if os.WriteFile(tmp, b, 0o600) == nil {
		os.Rename(tmp, m.path) //nolint:errcheck // only costs reading the files next time
	}
	m.entries = disk
}

// read is the file's entries; a missing or damaged file is none.
func (m *hashMemo) read() map[string]memoEntry {
	out := map[string]memoEntry{}
	b, err := os.ReadFile(m.path)
	if err != nil {
		return out // none yet, or unreadable: the files are read
	}
	if json.Unmarshal(b, &out) != nil {
		return map[string]memoEntry{}
	}
	return out
}

// forget drops every entry (builder prune).
func (m *hashMemo) forget() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries, m.loaded = map[string]memoEntry{}, true
	if err := os.Remove(m.path); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("build context hashes: %w", err)
	}
	return nil
}

// memoFile is where a builder keeps its hashMemo.
func memoFile(stateDir string) string { return filepath.Join(stateDir, "context-hashes.json") }
