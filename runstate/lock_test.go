package runstate

import (
	"context"
	"errors"
	"os"
	"testing"
)

func TestLockSecondWaitsForFirst(t *testing.T) {
	dir := t.TempDir()
	first, err := Lock(context.Background(), dir, "web", nil)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	waited := make(chan struct{})
	calls := 0
	got := make(chan error, 1)
	go func() {
		second, err := Lock(context.Background(), dir, "web", func() { calls++; close(waited) })
		if err == nil {
			second.Unlock()
		}
		got <- err
	}()
	<-waited // the second is waiting: only then is the first released
	first.Unlock()
	if err := <-got; err != nil {
		t.Fatalf("second Lock = %v, want it once the first released", err)
	}
	if calls != 1 {
		t.Errorf("waiting called %d times, want 1", calls)
	}
}

func TestLockOtherProjectsDoNotWait(t *testing.T) {
	dir := t.TempDir()
	a, err := Lock(context.Background(), dir, "a", nil)
	if err != nil {
		t.Fatalf("Lock(a): %v", err)
	}
	defer a.Unlock()
	b, err := Lock(context.Background(), dir, "b", func() { t.Error("Lock(b) waited for a") })
	if err != nil {
		t.Fatalf("Lock(b): %v", err)
	}
	b.Unlock()
	b.Unlock() // a second call does nothing
}

func TestLockWaitEndsWithContext(t *testing.T) {
	dir := t.TempDir()
	first, err := Lock(context.Background(), dir, "web", nil)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	_, err = Lock(ctx, dir, "web", cancel) // cancelled as soon as it waits
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Lock with a cancelled wait = %v, want context.Canceled", err)
	}
	first.Unlock()
	// The abandoned wait must not keep the lock: a later command gets it.
	third, err := Lock(context.Background(), dir, "web", nil)
	if err != nil {
		t.Fatalf("Lock after an abandoned wait: %v", err)
	}
	third.Unlock()
}

func TestLockRefusesBadNames(t *testing.T) {
	for _, name := range []string{"", ".", "..", "a/b", "x\x00"} {
		if _, err := Lock(context.Background(), t.TempDir(), name, nil); err == nil {
			t.Errorf("Lock(%q) = nil error, want one", name)
		}
	}
}

// TestLockRemoved: a holder that removes the lock file (down) lets a waiter
// go on, and the waiter then holds a lock a newcomer respects: the lock of
// the file now at the path, not of the removed one.
func TestLockRemoved(t *testing.T) {
	dir := t.TempDir()
	first, err := Lock(context.Background(), dir, "web", nil)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	waited := make(chan struct{})
	got := make(chan *ProjectLock, 1)
	go func() {
		second, err := Lock(context.Background(), dir, "web", func() { close(waited) })
		if err != nil {
			t.Errorf("second Lock: %v", err)
		}
		got <- second
	}()
	<-waited
	first.Remove()
	second := <-got
	if second == nil {
		t.FailNow()
	}
	if _, err := os.Stat(LockPath(dir, "web")); err != nil {
		t.Fatalf("no lock file while the second holds the lock: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	waitedThird := false
	if _, err := Lock(ctx, dir, "web", func() { waitedThird = true; cancel() }); err == nil || !waitedThird {
		t.Errorf("a third Lock while the second holds it: err %v, waited %v; want it to wait", err, waitedThird)
	}
	second.Remove()
	if _, err := os.Stat(LockPath(dir, "web")); !os.IsNotExist(err) {
		t.Errorf("lock file after Remove: %v", err)
	}
}

// TestLockEnd: a command's end removes the lock file only when the project
// has no container left, and only once (an Unlock before it wins).
func TestLockEnd(t *testing.T) {
	tests := []struct {
		name       string
		containers int
		err        error
		unlocked   bool
		wantFile   bool
	}{
		{name: "no container left", containers: 0, wantFile: false},
		{name: "containers left", containers: 2, wantFile: true},
		{name: "containers unknown", err: errors.New("connection refused"), wantFile: true},
		{name: "unlocked before", containers: 0, unlocked: true, wantFile: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			l, err := Lock(context.Background(), dir, "web", nil)
			if err != nil {
				t.Fatalf("Lock: %v", err)
			}
			if tt.unlocked {
				l.Unlock()
			}
			asked := false
			l.End(func() (int, error) { asked = true; return tt.containers, tt.err })
			if asked == tt.unlocked {
				t.Errorf("End asked for the containers: %v, want %v", asked, !tt.unlocked)
			}
			_, err = os.Stat(LockPath(dir, "web"))
			if gotFile := err == nil; gotFile != tt.wantFile {
				t.Errorf("lock file there after End: %v (%v), want %v", gotFile, err, tt.wantFile)
			}
			// Released either way: a new Lock does not wait.
			next, err := Lock(context.Background(), dir, "web", func() { t.Error("Lock after End waited") })
			if err != nil {
				t.Fatalf("Lock after End: %v", err)
			}
			next.Unlock()
		})
	}
}
