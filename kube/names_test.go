package kube

import (
	"strings"
	"testing"
)

func TestDNSLabel(t *testing.T) {
	tests := []struct{ in, want string }{
		{"web", "web"},
		{"my_cache", "my-cache"},
		{"Cache.Main", "cache-main"},
		{"1st", "x-1st"},
		{"_x_", "x"},
		{"---", "x"},
		{strings.Repeat("a", 70), strings.Repeat("a", 63)},
		{"a" + strings.Repeat("-", 70) + "b", "a"},
	}
	for _, tt := range tests {
		got := dnsLabel(tt.in)
		if got != tt.want {
			t.Errorf("dnsLabel(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if !validLabel(got) {
			t.Errorf("dnsLabel(%q) = %q, not a DNS label", tt.in, got)
		}
	}
}
