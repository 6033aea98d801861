package scheduler

import (
	"context"
	"strings"
	"testing"

	"github.com/berth/berth/compose"
)

func TestCheckAttachNames(t *testing.T) {
	p := project("db", "api<-db", "web<-api", "other")
	p.DisabledServices = []string{"debug"}
	tests := []struct {
		name    string
		ro      ReconcileOptions
		names   []string
		wantErr string
	}{
		{"none", ReconcileOptions{}, nil, ""},
		{"empty flag", ReconcileOptions{}, []string{""}, ""},
		{"all started", ReconcileOptions{}, []string{"db", "other"}, ""},
		{"a dependency", ReconcileOptions{Services: []string{"web"}}, []string{"db"}, ""},
		{"unknown", ReconcileOptions{}, []string{"web", "nope"}, "--flag nope: no such service (the project's services: api, db, debug, other, web)"},
		{"not selected", ReconcileOptions{Services: []string{"api"}}, []string{"other"}, `--flag other: up does not start service "other" (it starts api, db)`},
		{"dependency with no-deps", ReconcileOptions{Services: []string{"api"}, NoDeps: true}, []string{"db"}, `--flag db: up does not start service "db" (it starts api)`},
		{"disabled", ReconcileOptions{}, []string{"debug"}, `up does not start service "debug"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckAttachNames(p, tt.ro, "--flag", tt.names...)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("CheckAttachNames(%q) = %v, want nil", tt.names, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("CheckAttachNames(%q) = %v, want %q", tt.names, err, tt.wantErr)
			}
		})
	}
}

func TestWaitExit(t *testing.T) {
	p := project("web", "job", "idle")
	tests := []struct {
		name     string
		services []string
		want     string // the container returned
		wantErr  string
	}{
		{"exited", []string{"job"}, "demo-job-1", ""},
		{"one of them exited", []string{"web", "job"}, "demo-job-1", ""},
		{"no container", []string{"idle"}, "", "service idle has no container: run berth up -d idle first"},
		{"one without container", []string{"job", "idle"}, "", "service idle has no container"},
		{"only a one-off", []string{"web", "oneoff"}, "", "service oneoff has no container"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeRuntime()
			f.add(p, "web", 1, StateRunning, "h")
			f.add(p, "job", 1, StateExited, "h")
			f.add(p, "oneoff", 1, StateExited, "h")
			f.set("demo-oneoff-1", func(c *Container) { c.Labels[compose.LabelOneOff] = "True" })
			c, err := WaitExit(context.Background(), f, "demo", tt.services)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("WaitExit(%q) = %v, want %q", tt.services, err, tt.wantErr)
				}
				return
			}
			if err != nil || c == nil || c.Name != tt.want {
				t.Errorf("WaitExit(%q) = %v, %v, want %s", tt.services, c, err, tt.want)
			}
		})
	}
}
