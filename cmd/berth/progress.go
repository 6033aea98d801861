package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/docker/go-units"
	"golang.org/x/term"

	"github.com/berth/berth/scheduler"
)

// progressWriter renders progress events on standard error: one line an
// event ("Container demo-web-1  Started"), JSON objects with --progress
// json, nothing with --progress quiet.
type progressWriter struct {
	mu   sync.Mutex // guards w, layers, live, stopLive and liveDone
	w    io.Writer
	mode string
	// tty is set for the live view: see globalOptions.liveProgress.
	tty bool
	// layers are the layers whose download was already reported.
	layers map[string]bool
	// live, when set, redraws one line per resource in place (Live).
	live *liveView
	// quietPull drops the progress of each layer of a pull (--quiet-pull):
	// only the image's Pulling and Pulled are shown.
	quietPull bool
	// stopLive ends the goroutine that redraws live on a tick, which
	// closes liveDone when it returns.
	stopLive, liveDone chan struct{}
	// lead begins each plain line: docker compose's plain progress writer
	// prints " Container x  Started" (fmt.Fprintln of an empty prefix and
	// the event), which scripts match; the docker CLI commands have none.
	lead string
	// record, when set, also gets every event and timing mark: the
	// readiness report's recorder (up --report, --summary).
	record recorder
}

// recorder takes events and timing marks.
type recorder interface {
	scheduler.Events
	scheduler.Marker
}

// Mark implements scheduler.Marker: marks go to record only.
func (p *progressWriter) Mark(m scheduler.Mark) {
	if p.record != nil {
		p.record.Mark(m)
	}
}

// MarksWanted implements scheduler.MarkGate.
func (p *progressWriter) MarksWanted() bool { return p.record != nil }

func (o *globalOptions) progressWriter() (*progressWriter, error) {
	switch o.progress {
	case "auto", "tty", "plain", "json", "quiet", "none":
	default:
		return nil, fmt.Errorf("--progress %q: use auto, tty, plain, json or quiet", o.progress)
	}
	return &progressWriter{w: os.Stderr, mode: o.progress, tty: o.liveProgress(termIsTerminal(os.Stderr)), lead: " "}, nil
}

var statusMark = map[scheduler.Status]string{
	scheduler.StatusDone:    "✔",
	scheduler.StatusError:   "✘",
	scheduler.StatusWarning: "!",
	scheduler.StatusWorking: " ",
}

// Live switches a terminal's progress to the live view: a line per
// resource, redrawn in place with its state and time, as docker compose
// shows up and down. Plain, JSON and non-terminal output are unchanged.
// Stop ends it; until then nothing else may write to the terminal except
// through Above.
func (p *progressWriter) Live() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.tty || p.live != nil { // quiet, json and plain modes are never tty
		return
	}
	width := func() int {
		if w, _, err := term.GetSize(int(os.Stderr.Fd())); err == nil && w > 0 {
			return w
		}
		return 80
	}
	p.live = newLiveView(p.w, time.Now, width)
	stop, done := make(chan struct{}), make(chan struct{})
	p.stopLive, p.liveDone = stop, done
	go func() {
		defer close(done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				p.mu.Lock()
				if p.live != nil {
					p.live.draw()
				}
				p.mu.Unlock()
			}
		}
	}()
}

// Stop ends the live view with a last drawing; later events are printed
// as lines. It may be called more than once.
func (p *progressWriter) Stop() {
	p.mu.Lock()
	live, stop, done := p.live, p.stopLive, p.liveDone
	p.live, p.stopLive, p.liveDone = nil, nil, nil
	p.mu.Unlock()
	if live == nil {
		return
	}
	close(stop)
	<-done
	p.mu.Lock()
	live.draw()
	p.mu.Unlock()
}

// Above returns a writer whose lines are printed above the live view (or
// straight to w when there is none): build output during up, say.
func (p *progressWriter) Above(w io.Writer) io.Writer {
	return &aboveWriter{p: p, w: w}
}

type aboveWriter struct {
	p       *progressWriter
	w       io.Writer
	partial []byte
}

func (a *aboveWriter) Write(b []byte) (int, error) {
	a.p.mu.Lock()
	defer a.p.mu.Unlock()
	if a.p.live == nil {
		if len(a.partial) > 0 {
			b = append(a.partial, b...)
			a.partial = nil
		}
		_, err := a.w.Write(b)
		return len(b), err
	}
	a.partial = append(a.partial, b...)
	i := bytes.LastIndexByte(a.partial, '\n')
	if i < 0 {
		return len(b), nil
	}
	a.p.live.above(a.w, a.partial[:i+1])
	a.partial = append([]byte(nil), a.partial[i+1:]...)
	return len(b), nil
}

// Emit implements scheduler.Events.
func (p *progressWriter) Emit(e scheduler.Event) {
	if p.record != nil {
		p.record.Emit(e)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.quietPull && e.Kind == scheduler.KindLayer {
		return
	}
	if p.live != nil {
		if e.Kind == scheduler.KindService && e.Status == scheduler.StatusWarning {
			p.live.above(p.w, []byte("WARN: "+e.Detail+"\n"))
			return
		}
		p.live.update(e)
		p.live.draw()
		return
	}
	switch p.mode {
	case "quiet", "none":
		return
	case "json":
		b, _ := json.Marshal(map[string]any{
			"kind": e.Kind, "name": e.Name, "parent": e.Parent, "status": e.Status,
			"text": e.Text, "detail": e.Detail, "current": e.Current, "total": e.Total,
		})
		fmt.Fprintf(p.w, "%s\n", b)
		return
	}
	if e.Kind == scheduler.KindLayer {
		// One line when a layer's download starts and one when it ends; the
		// byte counts in between would flood plain output.
		if p.layers == nil {
			p.layers = map[string]bool{}
		}
		if e.Status == scheduler.StatusWorking && p.layers[e.Name] {
			return
		}
		p.layers[e.Name] = true
		e.Name = e.Parent + " " + e.Name
	}
	if e.Kind == scheduler.KindService && e.Status == scheduler.StatusWarning {
		fmt.Fprintf(p.w, "WARN: %s\n", e.Detail)
		return
	}
	line := fmt.Sprintf("%s %s  %s", e.Kind, e.Name, e.Text)
	if p.tty {
		line = statusMark[e.Status] + " " + line
	} else {
		line = p.lead + line
	}
	if e.Detail != "" && e.Status != scheduler.StatusDone {
		line += " (" + e.Detail + ")"
	}
	if e.Total > 0 {
		line += fmt.Sprintf(" %s/%s", units.HumanSize(float64(e.Current)), units.HumanSize(float64(e.Total)))
	}
	fmt.Fprintln(p.w, line)
}

// buildOutput is where builds write their steps' output: above the live
// progress on w, or nowhere with --quiet-build.
func buildOutput(p *progressWriter, w io.Writer, quiet bool) io.Writer {
	if quiet {
		return io.Discard
	}
	return p.Above(w)
}
