package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/berth/berth/scheduler"
)

func TestPrintEvent(t *testing.T) {
	e := scheduler.ContainerEvent{
		Time:       time.Date(2026, 11, 25, 10, 0, 0, 1000, time.Local),
		Action:     scheduler.ActionDie,
		ID:         "demo-web-1",
		Service:    "web",
		Attributes: map[string]string{"name": "demo-web-1", "image": "busybox", "exitCode": "3"},
	}
	tests := []struct {
		name  string
		print func(*bytes.Buffer) error
		want  string
	}{
		{"line", func(b *bytes.Buffer) error { return printEventLine(b, e) },
			"2026-11-25 10:00:00.000001 container die demo-web-1 (exitCode=3, image=busybox, name=demo-web-1)\n"},
		{"json", func(b *bytes.Buffer) error { return printEventJSON(b, e) },
			`{"action":"die","attributes":{"exitCode":"3","image":"busybox","name":"demo-web-1"},"id":"demo-web-1","service":"web","time":"` +
				e.Time.Format(time.RFC3339Nano) + `","type":"container"}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.print(&b); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("printed %q, want %q", b.String(), tt.want)
			}
		})
	}
}
