package runstate

import (
	"context"
	"errors"
	"testing"
)

func TestLockSecondWaitsForFirst(t *testing.T) {
	dir := t.TempDir()
	unlock, err := Lock(context.Background(), dir, "web", nil)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	waited := make(chan struct{})
	calls := 0
	got := make(chan error, 1)
	go func() {
		unlock2, err := Lock(context.Background(), dir, "web", func() { calls++; close(waited) })
		if err == nil {
			unlock2()
		}
		got <- err
	}()
	<-waited // the second is waiting: only then is the first released
	unlock()
	if err := <-got; err != nil {
		t.Fatalf("second Lock = %v, want it once the first released", err)
	}
	if calls != 1 {
		t.Errorf("waiting called %d times, want 1", calls)
	}
}

func TestLockOtherProjectsDoNotWait(t *testing.T) {
	dir := t.TempDir()
	unlock, err := Lock(context.Background(), dir, "a", nil)
	if err != nil {
		t.Fatalf("Lock(a): %v", err)
	}
	defer unlock()
	unlockB, err := Lock(context.Background(), dir, "b", func() { t.Error("Lock(b) waited for a") })
	if err != nil {
		t.Fatalf("Lock(b): %v", err)
	}
	unlockB()
	unlockB() // a second call does nothing
}

func TestLockWaitEndsWithContext(t *testing.T) {
	dir := t.TempDir()
	unlock, err := Lock(context.Background(), dir, "web", nil)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	_, err = Lock(ctx, dir, "web", cancel) // cancelled as soon as it waits
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Lock with a cancelled wait = %v, want context.Canceled", err)
	}
	unlock()
	// The abandoned wait must not keep the lock: a later command gets it.
	unlock3, err := Lock(context.Background(), dir, "web", nil)
	if err != nil {
		t.Fatalf("Lock after an abandoned wait: %v", err)
	}
	unlock3()
}

func TestLockRefusesBadNames(t *testing.T) {
	for _, name := range []string{"", ".", "..", "a/b", "x\x00"} {
		if _, err := Lock(context.Background(), t.TempDir(), name, nil); err == nil {
			t.Errorf("Lock(%q) = nil error, want one", name)
		}
	}
}
