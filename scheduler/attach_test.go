package scheduler

import (
	"strings"
	"testing"
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
