package containerd

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/berth/berth/scheduler"
)

// LogOptions select what Logs reads.
type LogOptions struct {
	// Follow keeps reading new lines until the context ends, across
	// restarts of the container.
	Follow bool
	// Tail is the number of lines to show from the end of each log; -1 is all.
	Tail int
	// Since and Until bound the lines' times; zero means unbounded.
	Since, Until time.Time
}

// LogEntry is one line a container wrote.
type LogEntry struct {
	Container string
	Service   string
	Number    int
	Stream    string
	Time      time.Time
	// Line is the text, with its newline when it had one.
	Line string
}

// followInterval is how often a followed log is checked for new lines.
const followInterval = 100 * time.Millisecond

// Logs reads the logs of containers and calls out for each line, never
// concurrently. Without Follow it reads the containers one after the other;
// with Follow it interleaves them as lines arrive.
func (c *Client) Logs(ctx context.Context, containers []scheduler.Container, opts LogOptions, out func(LogEntry)) error {
	var mu sync.Mutex
	emit := func(e LogEntry) {
		mu.Lock()
		defer mu.Unlock()
		out(e)
	}
	reader := func(sc scheduler.Container) *logReader { return c.logReader(sc, opts) }
	if !opts.Follow {
		for _, sc := range containers {
			if err := reader(sc).read(ctx, emit); err != nil {
				return err
			}
		}
		return nil
	}
	g, ctx := errgroup.WithContext(ctx)
	for _, sc := range containers {
		r := reader(sc)
		g.Go(func() error { return r.read(ctx, emit) })
	}
	return g.Wait()
}

func (c *Client) logReader(sc scheduler.Container, opts LogOptions) *logReader {
	path := sc.Labels.LogPath()
	if path == "" {
		path = c.logPath(sc.ID)
	}
	return &logReader{path: path, opts: opts, interval: followInterval, entry: LogEntry{
		Container: sc.Name, Service: sc.Labels.Service(), Number: sc.Labels.Number(),
	}}
}

// LogFollower follows the logs of a set of containers that changes while
// it runs (logs -f and attached up add the containers created after they
// started). Its methods may be called from any goroutine; out is never
// called concurrently.
type LogFollower struct {
	c    *Client
	ctx  context.Context
	g    *errgroup.Group
	opts LogOptions
	emit func(LogEntry)

	mu      sync.Mutex // guards readers
	readers map[string]*followedLog
}

// followedLog is one container's reader in a LogFollower.
type followedLog struct {
	flush  chan chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
}

// FollowLogs returns a follower of containers' logs by opts (Follow is
// implied), reading until ctx ends; add the containers with Add.
func (c *Client) FollowLogs(ctx context.Context, opts LogOptions, out func(LogEntry)) *LogFollower {
	opts.Follow = true
	g, ctx := errgroup.WithContext(ctx)
	var mu sync.Mutex
	return &LogFollower{c: c, ctx: ctx, g: g, opts: opts, readers: map[string]*followedLog{}, emit: func(e LogEntry) {
		mu.Lock()
		defer mu.Unlock()
		out(e)
	}}
}

// Add starts following the container's log, unless it is followed already.
func (f *LogFollower) Add(sc scheduler.Container) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.readers[sc.ID]; ok {
		return
	}
	ctx, cancel := context.WithCancel(f.ctx)
	fl := &followedLog{flush: make(chan chan struct{}), cancel: cancel, done: make(chan struct{})}
	f.readers[sc.ID] = fl
	r := f.c.logReader(sc, f.opts)
	r.flush = fl.flush
	f.g.Go(func() error {
		defer close(fl.done)
		return r.read(ctx, f.emit)
	})
}

// Flush returns once what the container's log holds now has been passed
// on: a status line printed next ("exited with code 0") then comes after
// the container's last words.
func (f *LogFollower) Flush(id string) {
	f.mu.Lock()
	fl := f.readers[id]
	f.mu.Unlock()
	if fl == nil {
		return
	}
	ack := make(chan struct{})
	select {
	case fl.flush <- ack:
	case <-fl.done:
		return
	}
	select {
	case <-ack:
	case <-fl.done:
	}
}

// Remove stops following the container's log (after what it holds now),
// so that a container created later under the same name is read afresh.
func (f *LogFollower) Remove(id string) {
	f.mu.Lock()
	fl := f.readers[id]
	delete(f.readers, id)
	f.mu.Unlock()
	if fl == nil {
		return
	}
	fl.cancel()
	<-fl.done
}

// Wait waits for the readers, which end with the follower's context (what
// the logs hold then is still passed on), and returns the first error.
func (f *LogFollower) Wait() error { return f.g.Wait() }

// logReader reads one container's JSON-lines log file.
type logReader struct {
	path     string
	opts     LogOptions
	interval time.Duration
	entry    LogEntry
	// pending is a partial line waiting for the rest of it.
	pending []byte
	// open opens the log file; nil is os.Open.
	open func(name string) (*os.File, error)
	// flush asks a following reader to read what the log holds now; it
	// closes the channel it receives once done. nil for readers nobody
	// flushes.
	flush chan chan struct{}
}

