package main

import (
	"strings"
	"testing"
)

// TestNamespaceDirs: the run files and address allocations of projects
// are the namespace's own; the default namespace keeps today's paths.
func TestNamespaceDirs(t *testing.T) {
	t.Setenv("BERTH_DATA_DIR", "/d")
	t.Setenv("BERTH_RUN_DIR", "/r")
	tests := []struct{ namespace, run, data string }{
		{defaultNamespace, "/r", "/d"},
		{"other", "/r/namespaces/other", "/d/namespaces/other"},
	}
	for _, tt := range tests {
		o := &globalOptions{namespace: tt.namespace}
		if got := o.namespaceRunDir(); got != tt.run {
			t.Errorf("namespace %q: namespaceRunDir() = %s, want %s", tt.namespace, got, tt.run)
		}
		if got := o.namespaceDataDir(); got != tt.data {
			t.Errorf("namespace %q: namespaceDataDir() = %s, want %s", tt.namespace, got, tt.data)
		}
	}
}

func TestCheckNamespace(t *testing.T) {
	tests := []struct {
		ns string
		ok bool
	}{
		{"berth", true},
		{"e2e-other.ns_1", true},
		{"", false},
		{"../x", false},
		{"a/b", false},
		{"a--b", false},
		{"-a", false},
		{strings.Repeat("a", 77), false},
	}
	for _, tt := range tests {
		err := checkNamespace(tt.ns)
		if (err == nil) != tt.ok {
			t.Errorf("checkNamespace(%q) = %v, want ok %v", tt.ns, err, tt.ok)
		}
	}
}
