package containerd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/scheduler"
)

func writeLines(t *testing.T, path string, lines ...logLine) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, l := range lines {
		b, _ := json.Marshal(l)
		f.Write(append(b, '\n'))
	}
}

func at(sec int) time.Time { return time.Date(2026, 1, 1, 0, 0, sec, 0, time.UTC) }

func readAll(t *testing.T, path string, opts LogOptions) string {
	t.Helper()
	r := &logReader{path: path, opts: opts, interval: time.Millisecond}
	var got []string
	if err := r.read(context.Background(), func(e LogEntry) { got = append(got, e.Stream+":"+strings.TrimSuffix(e.Line, "\n")) }); err != nil {
		t.Fatal(err)
	}
	return strings.Join(got, ",")
}

func TestLogReaderTailAndTime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.log")
	writeLines(t, path,
		logLine{"one\n", "stdout", at(1)}, logLine{"two\n", "stderr", at(2)},
		logLine{"three\n", "stdout", at(3)}, logLine{"four", "stdout", at(4)})
	os.WriteFile(path+".junk", nil, 0o644)
	tests := []struct {
		name string
		opts LogOptions
		want string
	}{
		{"all", LogOptions{Tail: -1}, "stdout:one,stderr:two,stdout:three,stdout:four"},
		{"tail 2", LogOptions{Tail: 2}, "stdout:three,stdout:four"},
		{"tail 0", LogOptions{Tail: 0}, ""},
		{"since", LogOptions{Tail: -1, Since: at(3)}, "stdout:three,stdout:four"},
		{"until", LogOptions{Tail: -1, Until: at(2)}, "stdout:one,stderr:two"},
	}
	for _, tt := range tests {
		if got := readAll(t, path, tt.opts); got != tt.want {
			t.Errorf("%s: read = %q, want %q", tt.name, got, tt.want)
		}
	}
	if got := readAll(t, filepath.Join(t.TempDir(), "missing.log"), LogOptions{Tail: -1}); got != "" {
		t.Errorf("missing log read = %q, want nothing", got)
	}
}

func TestLogReaderFollow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.log")
	writeLines(t, path, logLine{"old\n", "stdout", at(1)})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lines := make(chan string, 10)
	r := &logReader{path: path, opts: LogOptions{Follow: true, Tail: -1}, interval: time.Millisecond}
	done := make(chan error, 1)
	go func() { done <- r.read(ctx, func(e LogEntry) { lines <- e.Line }) }()

	expect := func(want string) {
		t.Helper()
		select {
		case got := <-lines:
			if got != want {
				t.Fatalf("followed line = %q, want %q", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no line %q within 5s", want)
		}
	}
	expect("old\n")
	writeLines(t, path, logLine{"appended\n", "stdout", at(2)})
	expect("appended\n")
	// A truncated (replaced) log is read again from its start.
	os.Truncate(path, 0)
	writeLines(t, path, logLine{"new\n", "stdout", at(3)})
	expect("new\n")
	cancel()
	if err := <-done; err != nil {
		t.Errorf("read after cancel = %v", err)
	}
}

func TestLogReaderPartialLine(t *testing.T) {
	b, _ := json.Marshal(logLine{"split\n", "stdout", at(2)})
	r := &logReader{opts: LogOptions{Tail: -1}}
	var got []string
	emit := func(e LogEntry) { got = append(got, e.Line) }
	n1, err := r.scan(bufio.NewReader(bytes.NewReader(b[:5])), emit)
	if err != nil || len(got) != 0 || n1 != 5 {
		t.Fatalf("scan(first half) = %d, %v, lines %q; want 5 bytes read and no line", n1, err, got)
	}
	n2, err := r.scan(bufio.NewReader(bytes.NewReader(append(b[5:], '\n'))), emit)
	if err != nil || len(got) != 1 || got[0] != "split\n" || int(n1+n2) != len(b)+1 {
		t.Fatalf("scan(second half) = %d, %v, lines %q; want the whole line once", n2, err, got)
	}
}

func TestLineWriter(t *testing.T) {
	var buf bytes.Buffer
	w := &lineWriter{w: bufio.NewWriter(&buf), now: func() time.Time { return at(7) }}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); w.copy(strings.NewReader("a\nb"), "stdout") }()
	go func() { defer wg.Done(); w.copy(strings.NewReader("err\n"), "stderr") }()
	wg.Wait()
	w.flush()
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var l logLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if !l.Time.Equal(at(7)) {
			t.Errorf("time = %v", l.Time)
		}
		got = append(got, l.Stream+":"+l.Log)
	}
	joined := strings.Join(got, "|")
	for _, want := range []string{"stdout:a\n", "stdout:b", "stderr:err\n"} {
		if !strings.Contains(joined, want) {
			t.Errorf("log %q lacks %q", joined, want)
		}
	}
}