func (r *logReader) read(ctx context.Context, emit func(LogEntry)) error {
	open := r.open
	if open == nil {
		open = os.Open
	}
	f, err := open(r.path)
	for errors.Is(err, os.ErrNotExist) {
		if !r.opts.Follow {
			return nil // never started: no output yet
		}
		ack, ok := r.tick(ctx)
		if !ok {
			return nil
		}
		if ack != nil {
			close(ack) // nothing written yet
		}
		f, err = open(r.path)
	}
	if err != nil {
		return err
	}
	// closed is true while f is closed: the log was truncated or replaced
	// and opening it again failed; it is tried again at the next tick.
	closed := false
	defer func() {
		if !closed {
			f.Close()
		}
	}()

	// The lines already there, from the oldest rotated file (logging
	// max-file) on: keep the last Tail of those that pass the time filter.
	var backlog []LogEntry
	keep := func(e LogEntry) {
		backlog = append(backlog, e)
		if r.opts.Tail >= 0 && len(backlog) > r.opts.Tail {
			backlog = backlog[1:]
		}
	}
	for _, old := range rotatedLogs(r.path) {
		rf, err := open(old)
		if err != nil {
			continue // rotated away meanwhile
		}
		_, err = r.scan(bufio.NewReaderSize(rf, 64*1024), keep)
		rf.Close()
		r.pending = nil
		if err != nil {
			return err
		}
	}
	br := bufio.NewReaderSize(f, 64*1024)
	offset, err := r.scan(br, keep)
	if err != nil {
		return err
	}
	for _, e := range backlog {
		emit(e)
	}
	if !r.opts.Follow {
		return nil
	}
	for {
		ack, ok := r.tick(ctx)
		if !ok {
			break
		}
		n, err := r.follow(br, &f, &closed, offset, open, emit)
		if ack != nil {
			close(ack)
		}
		if err != nil {
			return err
		}
		offset = n
	}
	if closed {
		return nil
	}
	// Stopped following: what was written up to now is still shown.
	_, err = r.scan(br, emit)
	return err
}

// tick waits for the next look at a followed log: the interval passed
// (ack nil) or a flush asked for one (ack to close once done); ok is
// false when ctx ended.
func (r *logReader) tick(ctx context.Context) (ack chan struct{}, ok bool) {
	t := time.NewTimer(r.interval)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return nil, false
	case <-t.C:
		return nil, true
	case ack := <-r.flush:
		return ack, true
	}
}

// follow reads what was added to the log since offset, reopening it when
// it was truncated or replaced, and returns the new offset.
func (r *logReader) follow(br *bufio.Reader, f **os.File, closed *bool, offset int64, open func(string) (*os.File, error), emit func(LogEntry)) (int64, error) {
	st, err := os.Stat(r.path)
	if errors.Is(err, os.ErrNotExist) {
		return offset, nil // removed; a new one may come
	}
	if err != nil {
		return offset, err
	}
	if *closed || st.Size() < offset { // truncated or replaced: read it from the start
		if !*closed {
			(*f).Close()
			*closed = true
		}
		nf, err := open(r.path)
		if err != nil {
			return offset, nil
		}
		*f, *closed = nf, false
		br.Reset(nf)
		offset, r.pending = 0, nil
	}
	n, err := r.scan(br, emit)
	return offset + n, err
}

// scan reads lines from br, decodes them and passes those inside the time
// window to fn; it returns the bytes read. A partial last line is kept in
// r.pending until the rest of it arrives.
func (r *logReader) scan(br *bufio.Reader, fn func(LogEntry)) (int64, error) {
	var read int64
	for {
		b, err := br.ReadBytes('\n')
		read += int64(len(b))
		if errors.Is(err, io.EOF) {
			r.pending = append(r.pending, b...)
			return read, nil
		}
		if err != nil {
			return read, err
		}
		if len(r.pending) > 0 {
			b = append(r.pending, b...)
			r.pending = nil
		}
		var l logLine
		if json.Unmarshal(b, &l) != nil {
			continue // not a line berth wrote; skip it rather than fail the read
		}
		if (!r.opts.Since.IsZero() && l.Time.Before(r.opts.Since)) || (!r.opts.Until.IsZero() && l.Time.After(r.opts.Until)) {
			continue
		}
		e := r.entry
		e.Stream, e.Time, e.Line = l.Stream, l.Time, l.Log
		fn(e)
	}
}

// rotatedLogs are the rotated files of the log at path (path.1, path.2,
// ...), oldest first.
func rotatedLogs(path string) []string {
	var out []string
	for n := 1; ; n++ {
		p := path + "." + strconv.Itoa(n)
		if _, err := os.Stat(p); err != nil {
			break
		}
		out = append([]string{p}, out...)
	}
	return out
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
