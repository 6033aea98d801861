//go:build e2e

package containerd

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestManagedDaemon starts a managed containerd in temporary directories
// (never touching the real /var/lib/berth), reuses it from a second client,
// and stops it.
func TestManagedDaemon(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run containerd")
	}
	base, err := os.MkdirTemp("/tmp", "bd")
	if err != nil {
		t.Fatal(err)
	}
	d := daemon{dataDir: filepath.Join(base, "data"), runDir: filepath.Join(base, "run"), timeout: 30 * time.Second}
	t.Cleanup(func() {
		if b, err := os.ReadFile(d.pidFile()); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				syscall.Kill(pid, syscall.SIGTERM)
				for i := 0; i < 100 && syscall.Kill(pid, 0) == nil; i++ {
					time.Sleep(50 * time.Millisecond)
				}
			}
		}
		os.RemoveAll(base)
	})
	ctx := context.Background()
	opts := []Opt{WithDirs(d.dataDir, d.runDir), WithAddress(filepath.Join(base, "none.sock"), false), WithLogDriver("/bin/true")}

	// Not the default address, not explicit: berth's own daemon is started.
	c, err := Connect(ctx, opts...)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	if !info.Managed || info.Address != d.address() || info.Version == "" {
		t.Errorf("Info = %+v, want the managed daemon at %s", info, d.address())
	}
	c.Close()
	pid1, _ := os.ReadFile(d.pidFile())

	c2, err := Connect(ctx, opts...)
	if err != nil {
		t.Fatalf("second Connect: %v", err)
	}
	c2.Close()
	if pid2, _ := os.ReadFile(d.pidFile()); string(pid1) != string(pid2) {
		t.Errorf("the second Connect started another daemon (pid %s, then %s)", pid1, pid2)
	}

	_, err = Connect(ctx, WithDirs(d.dataDir, d.runDir), WithAddress(filepath.Join(base, "none.sock"), true))
	if err == nil || !strings.Contains(err.Error(), "no containerd answers at") {
		t.Errorf("Connect to an explicit dead address = %v, want a clear error", err)
	}
}
