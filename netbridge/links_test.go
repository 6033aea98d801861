package netbridge

import (
	"reflect"
	"testing"
)

// TestLinkNames checks that links survive the trip through a container's
// kept names, and that its other names are left as they are.
func TestLinkNames(t *testing.T) {
	links := map[string]string{"database": "db", "cache": "redis"}
	kept := append([]string{"web", "www"}, linkNames(links)...)
	if want := []string{"web", "www", "cache>redis", "database>db"}; !reflect.DeepEqual(kept, want) {
		t.Fatalf("kept names = %q, want %q", kept, want)
	}
	names, got := splitLinks(kept)
	if !reflect.DeepEqual(names, []string{"web", "www"}) || !reflect.DeepEqual(got, links) {
		t.Errorf("splitLinks(%q) = %q, %v; want [web www], %v", kept, names, got, links)
	}
	if names, got := splitLinks([]string{"web"}); got != nil || len(names) != 1 {
		t.Errorf("splitLinks without links = %q, %v", names, got)
	}
}
