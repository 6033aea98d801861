package main

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/docker/go-units"

	"github.com/berth/berth/scheduler"
)

// liveView is the terminal's progress of up, down and the like: a header
// and one line per resource, redrawn in place.
type liveView struct {
	w       io.Writer
	now     func() time.Time
	width   func() int
	entries []*liveEntry
	byKey   map[string]*liveEntry
	// drawn is how many lines the last drawing took, to go back up over.
	drawn int
	frame int
}

type liveEntry struct {
	kind           scheduler.Kind
	name           string
	status         scheduler.Status
	text, detail   string
	start, end     time.Time
	current, total int64
	// layers are an image's layer downloads, summed into its line.
	layers map[string][2]int64
}

func newLiveView(w io.Writer, now func() time.Time, width func() int) *liveView {
	return &liveView{w: w, now: now, width: width, byKey: map[string]*liveEntry{}}
}

// update records an event on its resource's line; a layer's bytes go to
// its image's line.
func (v *liveView) update(e scheduler.Event) {
	if e.Kind == scheduler.KindLayer {
		img := v.entry(scheduler.KindImage, e.Parent)
		if img.layers == nil {
			img.layers = map[string][2]int64{}
		}
		img.layers[e.Name] = [2]int64{e.Current, e.Total}
		img.current, img.total = 0, 0
		for _, l := range img.layers {
			img.current += l[0]
			img.total += l[1]
		}
		return
	}
	en := v.entry(e.Kind, e.Name)
	if en.status != scheduler.StatusWorking && e.Status == scheduler.StatusWorking {
		en.start = v.now() // at work again: its time is this step's
	}
	en.status, en.text, en.detail = e.Status, e.Text, e.Detail
	if e.Total > 0 {
		en.current, en.total = e.Current, e.Total
	}
	if e.Status == scheduler.StatusWorking {
		en.end = time.Time{}
	} else {
		en.end = v.now()
	}
}

func (v *liveView) entry(kind scheduler.Kind, name string) *liveEntry {
	key := string(kind) + " " + name
	en := v.byKey[key]
	if en == nil {
		en = &liveEntry{kind: kind, name: name, status: scheduler.StatusWorking, start: v.now()}
		v.byKey[key] = en
		v.entries = append(v.entries, en)
	}
	return en
}

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// lines renders the view: "[+] Running 2/3" and a line per resource with
// its mark, kind, name, state and time, names aligned.
func (v *liveView) lines() []string {
	if len(v.entries) == 0 {
		return nil
	}
	done, nameWidth, textWidth := 0, 0, 0
	for _, en := range v.entries {
		if en.status != scheduler.StatusWorking {
			done++
		}
		nameWidth = max(nameWidth, utf8.RuneCountInString(string(en.kind)+" "+en.name))
		textWidth = max(textWidth, utf8.RuneCountInString(en.text))
	}
	out := []string{fmt.Sprintf("[+] Running %d/%d", done, len(v.entries))}
	width := v.width()
	now := v.now()
	for _, en := range v.entries {
		mark := statusMark[en.status]
		if en.status == scheduler.StatusWorking {
			mark = spinner[v.frame%len(spinner)]
		}
		label := string(en.kind) + " " + en.name
		line := fmt.Sprintf(" %s %s%s  %s%s", mark, label, strings.Repeat(" ", nameWidth-utf8.RuneCountInString(label)),
			en.text, strings.Repeat(" ", textWidth-utf8.RuneCountInString(en.text)))
		var extra []string
		if en.total > 0 && en.status == scheduler.StatusWorking {
			extra = append(extra, units.HumanSize(float64(en.current))+"/"+units.HumanSize(float64(en.total)))
		}
		if en.detail != "" && en.status != scheduler.StatusDone {
			extra = append(extra, en.detail)
		}
		end := en.end
		if end.IsZero() {
			end = now
		}
		elapsed := fmt.Sprintf("%.1fs", end.Sub(en.start).Seconds())
		if len(extra) > 0 {
			line += "  " + strings.Join(extra, "  ")
		}
		out = append(out, fitLine(line, elapsed, width))
	}
	return out
}

// fitLine puts the time at the right edge and cuts the line so that it
// never wraps: a wrapped line would break the redraw.
func fitLine(line, right string, width int) string {
	room := width - 1 - utf8.RuneCountInString(right) - 1
	if room < 1 {
		return truncateRunes(line, max(width-1, 1))
	}
	if n := utf8.RuneCountInString(line); n > room {
		line = truncateRunes(line, room-1) + "…"
	}
	return line + strings.Repeat(" ", room-utf8.RuneCountInString(line)+1) + right
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// draw goes back over the last drawing and writes the view again.
func (v *liveView) draw() {
	v.frame++
	lines := v.lines()
	var b strings.Builder
	if v.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", v.drawn)
	}
	for _, l := range lines {
		b.WriteString("\r\x1b[2K")
		b.WriteString(l)
		b.WriteString("\n")
	}
	v.drawn = len(lines)
	io.WriteString(v.w, b.String()) //nolint:errcheck // progress is best effort
}

// above prints text over the view: the view is cleared, the text written,
// and the view drawn again below it.
func (v *liveView) above(w io.Writer, text []byte) {
	if v.drawn > 0 {
		fmt.Fprintf(v.w, "\x1b[%dA\r\x1b[J", v.drawn)
		v.drawn = 0
	}
	w.Write(text) //nolint:errcheck // progress is best effort
	v.draw()
}
