package netbridge

import (
	"net/netip"
	"strings"
	"testing"
)

func TestEntries(t *testing.T) {
	v := NetworkView{
		Addresses: map[string]netip.Addr{
			"demo-web-2": netip.MustParseAddr("10.89.0.3"),
			"demo-web-1": netip.MustParseAddr("10.89.0.2"),
			"demo-db-1":  netip.MustParseAddr("10.89.0.4"),
		},
		Names: map[string][]string{
			"demo-web-1": {"web", "www"},
			"demo-web-2": {"web", "www"},
			// demo-db-1 has no names recorded: it still answers to its container name.
		},
	}
	var got []string
	for _, e := range Entries(v) {
		got = append(got, e.Addr.String()+"="+strings.Join(e.Names, "+"))
	}
	want := "10.89.0.4=demo-db-1 10.89.0.2=demo-web-1+web+www 10.89.0.3=demo-web-2+web+www"
	if strings.Join(got, " ") != want {
		t.Errorf("Entries = %v, want %s", got, want)
	}
}
