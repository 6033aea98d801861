package compose

import (
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

func TestServiceHash(t *testing.T) {
	two, three := 2, 3
	base := func() types.ServiceConfig {
		return types.ServiceConfig{
			Name:        "web",
			Image:       "busybox",
			Environment: types.MappingWithEquals{"A": strPtr("1")},
			Deploy:      &types.DeployConfig{Replicas: &two},
		}
	}
	tests := []struct {
		name    string
		change  func(*types.ServiceConfig)
		changes bool
	}{
		{"nothing", func(*types.ServiceConfig) {}, false},
		{"environment", func(s *types.ServiceConfig) { s.Environment["A"] = strPtr("2") }, true},
		{"image", func(s *types.ServiceConfig) { s.Image = "busybox:1" }, true},
		{"command", func(s *types.ServiceConfig) { s.Command = types.ShellCommand{"sh"} }, true},
		{"scale", func(s *types.ServiceConfig) { s.Scale = &three }, false},
		{"replicas", func(s *types.ServiceConfig) { s.Deploy = &types.DeployConfig{Replicas: &three} }, false},
		{"depends_on", func(s *types.ServiceConfig) {
			s.DependsOn = types.DependsOnConfig{"db": {Condition: "service_started"}}
		}, false},
		{"profiles", func(s *types.ServiceConfig) { s.Profiles = []string{"x"} }, false},
		{"pull_policy", func(s *types.ServiceConfig) { s.PullPolicy = "always" }, false},
		{"build", func(s *types.ServiceConfig) { s.Build = &types.BuildConfig{Context: "."} }, false},
	}
	want, err := ServiceHash(base())
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base()
			tt.change(&s)
			got, err := ServiceHash(s)
			if err != nil {
				t.Fatal(err)
			}
			if (got != want) != tt.changes {
				t.Errorf("hash changed = %v, want %v", got != want, tt.changes)
			}
			if s.Deploy != nil && s.Deploy.Replicas != nil && *s.Deploy.Replicas == 1 {
				t.Errorf("ServiceHash modified its argument's deploy.replicas")
			}
		})
	}
}

func strPtr(s string) *string { return &s }
