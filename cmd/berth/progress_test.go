package main

import (
	"bytes"
	"testing"

	"github.com/berth/berth/scheduler"
)

// Plain progress lines are docker compose's, leading space included
// (" Container x  Started"); the docker CLI commands print theirs without.
func TestPlainProgressLines(t *testing.T) {
	tests := []struct {
		name string
		lead string
		ev   scheduler.Event
		want string
	}{
		{"compose", " ", scheduler.Event{Kind: scheduler.KindContainer, Name: "demo-web-1", Status: scheduler.StatusDone, Text: "Started"}, " Container demo-web-1  Started\n"},
		{"compose, with berth's reason", " ", scheduler.Event{Kind: scheduler.KindContainer, Name: "demo-web-1", Status: scheduler.StatusWorking, Text: "Stopping", Detail: "network demo_front is recreated"}, " Container demo-web-1  Stopping (network demo_front is recreated)\n"},
		{"compose network", " ", scheduler.Event{Kind: scheduler.KindNetwork, Name: "demo_front", Status: scheduler.StatusDone, Text: "Removed"}, " Network demo_front  Removed\n"},
		{"warning", " ", scheduler.Event{Kind: scheduler.KindService, Status: scheduler.StatusWarning, Detail: "careful"}, "WARN: careful\n"},
		{"docker CLI", "", scheduler.Event{Kind: scheduler.KindImage, Name: "busybox", Status: scheduler.StatusDone, Text: "Pulled"}, "Image busybox  Pulled\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			p := &progressWriter{w: &out, mode: "plain", lead: tt.lead}
			p.Emit(tt.ev)
			if out.String() != tt.want {
				t.Errorf("Emit(%+v) wrote %q, want %q", tt.ev, out.String(), tt.want)
			}
		})
	}
}
