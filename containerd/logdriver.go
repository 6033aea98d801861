package containerd

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/core/runtime/v2/logging"
)

// logLine is one line of a container log file, in Docker's json-file format.
type logLine struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

// RunLogDriver is the log driver containerd's shim runs for each task (as
// `berth __logdriver PATH`): it appends the task's stdout and stderr to
// PATH as JSON lines and returns when both streams end.
func RunLogDriver(path string) {
	logging.Run(func(_ context.Context, cfg *logging.Config, ready func() error) error {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
		if err != nil {
			return fmt.Errorf("open log %s: %w", path, err)
		}
		defer f.Close()
		if err := ready(); err != nil {
			return err
		}
		w := &lineWriter{w: bufio.NewWriter(f), now: time.Now}
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); w.copy(cfg.Stdout, "stdout") }()
		go func() { defer wg.Done(); w.copy(cfg.Stderr, "stderr") }()
		wg.Wait()
		return w.flush()
	})
}

// lineWriter encodes lines from several streams into one log.
type lineWriter struct {
	mu  sync.Mutex // guards w
	w   *bufio.Writer
	now func() time.Time
}

// copy reads r line by line until it ends; each line is flushed at once so
// that `logs -f` sees it.
func (l *lineWriter) copy(r io.Reader, stream string) {
	br := bufio.NewReaderSize(r, 64*1024)
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
	l.w.Write(b)        //nolint:errcheck // a full disk must not block the container; Flush reports
	l.w.WriteByte('\n') //nolint:errcheck
	l.w.Flush()         //nolint:errcheck
}

func (l *lineWriter) flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Flush()
}
