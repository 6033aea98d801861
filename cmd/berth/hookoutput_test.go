package main

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/containerd"
	"github.com/berth/berth/scheduler"
)

// TestHookOutputPrefix: a hook's lines are prefixed "service-1 ->  | " as
// docker compose prints them, and the other prefixes widen to it.
func TestHookOutputPrefix(t *testing.T) {
	ctr := func(service string, n int) scheduler.Container {
		name := "demo-" + service + "-" + strconv.Itoa(n)
		return scheduler.Container{Name: name, Labels: compose.Labels{
			compose.LabelProject: "demo", compose.LabelService: service, compose.LabelNumber: strconv.Itoa(n)}}
	}
	web, db := ctr("web", 1), ctr("db", 1)
	tests := []struct {
		name   string
		writes []string // written to web's hook writer, which is then closed
		want   string
	}{
		{"lines", []string{"stop hook running...\n", "second\n"},
			"db-1   | before\n" + // printed before the hook widened the prefixes
				"web-1 ->  | stop hook running...\n" +
				"web-1 ->  | second\n" +
				"web-1     | after\n"},
		{"lines split across writes, a last one without newline", []string{"par", "tial\r\nen", "d"},
			"db-1   | before\n" +
				"web-1 ->  | partial\n" +
				"web-1 ->  | end\n" +
				"web-1     | after\n"},
		{"silent hook widens nothing", nil,
			"db-1   | before\n" +
				"web-1  | after\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			pr := newLogPrinter(&out, []scheduler.Container{db, web}, false, true, false)
			pr.print(containerd.LogEntry{Container: db.Name, Line: "before"})
			w := pr.hookWriter(web)
			for _, s := range tt.writes {
				if _, err := w.Write([]byte(s)); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			pr.print(containerd.LogEntry{Container: web.Name, Line: "after"})
			if out.String() != tt.want {
				t.Errorf("got\n%s\nwant\n%s", out.String(), tt.want)
			}
		})
	}
}
