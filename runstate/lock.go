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
// down removes with the DNS daemon's files), not in it.
func LockPath(runDir, project string) string {
	return filepath.Join(runDir, "projects", project+".lock")
}

// ProjectLock is a held project lock.
type ProjectLock struct {
	f    *os.File
	path string
	once sync.Once
}

// Unlock releases the lock. It may be called more than once (early, and
// deferred).
func (l *ProjectLock) Unlock() {
	l.once.Do(func() { l.f.Close() }) // closing the only fd releases the flock
}

// Remove removes the lock file, then releases the lock: what down does
// once the project is gone, so that a box running many short-lived
// projects does not collect their lock files. A command waiting on the
// removed file notices and locks a new one (see Lock).
func (l *ProjectLock) Remove() {
	l.once.Do(func() {
		os.Remove(l.path)
		l.f.Close()
	})
}

// End releases the lock at the end of the command that held it. When
// the project has no container left (containers, asked under the lock,
// counts them), the lock file goes too, as with Remove: a failed up that
// made nothing leaves no lock file. When containers fails the file stays:
// a lock file left is harmless, one removed while the project has
// containers only costs the next command its creation.
//
// Once the lock is released (Unlock, Remove) End does nothing, and does
// not call containers.
func (l *ProjectLock) End(containers func() (int, error)) {
	l.once.Do(func() {
		if n, err := containers(); err == nil && n == 0 {
			os.Remove(l.path)
		}
		l.f.Close()
	})
}

// Lock takes the project's lock, waiting while another berth command holds
// it; waiting, when not nil, is called once if it has to wait. It returns
// ctx's error when ctx ends first. The lock is an flock: the kernel drops
// it when its holder exits, even by kill -9, so a crashed command never
// leaves the project locked.
func Lock(ctx context.Context, runDir, project string, waiting func()) (*ProjectLock, error) {
	if project == "" || strings.ContainsAny(project, "/\x00") || project == "." || project == ".." {
		return nil, fmt.Errorf("lock project %q: not a project name", project)
	}
	path := LockPath(runDir, project)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("lock project %s: %w", project, err)
	}
	for {
		f, err := lockFile(ctx, path, &waiting)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("lock project %s: %w", project, err)
		}
		// The holder before may have removed the file (Remove) while this
		// one waited on it: a lock on a file no longer at path locks
		// nothing. Lock the one there now.
		if same, err := isFileAt(f, path); err != nil || !same {
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("lock project %s: %w", project, err)
			}
			continue
		}
		return &ProjectLock{f: f, path: path}, nil
	}
}

// lockFile opens path and locks it, waiting as Lock says; it calls
// *waiting at most once over all calls (and clears it).
func lockFile(ctx context.Context, path string, waiting *func()) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	fd := int(f.Fd())
	err = unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
	if err == nil {
		return f, nil
	}
	if err != unix.EWOULDBLOCK {
		f.Close()
		return nil, err
	}
	if *waiting != nil {
		(*waiting)()
		*waiting = nil
	}
	// flock cannot be interrupted by ctx: it waits in a goroutine of its
	// own, which lets the lock go at once if ctx ended meanwhile.
	got := make(chan error, 1)
	go func() { got <- unix.Flock(fd, unix.LOCK_EX) }()
	select {
	case err := <-got:
		if err != nil {
			f.Close()
			return nil, err
		}
		return f, nil
	case <-ctx.Done():
		go func() {
			<-got
			f.Close()
		}()
		return nil, ctx.Err()
	}
}

// isFileAt reports whether f is the file at path now.
func isFileAt(f *os.File, path string) (bool, error) {
	held, err := f.Stat()
	if err != nil {
		return false, err
	}
	now, err := os.Stat(path)
	if os.IsNotExist(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(held, now), nil
}