// TestLogReaderFollowReopenFails: a log truncated while followed whose
// reopening fails is tried again at the next tick, and a stop meanwhile is
// a normal end, not a read of the closed file.
func TestLogReaderFollowReopenFails(t *testing.T) {
	tests := []struct {
		name      string
		failsOnce bool // the reopening fails once, then works
		want      []string
	}{
		{name: "stopped while it cannot be reopened", want: []string{"old\n"}},
		{name: "reopened at the next tick", failsOnce: true, want: []string{"old\n", "new\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.log")
			writeLines(t, path, logLine{"old\n", "stdout", at(1)})
			failed := make(chan struct{})
			var opens int
			open := func(name string) (*os.File, error) {
				opens++ // only read's goroutine calls it
				if opens == 1 || tt.failsOnce && opens > 2 {
					return os.Open(name)
				}
				if opens == 2 {
					close(failed)
				}
				return nil, os.ErrPermission
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			lines := make(chan string, 10)
			r := &logReader{path: path, opts: LogOptions{Follow: true, Tail: -1}, interval: time.Millisecond, open: open}
			done := make(chan error, 1)
			go func() { done <- r.read(ctx, func(e LogEntry) { lines <- e.Line }) }()

			if got := <-lines; got != "old\n" {
				t.Fatalf("first line = %q, want %q", got, "old\n")
			}
			os.Truncate(path, 0)
			<-failed
			writeLines(t, path, logLine{"new\n", "stdout", at(2)})
			got := []string{"old\n"}
			if tt.failsOnce {
				got = append(got, <-lines)
			}
			cancel()
			if err := <-done; err != nil {
				t.Errorf("read after cancel = %v, want nil", err)
			}
			close(lines)
			for l := range lines {
				got = append(got, l)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("lines %q, want %q", got, tt.want)
			}
		})
	}
}

// TestLogFollowerFlush: a flush passes on what the log holds at once (so a
// status line printed next comes after it), a container added twice is
// read once, and a removed one is read no more.
func TestLogFollowerFlush(t *testing.T) {
	dir := t.TempDir()
	sc := func(name string) scheduler.Container {
		return scheduler.Container{ID: name, Name: name, Labels: compose.Labels{compose.LabelLogPath: filepath.Join(dir, name+".log")}}
	}
	web, db := sc("web"), sc("db")
	writeLines(t, filepath.Join(dir, "web.log"), logLine{"old\n", "stdout", at(1)})

	var mu sync.Mutex
	var got []string
	seen := func() string {
		mu.Lock()
		defer mu.Unlock()
		return strings.Join(got, ",")
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := (&Client{}).FollowLogs(ctx, LogOptions{Tail: -1}, func(e LogEntry) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, e.Container+":"+strings.TrimSuffix(e.Line, "\n"))
	})
	f.Add(web)
	f.Add(web)
	f.Add(db) // no log yet
	f.Flush("db")
	writeLines(t, filepath.Join(dir, "web.log"), logLine{"last words\n", "stdout", at(2)})
	f.Flush("web")
	if s := seen(); s != "web:old,web:last words" {
		t.Fatalf("after flushing web: %q, want web:old,web:last words", s)
	}
	writeLines(t, filepath.Join(dir, "db.log"), logLine{"ready\n", "stdout", at(3)})
	f.Flush("db")
	f.Remove("web")
	writeLines(t, filepath.Join(dir, "web.log"), logLine{"after removal\n", "stdout", at(4)})
	f.Flush("web") // not followed: returns at once
	f.Flush("nobody")
	cancel()
	if err := f.Wait(); err != nil {
		t.Fatalf("Wait = %v", err)
	}
	if s := seen(); s != "web:old,web:last words,db:ready" {
		t.Errorf("followed %q, want web:old,web:last words,db:ready", s)
	}
}
