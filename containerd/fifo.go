package containerd

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/pkg/cio"
	"golang.org/x/sys/unix"
)

// fifoDir holds the FIFOs of a container's processes whose streams berth
// copies itself: exec processes (probes, berth exec) and one-offs attached
// to berth (berth run). Each process gets a directory of its own in it,
// so that what is left of a container's processes can be told (and is
// removed with the container) even when the process that made them was
// killed. A container of the same name in another namespace has another
// directory (see namespaceDir).
func (c *Client) fifoDir(containerID string) string {
	return filepath.Join(c.namespaceDir(c.runDir, "fifo"), containerID)
}

// fifoSet makes the streams of a container's processes and keeps them,
// so that their FIFOs and the directories holding them are removed
// whatever becomes of the processes. containerd's client removes them
// only when a process's delete succeeds, and that fails once the process
// or its task is gone: a container stopped or killed while a probe ran in
// it, a start that failed, a cancelled context. Each such probe left a
// directory behind, and a box probing for months gathers them by the
// thousand.
type fifoSet struct {
	// dir is the container's directory of FIFOs.
	dir string

	mu   sync.Mutex // guards made
	made []cio.IO
}

// creator returns a creator of streams, as cio.NewCreator's, in a
// directory of their own under f.dir, which it remembers.
func (f *fifoSet) creator(opts ...cio.Opt) cio.Creator {
	var streams cio.Streams
	for _, o := range opts {
		o(&streams)
	}
	return func(id string) (cio.IO, error) {
		fifos, err := newFIFOSet(f.dir, id, streams.Terminal)
		if err != nil {
			return nil, err
		}
		i, err := cio.NewAttach(opts...)(fifos)
		if err != nil {
			fifos.Close() //nolint:errcheck // the error that matters is err
			return nil, err
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.made = append(f.made, i)
		return i, nil
	}
}

// newFIFOSet makes a directory under dir for the FIFOs of process id.
// Another process's release or the container's removal may remove dir
// between its making and the directory's: it is made again then.
func newFIFOSet(dir, id string, terminal bool) (*cio.FIFOSet, error) {
	for attempt := 1; ; attempt++ {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		own, err := os.MkdirTemp(dir, "")
		if errors.Is(err, fs.ErrNotExist) && attempt < 3 {
			continue
		}
		if err != nil {
			return nil, err
		}
		return cio.NewFIFOSet(cio.Config{
			Stdin:    filepath.Join(own, id+"-stdin"),
			Stdout:   filepath.Join(own, id+"-stdout"),
			Stderr:   filepath.Join(own, id+"-stderr"),
			Terminal: terminal,
		}, func() error { return os.RemoveAll(own) }), nil
	}
}

// release stops the copying of the streams made and removes their FIFOs,
// and the container's directory when no other process uses it. It is
// called once the process is deleted, or could not be: output not copied
// by then is dropped. Closing streams containerd's client closed already
// is harmless.
func (f *fifoSet) release() {
	f.mu.Lock()
	made := f.made
	f.made = nil
	f.mu.Unlock()
	for _, i := range made {
		i.Cancel()
		i.Close() //nolint:errcheck // the FIFOs' directory is removed whatever the pipes say
	}
	os.Remove(f.dir) //nolint:errcheck // not empty: another process of the container uses it
}

// probeIDPrefix begins the exec IDs of probes, and so the names of their
// FIFOs.
const probeIDPrefix = "health-"

// staleProbeHold is how long removeStaleProbeFIFOs keeps the FIFOs of a
// killed process's probe open before it removes them: the shim, blocked
// opening them for writing, goes on within microseconds once they have a
// reader.
const staleProbeHold = 5 * time.Second

// removeStaleProbeFIFOs removes the directories in a container's FIFO
// directory that hold a probe's FIFOs and nothing else: those a project
// process killed while it probed left behind. Only the project's process
// probes its containers, one probe at a time, and it calls this before its
// first probe of the container: none of them is in use. An empty
// directory may be an exec's being made, and stays.
//
// The shim of a probe started as its prober was killed waits to open
// the FIFOs for writing until a reader opens them, forever; and while
// that exec is pending, the shim does not report the container's exit,
// so no stop of the container ends. Each FIFO is therefore opened for
// reading first and kept open for hold (read from by no one: the probe's
// output is dropped), and only then closed and removed; hold 0 does it at
// once.
func removeStaleProbeFIFOs(dir string, hold time.Duration) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		own := filepath.Join(dir, e.Name())
		files, err := os.ReadDir(own)
		if err != nil || len(files) == 0 {
			continue
		}
		stale := true
		for _, f := range files {
			stale = stale && strings.HasPrefix(f.Name(), probeIDPrefix)
		}
		if !stale {
			continue
		}
		var readers []int
		for _, f := range files {
			// Non-blocking: it returns at once, and wakes a writer
			// waiting in open.
			if fd, err := unix.Open(filepath.Join(own, f.Name()), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0); err == nil {
				readers = append(readers, fd)
			}
		}
		remove := func() {
			for _, fd := range readers {
				unix.Close(fd) //nolint:errcheck // read-only
			}
			os.RemoveAll(own) //nolint:errcheck // best effort: the container's removal takes what is left
		}
		if hold == 0 {
			remove()
		} else {
			time.AfterFunc(hold, remove)
		}
	}
}
