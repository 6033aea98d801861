package containerd

import (
	"path/filepath"
	"sync"

	"github.com/containerd/containerd/v2/pkg/cio"
)

// fifoDir holds the FIFOs of the processes whose streams berth copies
// itself: exec processes (probes, berth exec) and one-offs attached to a
// terminal (berth run). Each process gets a directory of its own there.
func (c *Client) fifoDir() string { return filepath.Join(c.runDir, "fifo") }

// fifoSet keeps the streams a cio.Creator made for one process, so that
// their FIFOs and the directory holding them are removed whatever becomes
// of the process. containerd's client removes them only when a process's
// delete succeeds, and that fails once the process or its task is gone:
// a container stopped or killed while a probe ran in it, a start that
// failed, a cancelled context. Each such probe left a directory behind,
// and a box probing for months gathers them by the thousand.
type fifoSet struct {
	mu   sync.Mutex // guards made
	made []cio.IO
}

// track returns a creator that makes what create makes and remembers it.
func (f *fifoSet) track(create cio.Creator) cio.Creator {
	return func(id string) (cio.IO, error) {
		i, err := create(id)
		if err != nil {
			return nil, err
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.made = append(f.made, i)
		return i, nil
	}
}

// release stops the copying of the streams made and removes their FIFOs.
// It is called once the process is deleted, or could not be: output not
// copied by then is dropped. Closing streams containerd's client closed
// already is harmless.
func (f *fifoSet) release() {
	f.mu.Lock()
	made := f.made
	f.made = nil
	f.mu.Unlock()
	for _, i := range made {
		i.Cancel()
		i.Close() //nolint:errcheck // the FIFOs' directory is removed whatever the pipes say
	}
}
