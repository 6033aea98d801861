package watch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/fsnotify/fsnotify"
)

// Notifier follows host paths with inotify (fsnotify): a directory with
// everything under it, directories made later included (and what is
// already in them when they are seen), a file through its directory.
// It is a Source.
type Notifier struct {
	w      *fsnotify.Watcher
	events chan string
	errs   chan error
	skip   func(dir string) bool
	files  map[string]bool // roots that are files: only they are reported from their directory
	dirs   map[string]bool // recursive roots
	done   chan struct{}
	stop   chan struct{} // closed by Close: stop sending
}

// Notify starts following roots; skip (may be nil) tells directories not
// worth following (every rule ignores them). Close stops it.
func Notify(roots []string, skip func(dir string) bool) (_ *Notifier, retErr error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch: start inotify: %w", err)
	}
	defer func() {
		if retErr != nil {
			fw.Close()
		}
	}()
	if skip == nil {
		skip = func(string) bool { return false }
	}
	n := &Notifier{w: fw, events: make(chan string, 256), errs: make(chan error, 16), skip: skip,
		files: map[string]bool{}, dirs: map[string]bool{}, done: make(chan struct{}), stop: make(chan struct{})}
	for _, root := range roots {
		st, err := os.Stat(root)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			// A path to come: follow its directory for it.
			if err := fw.Add(filepath.Dir(root)); err != nil {
				return nil, fmt.Errorf("watch %s: it does not exist, nor does its directory: %w", root, err)
			}
			n.files[root] = true
		case err != nil:
			return nil, fmt.Errorf("watch %s: %w", root, err)
		case st.IsDir():
			n.dirs[root] = true
			if err := n.addTree(root, nil); err != nil {
				return nil, err
			}
		default:
			if err := fw.Add(filepath.Dir(root)); err != nil {
				return nil, fmt.Errorf("watch %s: %w", root, err)
			}
			n.files[root] = true
		}
	}
	go n.loop()
	return n, nil
}

// addTree follows dir and the directories under it; found, when not nil,
// is told of every path under dir (a directory just made may already
// hold files that no event will tell of).
func (n *Notifier) addTree(dir string, found func(string)) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // gone meanwhile
			}
			return err
		}
		if p != dir && found != nil {
			found(p)
		}
		if !d.IsDir() {
			return nil
		}
		if p != dir && n.skip(p) {
			return filepath.SkipDir
		}
		if err := n.w.Add(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("watch %s: %w", p, err)
		}
		return nil
	})
}

// wanted reports whether p is a followed path: under a directory root,
// or a file root itself.
func (n *Notifier) wanted(p string) bool {
	if n.files[p] || n.dirs[p] {
		return true
	}
	for d := filepath.Dir(p); ; d = filepath.Dir(d) {
		if n.dirs[d] {
			return true
		}
		if d == filepath.Dir(d) {
			return false
		}
	}
}

func (n *Notifier) loop() {
	defer close(n.done)
	send := func(p string) {
		if n.wanted(p) {
			select {
			case n.events <- p:
			case <-n.stop:
			}
		}
	}
	for {
		select {
		case ev, ok := <-n.w.Events:
			if !ok {
				close(n.events)
				return
			}
			if ev.Op == fsnotify.Chmod {
				continue // a change of mode alone (or of times) is not synced
			}
			send(ev.Name)
			if ev.Has(fsnotify.Create) && n.wanted(ev.Name) {
				if st, err := os.Lstat(ev.Name); err == nil && st.IsDir() && !n.skip(ev.Name) {
					if err := n.addTree(ev.Name, send); err != nil {
						n.sendErr(err)
					}
				}
			}
			// A removed directory's watch goes with it (inotify drops it);
			// one renamed away is dropped here.
			if ev.Has(fsnotify.Rename) {
				_ = n.w.Remove(ev.Name)
			}
		case err, ok := <-n.w.Errors:
			if !ok {
				close(n.events)
				return
			}
			n.sendErr(err)
		}
	}
}

func (n *Notifier) sendErr(err error) {
	select {
	case n.errs <- err:
	default: // the reader is behind: the error is dropped, not the events
	}
}

// Events are the paths changed, made or removed.
func (n *Notifier) Events() <-chan string { return n.events }

// Errors are inotify's errors (a full queue, a directory that could not be followed).
func (n *Notifier) Errors() <-chan error { return n.errs }

// Close stops following.
func (n *Notifier) Close() error {
	close(n.stop)
	err := n.w.Close()
	<-n.done
	return err
}
