package compose

import (
	"strings"
	"testing"
)

func TestParsePullPolicy(t *testing.T) {
	tests := []struct {
		in      string
		want    PullPolicy
		wantErr bool
	}{
		{"policy", "", false},
		{"always", PullAlways, false},
		{"missing", PullMissing, false},
		{"if_not_present", PullMissing, false},
		{"never", PullNever, false},
		{"build", PullBuild, false},
		{"sometimes", "", true},
		{"Always", "", true},
	}
	for _, tt := range tests {
		got, err := ParsePullPolicy(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParsePullPolicy(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), `invalid --pull option "`+tt.in+`"`) {
			t.Errorf("ParsePullPolicy(%q) error = %v, want compose's wording", tt.in, err)
		}
	}
}

func TestOverridePullPolicy(t *testing.T) {
	project := func() *Project {
		return &Project{Services: []*Service{
			{Name: "img", Image: "busybox", PullPolicy: PullMissing},
			{Name: "both", Image: "demo/app", HasBuild: true, PullPolicy: PullMissing},
			{Name: "buildonly", HasBuild: true, PullPolicy: PullBuild},
		}}
	}
	tests := []struct {
		pp   PullPolicy
		want map[string]PullPolicy
	}{
		{"", map[string]PullPolicy{"img": PullMissing, "both": PullMissing, "buildonly": PullBuild}},
		{PullAlways, map[string]PullPolicy{"img": PullAlways, "both": PullMissing, "buildonly": PullBuild}},
		{PullNever, map[string]PullPolicy{"img": PullNever, "both": PullMissing, "buildonly": PullBuild}},
		{PullMissing, map[string]PullPolicy{"img": PullMissing, "both": PullMissing, "buildonly": PullBuild}},
		{PullBuild, map[string]PullPolicy{"img": PullBuild, "both": PullBuild, "buildonly": PullBuild}},
	}
	for _, tt := range tests {
		p := project()
		p.OverridePullPolicy(tt.pp)
		for _, s := range p.Services {
			if s.PullPolicy != tt.want[s.Name] {
				t.Errorf("OverridePullPolicy(%q): service %s has %q, want %q", tt.pp, s.Name, s.PullPolicy, tt.want[s.Name])
			}
		}
	}
}
