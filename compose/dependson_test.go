package compose

import (
	"reflect"
	"testing"
)

func TestDependsOnLabel(t *testing.T) {
	deps := map[string]Dependency{
		"db":      {Condition: ConditionHealthy, Required: true, Restart: true},
		"migrate": {Condition: ConditionCompletedSuccessfully},
	}
	v := FormatDependsOn(deps)
	if want := "db:service_healthy:true,migrate:service_completed_successfully:false"; v != want {
		t.Errorf("FormatDependsOn = %q, want %q", v, want)
	}
	tests := []struct {
		label string
		want  map[string]Dependency
	}{
		{v, map[string]Dependency{
			"db":      {Condition: ConditionHealthy, Restart: true},
			"migrate": {Condition: ConditionCompletedSuccessfully},
		}},
		// docker compose's older labels: a name alone, or no restart flag.
		{"db", map[string]Dependency{"db": {Condition: ConditionStarted, Restart: true}}},
		{"db:service_healthy", map[string]Dependency{"db": {Condition: ConditionHealthy, Restart: true}}},
		{",db::maybe", map[string]Dependency{"db": {Condition: ConditionStarted, Restart: true}}},
		{"", nil},
	}
	for _, tt := range tests {
		got := Labels{LabelDependsOn: tt.label}.DependsOn()
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("DependsOn(%q) = %v, want %v", tt.label, got, tt.want)
		}
	}
	s := &Service{Name: "web", DependsOn: deps}
	if got := ContainerLabels(&Project{Name: "demo"}, s, 1)[LabelDependsOn]; got != v {
		t.Errorf("ContainerLabels depends_on = %q, want %q", got, v)
	}
	if _, ok := ContainerLabels(&Project{Name: "demo"}, &Service{Name: "db"}, 1)[LabelDependsOn]; ok {
		t.Error("ContainerLabels of a service without depends_on has the label")
	}
}
