package build

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// CacheEntry is what one build step produced: a layer (its compressed blob
// in the content store and its committed snapshot), or nothing when the
// step changed no file.
type CacheEntry struct {
	// Empty is set when the step changed nothing: it adds no layer.
	Empty bool `json:"empty,omitempty"`
	// Layer is the compressed layer blob.
	Layer ocispec.Descriptor `json:"layer,omitzero"`
	// DiffID is the digest of the uncompressed layer.
	DiffID digest.Digest `json:"diffID,omitempty"`
	// Chain is the chain ID of the snapshot the step committed.
	Chain digest.Digest `json:"chain,omitempty"`
	// Created is when the step ran; the image's history records it.
	Created time.Time `json:"created"`
}

// cacheIndex maps step keys to what the steps produced. It lives in a
// JSON file beside the other build state and survives berth's restarts;
// the blobs and snapshots it names are kept alive by the cache lease.
// Builds running at the same time (in this process or another) share it:
// every write merges into the file under an exclusive lock.
type cacheIndex struct {
	path    string
	mu      sync.Mutex
	entries map[string]CacheEntry
}

type cacheFile struct {
	Version int                   `json:"version"`
	Steps   map[string]CacheEntry `json:"steps"`
}

func openCache(path string) (*cacheIndex, error) {
	c := &cacheIndex{path: path, entries: map[string]CacheEntry{}}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("build cache: %w", err)
	}
	err := c.locked(unix.LOCK_SH, func() error {
		entries, err := c.read()
		c.entries = entries
		return err
	})
	return c, err
}

// get returns the entry of key. A key the index does not know is looked
// up again in the file: a builder lives as long as its berth process, and
// other processes record steps meanwhile.
func (c *cacheIndex) get(key string) (CacheEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok {
		return e, true
	}
	var disk map[string]CacheEntry
	err := c.locked(unix.LOCK_SH, func() (err error) {
		disk, err = c.read()
		return err
	})
	if err != nil {
		return CacheEntry{}, false // the step runs, and put reports the error
	}
	for k, v := range disk {
		c.entries[k] = v
	}
	e, ok := c.entries[key]
	return e, ok
}

// put records a step's result and writes the index, unless another build
// recorded the same step meanwhile: the first result wins, so that builds
// running side by side end with the same layers. It returns the entry
// that is recorded.
func (c *cacheIndex) put(key string, e CacheEntry, usable func(CacheEntry) bool) (CacheEntry, error) {
	err := c.record(func(disk map[string]CacheEntry) {
		if old, ok := disk[key]; ok && usable(old) {
			e = old
		}
		disk[key] = e
	})
	return e, err
}

// set records a step's result and writes the index, over any entry the
// step had: a build that did not look in the cache (--no-cache) gives
// what it ran, and later builds take that.
func (c *cacheIndex) set(key string, e CacheEntry) error {
	return c.record(func(disk map[string]CacheEntry) { disk[key] = e })
}

// record applies change to the index as the file has it, under its lock,
// and writes it back; this process then knows every entry of it.
func (c *cacheIndex) record(change func(disk map[string]CacheEntry)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.locked(unix.LOCK_EX, func() error {
		disk, err := c.read()
		if err != nil {
			return err
		}
		change(disk)
		for k, v := range disk {
			c.entries[k] = v
		}
		return c.write(disk)
	})
}

// drop forgets entries (whose blob or snapshot is gone).
func (c *cacheIndex) drop(keys ...string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.locked(unix.LOCK_EX, func() error {
		disk, err := c.read()
		if err != nil {
			return err
		}
		for _, k := range keys {
			delete(disk, k)
			delete(c.entries, k)
		}
		return c.write(disk)
	})
}

// all returns every entry.
func (c *cacheIndex) all() map[string]CacheEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]CacheEntry, len(c.entries))
	for k, v := range c.entries {
		out[k] = v
	}
	return out
}

func (c *cacheIndex) read() (map[string]CacheEntry, error) {
	b, err := os.ReadFile(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]CacheEntry{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("build cache: %w", err)
	}
	var f cacheFile
	if err := json.Unmarshal(b, &f); err != nil || f.Version != 1 {
		// A damaged or foreign index only costs rebuilding: start afresh.
		return map[string]CacheEntry{}, nil
	}
	if f.Steps == nil {
		f.Steps = map[string]CacheEntry{}
	}
	return f.Steps, nil
}

func (c *cacheIndex) write(steps map[string]CacheEntry) error {
	b, err := json.Marshal(cacheFile{Version: 1, Steps: steps})
	if err != nil {
		return err
	}
	tmp := c.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("build cache: %w", err)
	}
	if err := os.Rename(tmp, c.path); err != nil {
		return fmt.Errorf("build cache: %w", err)
	}
	return nil
}

func (c *cacheIndex) locked(how int, f func() error) error {
	lf, err := os.OpenFile(c.path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("build cache: %w", err)
	}
	defer lf.Close()
	if err := unix.Flock(int(lf.Fd()), how); err != nil {
		return fmt.Errorf("build cache: lock: %w", err)
	}
	defer unix.Flock(int(lf.Fd()), unix.LOCK_UN) //nolint:errcheck // closing unlocks too
	return f()
}
