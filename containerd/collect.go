package containerd

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth/berth/compose"
)

// LogCollector is the log collector of a project, run by its long-lived
// process: it reads the output FIFOs of the project's
// containers' tasks (see TaskIODir) and appends their lines to the
// containers' log files, as berth's log driver did with a process per
// container. It reads the tasks there already when it starts, so that a
// restart of the process loses no line (their output waited in the
// pipes), and each new task a start hands over to it (handOver).
//
// When ctx ends it stops reading, after writing what it has read: the
// rest waits in the pipes for the next collector. A process killed
// outright loses what it had read and not yet written (one read per
// stream, at most collectBuffer).
//
// A tty container's terminal input needs no holder between attaches (the
// log driver held it): the shim opens the input FIFO for writing too, for
// the task's life, so its reader never sees the input end.
type LogCollector struct {
	c   *collector
	req *os.File
}

// NewLogCollector makes the project's collector, which takes the tasks
// handed over to it from now on (they wait until Run reads them).
func NewLogCollector(root, project string, logger *log.Logger) (*LogCollector, error) {
	c := &collector{root: root, project: project, log: logger, tasks: map[string]*collected{}, writers: map[string]*sharedWriter{}}
	req, err := c.openRequests()
	if err != nil {
		return nil, err
	}
	return &LogCollector{c: c, req: req}, nil
}

// Run reads the tasks until ctx ends, and returns once what was read is
// written.
func (l *LogCollector) Run(ctx context.Context) {
	l.c.run(ctx, l.req)
}

// collectBuffer is how much of a stream the collector reads at a time: a
// buffer per stream of every container of the project.
const collectBuffer = 8 * 1024

// collector reads the tasks of one project.
type collector struct {
	root, project string
	log           *log.Logger
	wg            sync.WaitGroup

	mu sync.Mutex // guards following
	// tasks are the tasks read, by container ID.
	tasks map[string]*collected
	// writers are the containers' log files, shared by the tasks of a
	// container (the last one's end may overlap the next one's start).
	writers map[string]*sharedWriter
	// ended, when set, is told of each task whose reading ended (tests).
	ended func(id string)
}

// collected is one task being read: its stdout FIFO's inode tells it
// from the container's next task.
type collected struct {
	ino    uint64
	files  []*os.File
	writer *sharedWriter
	closed bool
}

type sharedWriter struct {
	w    *lineWriter // nil: logging driver none
	refs int
}

// current reports whether w writes the log meta names: not a file
// removed since (the container removed and made again by its name).
func (w *sharedWriter) current(meta taskMeta) bool {
	if w.w == nil || meta.Logging.Driver == compose.LogNone {
		return w.w == nil && meta.Logging.Driver == compose.LogNone
	}
	w.w.mu.Lock()
	defer w.w.mu.Unlock()
	open, err := w.w.f.Stat()
	if err != nil || w.w.path != meta.Log {
		return false
	}
	st, err := os.Stat(meta.Log)
	return err == nil && os.SameFile(open, st)
}

func (c *collector) run(ctx context.Context, req *os.File) {
	stop := context.AfterFunc(ctx, func() {
		req.Close()
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, t := range c.tasks {
			t.close()
		}
	})
	defer stop()
	// Requests that come meanwhile wait in the FIFO.
	entries, _ := os.ReadDir(filepath.Join(c.root, "containers"))
	for _, e := range entries {
		if err := c.collect(ctx, e.Name()); err != nil {
			c.log.Printf("collect the output of %s: %v", e.Name(), err)
		}
	}
	br := bufio.NewReader(req)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			break // closed: ctx ended
		}
		id := strings.TrimSpace(line)
		if id == "" || strings.ContainsAny(id, "/\x00") || id == "." || id == ".." {
			continue
		}
		if err := c.collect(ctx, id); err != nil {
			c.log.Printf("collect the output of %s: %v", id, err)
		}
		c.ack(id)
	}
	c.wg.Wait()
	// A start finds no collector from now on, and does not wait for one.
	os.Remove(requestPath(c.root, c.project)) //nolint:errcheck // a collector killed leaves it too; the next one takes it
}

