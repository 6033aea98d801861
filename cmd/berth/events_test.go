package main

import (
	"bytes"
	"strings"
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

func TestEventTime(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"", time.Time{}},
		{"10m", now.Add(-10 * time.Minute)},
		{"1764064800", time.Unix(1764064800, 0)},
		{"1764064800.5", time.Unix(1764064800, 5e8)},
		{"2026-11-25T09:00:00Z", time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)},
		{"2026-11-25T11:00:00+01:00", time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		got, err := eventTime("since", tt.in, now)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("eventTime(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	if _, err := eventTime("until", "yesterday", now); err == nil || !strings.Contains(err.Error(), "--until") {
		t.Errorf("eventTime(yesterday) = %v, want an error naming --until", err)
	}
}
