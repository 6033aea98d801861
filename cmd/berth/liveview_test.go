package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/scheduler"
)

type fakeNow struct{ t time.Time }

func (f *fakeNow) now() time.Time          { return f.t }
func (f *fakeNow) advance(d time.Duration) { f.t = f.t.Add(d) }

func TestLiveViewLines(t *testing.T) {
	clock := &fakeNow{t: time.Unix(1000, 0)}
	var out bytes.Buffer
	v := newLiveView(&out, clock.now, func() int { return 60 })
	v.update(scheduler.Event{Kind: scheduler.KindNetwork, Name: "demo_default", Status: scheduler.StatusDone, Text: "Created"})
	v.update(scheduler.Event{Kind: scheduler.KindContainer, Name: "demo-db-1", Status: scheduler.StatusWorking, Text: "Starting"})
	v.update(scheduler.Event{Kind: scheduler.KindLayer, Name: "l1", Parent: "postgres", Current: 1 << 20, Total: 4 << 20})
	v.update(scheduler.Event{Kind: scheduler.KindLayer, Name: "l2", Parent: "postgres", Current: 1 << 20, Total: 4 << 20})
	clock.advance(1500 * time.Millisecond)
	v.update(scheduler.Event{Kind: scheduler.KindContainer, Name: "demo-db-1", Status: scheduler.StatusDone, Text: "Started"})
	v.update(scheduler.Event{Kind: scheduler.KindContainer, Name: "demo-api-1", Status: scheduler.StatusWorking, Text: "Waiting", Detail: "for db: service_healthy and a long detail that does not fit"})
	clock.advance(300 * time.Millisecond)
	want := []string{
		"[+] Running 2/4",
		" ✔ Network demo_default  Created                       0.0s",
		" ✔ Container demo-db-1   Started                       1.5s",
		" ⠋ Image postgres                 2.097MB/8.389MB      1.8s",
		" ⠋ Container demo-api-1  Waiting  for db: service_hea… 0.3s",
	}
	got := v.lines()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, l := range got {
		if n := len([]rune(l)); n >= 60 {
			t.Errorf("line of %d runes would wrap a 60-column terminal: %q", n, l)
		}
	}
}

func TestLiveViewRedraw(t *testing.T) {
	clock := &fakeNow{t: time.Unix(1000, 0)}
	var out bytes.Buffer
	v := newLiveView(&out, clock.now, func() int { return 80 })
	v.update(scheduler.Event{Kind: scheduler.KindContainer, Name: "a", Status: scheduler.StatusDone, Text: "Started"})
	v.draw()
	first := out.String()
	if strings.HasPrefix(first, "\x1b[2A") {
		t.Errorf("the first drawing moves up: %q", first)
	}
	out.Reset()
	v.draw()
	if !strings.HasPrefix(out.String(), "\x1b[2A") {
		t.Errorf("a redraw does not go back over the 2 lines drawn: %q", out.String())
	}
	out.Reset()
	var above bytes.Buffer
	v.above(&above, []byte("step 1/3 : FROM debian\n"))
	if above.String() != "step 1/3 : FROM debian\n" || !strings.HasPrefix(out.String(), "\x1b[2A\r\x1b[J") || !strings.Contains(out.String(), "Container a") {
		t.Errorf("above: text %q, view %q", above.String(), out.String())
	}
}

func TestAboveWriterKeepsLinesWhole(t *testing.T) {
	var stderr, stdout bytes.Buffer
	p := &progressWriter{w: &stderr, mode: "auto", tty: true}
	p.live = newLiveView(&stderr, time.Now, func() int { return 80 })
	w := p.Above(&stdout)
	w.Write([]byte("half a "))
	if stdout.Len() != 0 {
		t.Errorf("a partial line was written: %q", stdout.String())
	}
	w.Write([]byte("line\nnext"))
	if stdout.String() != "half a line\n" {
		t.Errorf("stdout %q", stdout.String())
	}
	p.live = nil // stopped: the rest goes straight through
	w.Write([]byte(" one\n"))
	if stdout.String() != "half a line\nnext one\n" {
		t.Errorf("stdout after stop %q", stdout.String())
	}
}
