package main

import "testing"

func TestProjectFilter(t *testing.T) {
	tests := []struct {
		filters []string
		name    string
		want    bool
	}{
		{nil, "demo", true},
		{[]string{"name=demo"}, "demo", true},
		{[]string{"name=demo"}, "my-demo-2", true}, // docker matches within the name
		{[]string{"name=^demo$"}, "my-demo-2", false},
		{[]string{"name=^a", "name=^d"}, "demo", true},
		{[]string{"name=^a"}, "demo", false},
	}
	for _, tt := range tests {
		match, err := projectFilter(tt.filters)
		if err != nil {
			t.Fatalf("projectFilter(%q): %v", tt.filters, err)
		}
		if got := match(tt.name); got != tt.want {
			t.Errorf("projectFilter(%q)(%q) = %v, want %v", tt.filters, tt.name, got, tt.want)
		}
	}
	for _, bad := range []string{"status=running", "name", "name=("} {
		if _, err := projectFilter([]string{bad}); err == nil {
			t.Errorf("projectFilter(%q) accepted", bad)
		}
	}
}
