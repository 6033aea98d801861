package runstate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// LockPath is the file whose lock a command changing project holds. It
// sits beside the project's directory (<run>/projects/<project>/, which
// down removes), not in it: a lock file removed while another process
// waits on it would let a third one lock a new file beside it.
func LockPath(runDir, project string) string {
	return filepath.Join(runDir, "projects", project+".lock")
}

// Lock takes the project's lock, waiting while another berth command holds
// it; waiting, when not nil, is called once if it has to wait. It returns
// ctx's error when ctx ends first. unlock releases it and may be called
// more than once. The lock is an flock: the kernel drops
// it when its holder exits, even by kill -9, so a crashed command never
// leaves the project locked.
func Lock(ctx context.Context, runDir, project string, waiting func()) (unlock func(), err error) {
	if project == "" || strings.ContainsAny(project, "/\x00") || project == "." || project == ".." {
		return nil, fmt.Errorf("lock project %q: not a project name", project)
	}
	path := LockPath(runDir, project)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("lock project %s: %w", project, err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock project %s: %w", project, err)
	}
	fd := int(f.Fd())
	// unlock may be called more than once (early, and deferred); the fd
	// must not be touched again once closed: its number may be reused.
	unlock = sync.OnceFunc(func() {
		unix.Flock(fd, unix.LOCK_UN) //nolint:errcheck // closing releases it anyway
		f.Close()
	})
	err = unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
	if err == nil {
		return unlock, nil
	}
	if err != unix.EWOULDBLOCK {
		f.Close()
		return nil, fmt.Errorf("lock project %s: %w", project, err)
	}
	if waiting != nil {
		waiting()
	}
	// flock cannot be interrupted by ctx: it waits in a goroutine of its
	// own, which releases the lock at once if ctx ended meanwhile.
	got := make(chan error, 1)
	go func() { got <- unix.Flock(fd, unix.LOCK_EX) }()
	select {
	case err := <-got:
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock project %s: %w", project, err)
		}
		return unlock, nil
	case <-ctx.Done():
		go func() {
			if <-got == nil {
				unix.Flock(fd, unix.LOCK_UN) //nolint:errcheck // closing releases it anyway
			}
			f.Close()
		}()
		return nil, ctx.Err()
	}
}
