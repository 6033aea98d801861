package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/docker/go-units"
	"golang.org/x/term"

	"github.com/berth/berth/scheduler"
)

// progressWriter renders progress events on standard error: one line an
// event ("Container demo-web-1  Started"), JSON objects with --progress
// json, nothing with --progress quiet.
type progressWriter struct {
	mu   sync.Mutex // guards w and layers
	w    io.Writer
	mode string
	tty  bool
	// layers are the layers whose download was already reported.
	layers map[string]bool
}

func (o *globalOptions) progressWriter() (*progressWriter, error) {
	switch o.progress {
	case "auto", "tty", "plain", "json", "quiet", "none":
	default:
		return nil, fmt.Errorf("--progress %q: use auto, tty, plain, json or quiet", o.progress)
	}
	tty := term.IsTerminal(int(os.Stderr.Fd()))
	return &progressWriter{w: os.Stderr, mode: o.progress, tty: tty && (o.progress == "auto" || o.progress == "tty")}, nil
}

var statusMark = map[scheduler.Status]string{
	scheduler.StatusDone:    "✔",
	scheduler.StatusError:   "✘",
	scheduler.StatusWarning: "!",
	scheduler.StatusWorking: " ",
}

// Emit implements scheduler.Events.
func (p *progressWriter) Emit(e scheduler.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
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
	}
	if e.Detail != "" && e.Status != scheduler.StatusDone {
		line += " (" + e.Detail + ")"
	}
	if e.Total > 0 {
		line += fmt.Sprintf(" %s/%s", units.HumanSize(float64(e.Current)), units.HumanSize(float64(e.Total)))
	}
	fmt.Fprintln(p.w, line)
}
