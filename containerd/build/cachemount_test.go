package build

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

func mkdata(data string) error { return os.Mkdir(data, 0o755) }

func noWait() {}

// TestCacheDirsSharing: shared holders use the same instance; a private
// one gets a fresh instance while another is in use, and the instance
// persists for the next build; content survives releases.
func TestCacheDirsSharing(t *testing.T) {
	ctx := context.Background()
	cd := cacheDirs{dir: t.TempDir()}
	tests := []struct {
		name    string
		first   instructions.ShareMode
		second  instructions.ShareMode
		samedir bool
	}{
		{"shared with shared", instructions.MountSharingShared, instructions.MountSharingShared, true},
		{"private while shared", instructions.MountSharingShared, instructions.MountSharingPrivate, false},
		{"shared while private", instructions.MountSharingPrivate, instructions.MountSharingShared, false},
		{"private with private", instructions.MountSharingPrivate, instructions.MountSharingPrivate, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "id=" + tt.name
			a, err := cd.acquire(ctx, key, tt.first, mkdata, noWait)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(a.data, "kept"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			b, err := cd.acquire(ctx, key, tt.second, mkdata, noWait)
			if err != nil {
				t.Fatal(err)
			}
			if (a.data == b.data) != tt.samedir {
				t.Errorf("%s then %s: dirs %s and %s, want same=%t", tt.first, tt.second, a.data, b.data, tt.samedir)
			}
			a.release()
			b.release()
			c, err := cd.acquire(ctx, key, instructions.MountSharingLocked, mkdata, noWait)
			if err != nil {
				t.Fatal(err)
			}
			defer c.release()
			if c.data != a.data {
				t.Errorf("after release got %s, want the first instance %s", c.data, a.data)
			}
			if _, err := os.Stat(filepath.Join(c.data, "kept")); err != nil {
				t.Errorf("content written by the first holder is gone: %v", err)
			}
		})
	}
}

// TestCacheDirsLocked: a locked holder waits until the one before it
// releases the cache, and gives up when its context ends.
func TestCacheDirsLocked(t *testing.T) {
	ctx := context.Background()
	cd := cacheDirs{dir: t.TempDir()}
	first, err := cd.acquire(ctx, "id=apt", instructions.MountSharingLocked, mkdata, noWait)
	if err != nil {
		t.Fatal(err)
	}
	waiting := make(chan struct{})
	got := make(chan *cacheHold)
	go func() {
		h, err := cd.acquire(ctx, "id=apt", instructions.MountSharingLocked, mkdata, func() { close(waiting) })
		if err != nil {
			t.Error(err)
		}
		got <- h
	}()
	<-waiting
	select {
	case <-got:
		t.Fatal("the second locked holder did not wait")
	default:
	}
	first.release()
	second := <-got
	if second == nil || second.data != first.data {
		t.Fatalf("the second locked holder got %v, want %s", second, first.data)
	}

	cctx, cancel := context.WithCancel(ctx)
	errc := make(chan error)
	go func() {
		_, err := cd.acquire(cctx, "id=apt", instructions.MountSharingLocked, mkdata, cancel)
		errc <- err
	}()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled wait = %v, want context.Canceled", err)
	}
	second.release()
}

// TestCacheDirsInit: a new instance is made by init, and one whose init
// fails is not left behind.
func TestCacheDirsInit(t *testing.T) {
	ctx := context.Background()
	cd := cacheDirs{dir: t.TempDir()}
	boom := errors.New("boom")
	if _, err := cd.acquire(ctx, "id=x", instructions.MountSharingShared, func(string) error { return boom }, noWait); !errors.Is(err, boom) {
		t.Fatalf("acquire with failing init = %v, want boom", err)
	}
	entries, _ := os.ReadDir(cd.dir)
	for _, e := range entries {
		if e.IsDir() {
			t.Errorf("a failed instance was left: %s", e.Name())
		}
	}
}

// TestCacheDirsPrune: prune removes the caches no step holds and counts
// their bytes; a held one stays.
func TestCacheDirsPrune(t *testing.T) {
	ctx := context.Background()
	cd := cacheDirs{dir: t.TempDir()}
	held, err := cd.acquire(ctx, "id=held", instructions.MountSharingShared, mkdata, noWait)
	if err != nil {
		t.Fatal(err)
	}
	defer held.release()
	free, err := cd.acquire(ctx, "id=free", instructions.MountSharingShared, mkdata, noWait)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(free.data, "f"), make([]byte, 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	free.release()
	n, err := cd.prune()
	if err != nil || n != 1000 {
		t.Errorf("prune = %d, %v; want 1000 bytes", n, err)
	}
	if _, err := os.Stat(free.data); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a free cache survived prune: %v", err)
	}
	if _, err := os.Stat(held.data); err != nil {
		t.Errorf("a held cache was pruned: %v", err)
	}
	if n, err := (cacheDirs{dir: filepath.Join(cd.dir, "none")}).prune(); err != nil || n != 0 {
		t.Errorf("prune of no caches = %d, %v", n, err)
	}
}
