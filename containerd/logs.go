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
	reader := func(sc scheduler.Container) *logReader {
		path := sc.Labels.LogPath()
		if path == "" {
			path = c.logPath(sc.ID)
		}
		return &logReader{path: path, opts: opts, interval: followInterval, entry: LogEntry{
			Container: sc.Name, Service: sc.Labels.Service(), Number: sc.Labels.Number(),
		}}
	}
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
		if !sleepCtx(ctx, r.interval) {
			return nil
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
	for sleepCtx(ctx, r.interval) {
		st, err := os.Stat(r.path)
		if errors.Is(err, os.ErrNotExist) {
			continue // removed; a new one may come
		}
		if err != nil {
			return err
		}
		if closed || st.Size() < offset { // truncated or replaced: read it from the start
			if !closed {
				f.Close()
				closed = true
			}
			if f, err = open(r.path); err != nil {
				continue
			}
			closed = false
			br.Reset(f)
			offset, r.pending = 0, nil
		}
		n, err := r.scan(br, emit)
		if err != nil {
			return err
		}
		offset += n
	}
	if closed {
		return nil
	}
	// Stopped following: what was written up to now is still shown.
	_, err = r.scan(br, emit)
	return err
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
