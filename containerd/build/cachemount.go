package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"golang.org/x/sys/unix"
)

// cacheDirs are the directories RUN --mount=type=cache binds, kept across
// builds under the builder's state directory (so per namespace, as the
// layer cache) until `berth builder prune`. A cache is named by its key
// (its id, and the from, source, uid, gid and mode that make its first
// content) and may have several instances, <name>.<n>: a step holds the
// one it uses with flock on the instance directory, shared for
// sharing=shared, exclusive for locked and private, so that another
// berth process sees it too. An instance's content is in its data
// directory.
type cacheDirs struct {
	dir string
}

// cacheHold is an instance of a cache a step holds until release.
type cacheHold struct {
	// data is the directory the step binds.
	data string
	f    *os.File
}

func (h *cacheHold) release() {
	if h.f != nil {
		h.f.Close() // closing unlocks
		h.f = nil
	}
}

func cacheName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16])
}

// acquire holds an instance of the cache key for a step, as BuildKit
// hands them out: shared takes an instance others may use too, private
// one nobody else uses (a new one when every instance is in use), locked
// waits (calling wait first) until the first instance is free when every
// instance is in use. A new instance's data directory is made by init.
func (cd cacheDirs) acquire(ctx context.Context, key string, sharing instructions.ShareMode, init func(data string) error, wait func()) (*cacheHold, error) {
	name := cacheName(key)
	how := unix.LOCK_EX
	if sharing == instructions.MountSharingShared {
		how = unix.LOCK_SH
	}
	for {
		h, busy, err := cd.take(name, sharing, how, init)
		if err != nil || h != nil {
			return h, err
		}
		// locked, every instance busy: wait for the first one.
		wait()
		f, err := os.Open(busy)
		if errors.Is(err, fs.ErrNotExist) {
			continue // pruned meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("cache mount: %w", err)
		}
		if err := flockContext(ctx, f, how); err != nil {
			return nil, err
		}
		data := filepath.Join(busy, "data")
		if _, err := os.Stat(data); err != nil {
			f.Close() // pruned while we waited: look again
			continue
		}
		return &cacheHold{data: data, f: f}, nil
	}
}

// take holds, under the lock of the caches' directory, a free instance
// of the cache name or a new one, and returns nil and the first instance
// when sharing is locked and every instance is in use.
func (cd cacheDirs) take(name string, sharing instructions.ShareMode, how int, init func(string) error) (h *cacheHold, busy string, retErr error) {
	if err := os.MkdirAll(cd.dir, 0o700); err != nil {
		return nil, "", fmt.Errorf("cache mount: %w", err)
	}
	unlock, err := lockFile(filepath.Join(cd.dir, ".lock"), unix.LOCK_EX)
	if err != nil {
		return nil, "", err
	}
	defer unlock()
	n := 0
	for ; ; n++ {
		inst := filepath.Join(cd.dir, name+"."+strconv.Itoa(n))
		f, err := os.Open(inst)
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			return nil, "", fmt.Errorf("cache mount: %w", err)
		}
		if err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB); err == nil {
			return &cacheHold{data: filepath.Join(inst, "data"), f: f}, "", nil
		}
		f.Close()
	}
	if n > 0 && sharing == instructions.MountSharingLocked {
		return nil, filepath.Join(cd.dir, name+".0"), nil
	}
	return cd.create(filepath.Join(cd.dir, name+"."+strconv.Itoa(n)), how, init)
}

// create makes a new instance, held.
func (cd cacheDirs) create(inst string, how int, init func(string) error) (h *cacheHold, busy string, retErr error) {
	if err := os.Mkdir(inst, 0o700); err != nil {
		return nil, "", fmt.Errorf("cache mount: %w", err)
	}
	defer func() {
		if retErr != nil {
			os.RemoveAll(inst)
		}
	}()
	f, err := os.Open(inst)
	if err != nil {
		return nil, "", fmt.Errorf("cache mount: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, "", fmt.Errorf("cache mount: lock: %w", err)
	}
	data := filepath.Join(inst, "data")
	if err := init(data); err != nil {
		f.Close()
		return nil, "", err
	}
	return &cacheHold{data: data, f: f}, "", nil
}

// prune removes every instance no step holds and returns the bytes freed.
func (cd cacheDirs) prune() (int64, error) {
	entries, err := os.ReadDir(cd.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("cache mounts: %w", err)
	}
	unlock, err := lockFile(filepath.Join(cd.dir, ".lock"), unix.LOCK_EX)
	if err != nil {
		return 0, err
	}
	defer unlock()
	var freed int64
	var errs []error
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		inst := filepath.Join(cd.dir, e.Name())
		f, err := os.Open(inst)
		if err != nil {
			continue
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
			f.Close() // in use by a running build: left
			continue
		}
		freed += diskUsage(inst)
		if err := os.RemoveAll(inst); err != nil {
			errs = append(errs, fmt.Errorf("remove cache mount: %w", err))
		}
		f.Close()
	}
	return freed, errors.Join(errs...)
}

// diskUsage is the size of the regular files under dir.
func diskUsage(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error { //nolint:errcheck // a size is best effort
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// lockFile flocks the file p (made if missing) and returns its unlock.
func lockFile(p string, how int) (func(), error) {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cache mount: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		return nil, fmt.Errorf("cache mount: lock: %w", err)
	}
	return func() { f.Close() }, nil
}

// flockContext waits for flock on f until ctx ends; f is closed when it
// ends first.
func flockContext(ctx context.Context, f *os.File, how int) error {
	done := make(chan error, 1)
	fd := int(f.Fd())
	go func() { done <- unix.Flock(fd, how) }()
	select {
	case err := <-done:
		if err != nil {
			f.Close()
			return fmt.Errorf("cache mount: lock: %w", err)
		}
		return nil
	case <-ctx.Done():
		go func() {
			<-done
			f.Close()
		}()
		return ctx.Err()
	}
}