// openRequests makes the project's request FIFO and opens it for reading
// and writing: it never reads an end, and a start finds a reader at once.
func (c *collector) openRequests() (*os.File, error) {
	path := requestPath(c.root, c.project)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("log collector: %w", err)
	}
	if err := unix.Mkfifo(path, 0o600); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("log collector: make %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("log collector: %w", err)
	}
	return f, nil
}

// ack tells a start waiting in handOver that the task is read.
func (c *collector) ack(id string) {
	f, err := os.OpenFile(filepath.Join(c.root, "containers", id, "ack"), os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return // nobody waits (any more)
	}
	f.Write([]byte{1}) //nolint:errcheck // the waiter gave up meanwhile
	f.Close()
}

// collect starts reading the container's current task, unless it is the
// project's no longer or is read already. A task that ended leaves FIFOs
// nobody writes to: reading them ends at once.
func (c *collector) collect(ctx context.Context, id string) error {
	dir := filepath.Join(c.root, "containers", id)
	b, err := os.ReadFile(filepath.Join(dir, "task.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil // removed meanwhile
	}
	if err != nil {
		return err
	}
	var meta taskMeta
	if err := json.Unmarshal(b, &meta); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(dir, "task.json"), err)
	}
	if meta.Project != c.project {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, "created")); err != nil {
		return nil // not made yet: it is handed over once it is
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(dir, "stdout"), &st); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ctx.Err() != nil {
		return nil
	}
	if t := c.tasks[id]; t != nil && t.ino == st.Ino {
		return nil
	}
	t := &collected{ino: st.Ino}
	streams := []string{"stdout", "stderr"}
	if meta.Terminal {
		streams = streams[:1]
	}
	for _, s := range streams {
		f, err := os.OpenFile(filepath.Join(dir, s), os.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			t.close()
			return err
		}
		if rc, err := f.SyscallConn(); err == nil {
			rc.Control(func(fd uintptr) { unix.FcntlInt(fd, unix.F_SETPIPE_SZ, pipeBuffer) }) //nolint:errcheck // best effort
		}
		t.files = append(t.files, f)
	}
	w, err := c.writer(id, meta)
	if err != nil {
		t.close()
		return err
	}
	t.writer = w
	c.tasks[id] = t
	var streamsWG sync.WaitGroup
	for i, f := range t.files {
		streamsWG.Add(1)
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			defer streamsWG.Done()
			if w.w == nil {
				io.Copy(io.Discard, f) //nolint:errcheck // logging driver none keeps nothing
				return
			}
			w.w.copyBuffered(f, streams[i], collectBuffer)
		}()
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		streamsWG.Wait()
		c.done(id, t)
	}()
	return nil
}

// writer is the container's log file, opened for its first task read.
func (c *collector) writer(id string, meta taskMeta) (*sharedWriter, error) {
	if w := c.writers[id]; w != nil && w.current(meta) {
		w.refs++
		return w, nil
	}
	w := &sharedWriter{refs: 1}
	if meta.Logging.Driver != compose.LogNone {
		lw := &lineWriter{path: meta.Log, maxSize: meta.Logging.MaxSize, maxFile: max(meta.Logging.MaxFile, 1), now: time.Now}
		if err := os.MkdirAll(filepath.Dir(meta.Log), 0o755); err != nil {
			return nil, err
		}
		if err := lw.open(); err != nil {
			return nil, err
		}
		w.w = lw
	}
	c.writers[id] = w
	return w, nil
}

// done forgets a task whose output ended (or that is no longer read), and
// closes the container's log once no task of it is read.
func (c *collector) done(id string, t *collected) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended != nil {
		defer c.ended(id)
	}
	t.close()
	if c.tasks[id] == t {
		delete(c.tasks, id)
	}
	w := t.writer
	if w.refs--; w.refs == 0 {
		if w.w != nil {
			w.w.flush() //nolint:errcheck // each line was flushed as written
			w.w.close()
		}
		if c.writers[id] == w {
			delete(c.writers, id)
		}
	}
}

// close closes the task's FIFOs, which ends their reading: what was read
// is written first, what was not stays in the pipe. c.mu is held.
func (t *collected) close() {
	if t.closed {
		return
	}
	t.closed = true
	for _, f := range t.files {
		f.Close()
	}
}
