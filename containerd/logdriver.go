package containerd

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/core/runtime/v2/logging"

	"github.com/berth/berth/compose"
)

// logLine is one line of a container log file, in Docker's json-file format.
type logLine struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

// logDriverArg is the argument of `berth __logdriver`: the log's path,
// followed by the service's logging options as a query when it has any
// (the shim passes a log driver its arguments in no fixed order, so they
// travel as one).
func logDriverArg(path string, l compose.Logging, stdin string) string {
	q := url.Values{}
	if stdin != "" {
		q.Set("stdin", stdin)
	}
	if l.Driver == compose.LogNone {
		q.Set("driver", string(compose.LogNone))
	}
	if l.MaxSize > 0 {
		q.Set("max-size", strconv.FormatInt(l.MaxSize, 10))
		q.Set("max-file", strconv.Itoa(max(l.MaxFile, 1)))
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// parseLogDriverArg undoes logDriverArg.
func parseLogDriverArg(arg string) (string, compose.Logging, string) {
	l := compose.Logging{Driver: compose.LogJSONFile, MaxFile: 1}
	i := strings.LastIndex(arg, "?")
	if i < 0 {
		return arg, l, ""
	}
	q, err := url.ParseQuery(arg[i+1:])
	if err != nil {
		return arg, l, ""
	}
	if q.Get("driver") == string(compose.LogNone) {
		l.Driver = compose.LogNone
	}
	l.MaxSize, _ = strconv.ParseInt(q.Get("max-size"), 10, 64)
	if n, err := strconv.Atoi(q.Get("max-file")); err == nil && n > 0 {
		l.MaxFile = n
	}
	return arg[:i], l, q.Get("stdin")
}

// RunLogDriver is the log driver containerd's shim runs for each task (as
// `berth __logdriver PATH[?OPTIONS]`): it appends the task's stdout and
// stderr to PATH as JSON lines, rotating it at max-size into PATH.1 ...
// (max-file files in all), and returns when both streams end. With the
// none driver it keeps nothing.
func RunLogDriver(arg string) {
	path, opts, stdin := parseLogDriverArg(arg)
	logging.Run(func(_ context.Context, cfg *logging.Config, ready func() error) error {
		if stdin != "" {
			// A writer of the terminal's input for as long as the task
			// runs: the shim reads its end only when every writer is
			// gone, and then closes the terminal. O_RDWR does not wait
			// for the shim's reader.
			if f, err := os.OpenFile(stdin, os.O_RDWR, 0); err == nil {
				defer f.Close()
			}
		}
		if opts.Driver == compose.LogNone {
			if err := ready(); err != nil {
				return err
			}
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { defer wg.Done(); io.Copy(io.Discard, cfg.Stdout) }() //nolint:errcheck // nothing is kept
			go func() { defer wg.Done(); io.Copy(io.Discard, cfg.Stderr) }() //nolint:errcheck
			wg.Wait()
			return nil
		}
		w := &lineWriter{path: path, maxSize: opts.MaxSize, maxFile: opts.MaxFile, now: time.Now}
		if err := w.open(); err != nil {
			return err
		}
		defer w.close()
		if err := ready(); err != nil {
			return err
		}
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); w.copy(cfg.Stdout, "stdout") }()
		go func() { defer wg.Done(); w.copy(cfg.Stderr, "stderr") }()
		wg.Wait()
		return w.flush()
	})
}

// lineWriter encodes lines from several streams into one log, rotated at
// maxSize bytes (0: never) into path.1 ... path.(maxFile-1).
type lineWriter struct {
	path    string
	maxSize int64
	maxFile int
	mu      sync.Mutex // guards following
	f       *os.File
	w       *bufio.Writer
	size    int64
	now     func() time.Time
}

// open opens the log for appending.
func (l *lineWriter) open() error {
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("open log %s: %w", l.path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open log %s: %w", l.path, err)
	}
	l.f, l.w, l.size = f, bufio.NewWriter(f), st.Size()
	return nil
}

func (l *lineWriter) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		l.f.Close()
	}
}

// rotate moves path to path.1 (and path.1 to path.2, ...), dropping the
// oldest, and starts an empty path; with one file it empties path.
// l.mu is held.
func (l *lineWriter) rotate() error {
	l.w.Flush() //nolint:errcheck // what could not be written is lost with the old file
	l.f.Close()
	if l.maxFile <= 1 {
		if err := os.Truncate(l.path, 0); err != nil {
			return err
		}
	} else {
		for i := l.maxFile - 1; i > 0; i-- {
			from := l.path
			if i > 1 {
				from = l.path + "." + strconv.Itoa(i-1)
			}
			if err := os.Rename(from, l.path+"."+strconv.Itoa(i)); err != nil && !os.IsNotExist(err) {
				return err
			}
		}
	}
	return l.open()
}

// copy reads r line by line until it ends; each line is flushed at once so
// that `logs -f` sees it.
func (l *lineWriter) copy(r io.Reader, stream string) {
	l.copyBuffered(r, stream, 64*1024)
}

// copyBuffered is copy reading r size bytes at a time at most (a longer
// line is still one line): the collector, reading every container of a
// project, keeps its buffers small.
func (l *lineWriter) copyBuffered(r io.Reader, stream string, size int) {
	br := bufio.NewReaderSize(r, size)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			l.write(logLine{Log: line, Stream: stream, Time: l.now().UTC()})
		}
		if err != nil {
			return
		}
	}
}

func (l *lineWriter) write(line logLine) {
	b, err := json.Marshal(line)
	if err != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.maxSize > 0 && l.size > 0 && l.size+int64(len(b))+1 > l.maxSize {
		if err := l.rotate(); err != nil {
			return // the file is gone or closed: lines are dropped rather than the container blocked
		}
	}
	l.w.Write(b)        //nolint:errcheck // a full disk must not block the container; Flush reports
	l.w.WriteByte('\n') //nolint:errcheck
	l.w.Flush()         //nolint:errcheck
	l.size += int64(len(b)) + 1
}

func (l *lineWriter) flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Flush()
}
