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
	"syscall"
	"testing"

	"github.com/berth/berth/compose"
)

// fakeShim opens a task's output FIFOs as containerd's shim does: the
// write end, then a read end of its own, both kept until close.
type fakeShim struct {
	t       *testing.T
	streams map[string]*os.File
	own     []*os.File
}

func newFakeShim(t *testing.T, f *taskFIFOs, streams ...string) *fakeShim {
	t.Helper()
	s := &fakeShim{t: t, streams: map[string]*os.File{}}
	for _, name := range streams {
		w, err := os.OpenFile(f.path(name), os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		r, err := os.OpenFile(f.path(name), os.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			t.Fatal(err)
		}
		s.streams[name] = w
		s.own = append(s.own, r)
	}
	if err := f.created(); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *fakeShim) printf(stream, format string, args ...any) {
	s.t.Helper()
	if _, err := fmt.Fprintf(s.streams[stream], format, args...); err != nil {
		s.t.Fatal(err)
	}
}

// close ends the task's output: the shim closes both its ends.
func (s *fakeShim) close() {
	for _, f := range s.streams {
		f.Close()
	}
	for _, f := range s.own {
		f.Close()
	}
}

// startCollector runs a collector of project p under root until the test
// ends or stop is called; waitEnded(id) returns once no task of id is
// read (any more).
func startCollector(t *testing.T, root, project string) (waitEnded func(id string), stop func()) {
	t.Helper()
	col, err := NewLogCollector(root, project, log.New(io.Discard, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	ended := make(chan string, 16)
	col.c.ended = func(id string) { ended <- id }
	// A task found at the start before its shim opened the FIFOs ends at
	// once, and is read again when handed over: its end says nothing.
	waitEnded = func(id string) {
		t.Helper()
		for {
			col.c.mu.Lock()
			reading := col.c.tasks[id] != nil
			col.c.mu.Unlock()
			if !reading {
				return
			}
			<-ended
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		col.Run(ctx)
	}()
	stop = func() {
		cancel()
		<-done
	}
	t.Cleanup(stop)
	return waitEnded, stop
}

// newTask makes the FIFOs of container id's next task under root.
func newTask(t *testing.T, root, id string, meta taskMeta) *taskFIFOs {
	t.Helper()
	f, err := makeTaskFIFOs(filepath.Join(root, "containers", id), meta)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// logLines are the stream:text of each line of a log file.
func logLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l logLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		out = append(out, l.Stream+":"+strings.TrimSuffix(l.Log, "\n"))
	}
	return out
}

func jsonFile(root, project, id string) taskMeta {
	return taskMeta{Project: project, Log: filepath.Join(root, "logs", id+".log"), Logging: compose.Logging{Driver: compose.LogJSONFile, MaxFile: 1}}
}

func TestLogCollectorWritesHandedOverTask(t *testing.T) {
	root := t.TempDir()
	ended, _ := startCollector(t, root, "p")
	meta := jsonFile(root, "p", "p-web-1")
	f := newTask(t, root, "p-web-1", meta)
	shim := newFakeShim(t, f, "stdout", "stderr")
	f.handOver(context.Background(), root, "p-web-1")
	f.release()
	shim.printf("stdout", "one\ntwo\n")
	shim.printf("stderr", "oops\n")
	shim.printf("stdout", "partial")
	shim.close()
	ended("p-web-1")
	got := logLines(t, meta.Log)
	var out, errs []string
	for _, l := range got {
		if strings.HasPrefix(l, "stdout:") {
			out = append(out, l)
		} else {
			errs = append(errs, l)
		}
	}
	if strings.Join(out, ",") != "stdout:one,stdout:two,stdout:partial" || strings.Join(errs, ",") != "stderr:oops" {
		t.Errorf("log = %q; want stdout one, two, partial and stderr oops", got)
	}
}

// TestLogCollectorRestartLosesNothing: output written while no collector
// runs waits in the pipe, and the next collector, finding the task
// there, writes it after what the first one wrote, once.
func TestLogCollectorRestartLosesNothing(t *testing.T) {
	root := t.TempDir()
	_, stop := startCollector(t, root, "p")
	meta := jsonFile(root, "p", "p-web-1")
	f := newTask(t, root, "p-web-1", meta)
	shim := newFakeShim(t, f, "stdout", "stderr")
	f.handOver(context.Background(), root, "p-web-1")
	f.release()
	for i := 1; i <= 100; i++ {
		shim.printf("stdout", "line %d\n", i)
	}
	stop()
	for i := 101; i <= 200; i++ {
		shim.printf("stdout", "line %d\n", i)
	}
	ended, _ := startCollector(t, root, "p")
	// Answered once its start, which finds the task, is over.
	f.handOver(context.Background(), root, "p-web-1")
	for i := 201; i <= 300; i++ {
		shim.printf("stdout", "line %d\n", i)
	}
	shim.close()
	ended("p-web-1")
	got := logLines(t, meta.Log)
	if len(got) != 300 {
		t.Fatalf("log has %d lines, want 300", len(got))
	}
	for i, l := range got {
		if want := fmt.Sprintf("stdout:line %d", i+1); l != want {
			t.Fatalf("log line %d = %q, want %q", i+1, l, want)
		}
	}
}

func TestLogCollectorOnlyItsProject(t *testing.T) {
	root := t.TempDir()
	other := jsonFile(root, "q", "q-web-1")
	f := newTask(t, root, "q-web-1", other)
	shim := newFakeShim(t, f, "stdout", "stderr")
	defer shim.close()
	f.release()
	shim.printf("stdout", "not p's\n")
	mine := jsonFile(root, "p", "p-web-1")
	g := newTask(t, root, "p-web-1", mine)
	mshim := newFakeShim(t, g, "stdout", "stderr")
	g.release()
	mshim.printf("stdout", "p's\n")
	ended, _ := startCollector(t, root, "p")          // found at start, not handed over
	g.handOver(context.Background(), root, "p-web-1") // once the start is over
	mshim.close()
	ended("p-web-1")
	if got := logLines(t, mine.Log); strings.Join(got, ",") != "stdout:p's" {
		t.Errorf("p's log = %q", got)
	}
	if _, err := os.Stat(other.Log); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("q's log was written by p's collector (%v)", err)
	}
}

func TestLogCollectorDriverNone(t *testing.T) {
	root := t.TempDir()
	ended, _ := startCollector(t, root, "p")
	meta := jsonFile(root, "p", "p-web-1")
	meta.Logging.Driver = compose.LogNone
	f := newTask(t, root, "p-web-1", meta)
	shim := newFakeShim(t, f, "stdout", "stderr")
	f.handOver(context.Background(), root, "p-web-1")
	f.release()
	shim.printf("stdout", "dropped\n")
	shim.close()
	ended("p-web-1")
	if _, err := os.Stat(meta.Log); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("driver none: log written (%v)", err)
	}
}

// TestLogCollectorTerminal: a tty task has its terminal output and input
// FIFOs, no stderr; the output is read as stdout.
func TestLogCollectorTerminal(t *testing.T) {
	root := t.TempDir()
	ended, _ := startCollector(t, root, "p")
	meta := jsonFile(root, "p", "p-tty-1")
	meta.Terminal = true
	f := newTask(t, root, "p-tty-1", meta)
	if _, err := os.Stat(f.path("stderr")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a tty task has a stderr FIFO (%v)", err)
	}
	if st, err := os.Stat(f.path("stdin")); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("a tty task has no input FIFO (%v)", err)
	}
	i, err := f.creator()("p-tty-1")
	if err != nil {
		t.Fatal(err)
	}
	if cfg := i.Config(); cfg.Stdin != f.path("stdin") || cfg.Stdout != f.path("stdout") || cfg.Stderr != "" || !cfg.Terminal {
		t.Errorf("tty task IO = %+v; want the stdin and stdout FIFOs, a terminal", cfg)
	}
	shim := newFakeShim(t, f, "stdout")
	f.handOver(context.Background(), root, "p-tty-1")
	f.release()
	shim.printf("stdout", "/ # ls\r\n")
	shim.close()
	ended("p-tty-1")
	if got := logLines(t, meta.Log); strings.Join(got, ",") != "stdout:/ # ls\r" {
		t.Errorf("log = %q", got)
	}
}

func TestHandOverWithoutCollector(t *testing.T) {
	root := t.TempDir()
	f := newTask(t, root, "p-web-1", jsonFile(root, "p", "p-web-1"))
	defer f.release()
	// No collector ever ran: there is no request FIFO, and it returns at
	// once rather than waiting handOverWait for an answer.
	f.handOver(context.Background(), root, "p-web-1")
	// A collector that ran and ended leaves its FIFO without a reader.
	_, stop := startCollector(t, root, "p")
	stop()
	f.handOver(context.Background(), root, "p-web-1")
}
