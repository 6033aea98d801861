package main

import (
	"context"
	"strings"
	"testing"

	"github.com/berth/berth/compose"
)

func TestPullSkip(t *testing.T) {
	tests := []struct {
		name    string
		svc     compose.Service
		present bool
		want    string
	}{
		{"build only", compose.Service{HasBuild: true, PullPolicy: compose.PullBuild}, false, skipNoImage},
		{"never", compose.Service{Image: "db:1", PullPolicy: compose.PullNever}, true, skipPolicy},
		{"build policy", compose.Service{Image: "db:1", PullPolicy: compose.PullBuild}, false, skipPolicy},
		{"no policy, present", compose.Service{Image: "db:1", PullPolicy: compose.PullMissing}, true, ""},
		{"missing, present", compose.Service{Image: "db:1", PullPolicy: compose.PullMissing, PullIfMissing: true}, true, skipPresent},
		{"missing, absent", compose.Service{Image: "db:1", PullPolicy: compose.PullMissing, PullIfMissing: true}, false, ""},
		{"missing, latest", compose.Service{Image: "db", PullPolicy: compose.PullMissing, PullIfMissing: true}, true, ""},
		{"missing, digest", compose.Service{Image: "db@sha256:0123456789012345678901234567890123456789012345678901234567890123", PullPolicy: compose.PullMissing, PullIfMissing: true}, true, ""},
		{"always", compose.Service{Image: "db:1", PullPolicy: compose.PullAlways}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.svc.Name = "svc"
			got, err := pullSkip(context.Background(), &tt.svc, func(context.Context, string) (bool, error) { return tt.present, nil })
			if err != nil || got != tt.want {
				t.Errorf("pullSkip(%+v) = %q, %v; want %q", tt.svc, got, err, tt.want)
			}
		})
	}
}

func TestApplyPullPolicy(t *testing.T) {
	newProject := func() *compose.Project {
		return &compose.Project{Services: []*compose.Service{
			{Name: "db", Image: "postgres:16", PullPolicy: compose.PullNever},
			{Name: "app", HasBuild: true}, // built: no image to pull
		}}
	}
	for _, tc := range []struct {
		policy   string
		want     compose.PullPolicy
		ifMissed bool
	}{{"", compose.PullNever, false}, {"always", compose.PullAlways, false}, {"missing", compose.PullMissing, true}} {
		p := newProject()
		if err := applyPullPolicy(p, tc.policy); err != nil {
			t.Fatal(err)
		}
		if db := p.Services[0]; db.PullPolicy != tc.want || db.PullIfMissing != tc.ifMissed {
			t.Errorf("--policy %q: db %q (if missing %v), want %q (%v)", tc.policy, db.PullPolicy, db.PullIfMissing, tc.want, tc.ifMissed)
		}
		if app := p.Services[1]; app.PullPolicy != "" {
			t.Errorf("--policy %q changed a service without an image: %q", tc.policy, app.PullPolicy)
		}
	}
	if err := applyPullPolicy(newProject(), "sometimes"); err == nil || !strings.Contains(err.Error(), "--policy") {
		t.Errorf("--policy sometimes: %v", err)
	}
}

func TestWithDependencies(t *testing.T) {
	p := &compose.Project{Name: "demo", Services: []*compose.Service{
		{Name: "db", Image: "postgres"},
		{Name: "api", Image: "api", DependsOn: map[string]compose.Dependency{"db": {}}},
		{Name: "web", Image: "web", DependsOn: map[string]compose.Dependency{"api": {}}},
	}}
	got, err := withDependencies(p, []string{"web"})
	if err != nil || strings.Join(got, " ") != "api db web" {
		t.Errorf("withDependencies(web) = %v, %v; want api db web", got, err)
	}
	if got, _ := withDependencies(p, nil); got != nil {
		t.Errorf("withDependencies(nil) = %v, want nil (every service)", got)
	}
}
