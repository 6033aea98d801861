package dns

import (
	"net/netip"
	"slices"
	"testing"
)

// TestTableLinks checks that a link's alias resolves for the linking
// container only, to the addresses of the name it stands for.
func TestTableLinks(t *testing.T) {
	tab := NewTable()
	web, db, other := netip.MustParseAddr("10.89.0.2"), netip.MustParseAddr("10.89.0.3"), netip.MustParseAddr("10.89.0.4")
	tab.Set("p_default", netip.MustParsePrefix("10.89.0.0/24"), []Entry{
		{Addr: web, Names: []string{"web"}, Container: "p-web-1", Links: map[string]string{"Database": "db"}},
		{Addr: db, Names: []string{"db"}, Container: "p-db-1"},
		{Addr: other, Names: []string{"other"}, Container: "p-other-1"},
	})
	tests := []struct {
		name string
		src  netip.Addr
		q    string
		want []netip.Addr
	}{
		{"alias for the linking container", web, "database", []netip.Addr{db}},
		{"alias with a trailing dot", web, "DATABASE.", []netip.Addr{db}},
		{"target name still resolves", web, "db", []netip.Addr{db}},
		{"alias is the linking container's alone", other, "database", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tab.Lookup(tt.src, tt.q); !slices.Equal(got, tt.want) {
				t.Errorf("Lookup(%s, %q) = %v, want %v", tt.src, tt.q, got, tt.want)
			}
		})
	}
}
