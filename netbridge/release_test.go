package netbridge

import (
	"net/netip"
	"reflect"
	"testing"

	"github.com/berth/berth/compose"
)

// TestReleaseContainer: a container's ports (and their released mark) and
// its addresses on the networks given go in one change; what others hold,
// and its address on a network not given (its veth stayed), are kept.
func TestReleaseContainer(t *testing.T) {
	tests := []struct {
		name     string
		networks []string // those ReleaseContainer is given
		want     Holdings // of p-web-1 after it
	}{
		{"every network", []string{"p_back", "p_front"}, Holdings{}},
		{"one veth stayed", []string{"p_front"}, Holdings{Networks: []string{"p_back"}}},
		{"no network", nil, Holdings{Networks: []string{"p_back", "p_front"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestIPAM(t)
			for _, n := range []string{"p_front", "p_back"} {
				if _, _, err := m.AllocateSubnet(n, "p", false, nil); err != nil {
					t.Fatal(err)
				}
				for _, c := range []string{"p-web-1", "p-db-1"} {
					if _, _, err := m.AllocateAddress(n, c, netip.Addr{}, []string{c}); err != nil {
						t.Fatal(err)
					}
				}
			}
			ports := []compose.PortMapping{{HostIP: netip.MustParseAddr("127.0.0.1"), ContainerPort: 80, Protocol: "tcp"}}
			for _, c := range []string{"p-web-1", "p-db-1"} {
				if _, err := m.AllocatePorts(c, netip.MustParseAddr("10.89.0.2"), ports); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := m.stopPorts("p-web-1"); err != nil {
				t.Fatal(err)
			}
			if h, err := m.ContainerHoldings("p-web-1"); err != nil || !h.Ports || len(h.Networks) != 2 {
				t.Fatalf("ContainerHoldings before = %+v, %v; want ports on two networks", h, err)
			}

			if err := m.ReleaseContainer("p-web-1", tt.networks); err != nil {
				t.Fatalf("ReleaseContainer: %v", err)
			}
			got, err := m.ContainerHoldings("p-web-1")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ContainerHoldings after ReleaseContainer(%v) = %+v, want %+v", tt.networks, got, tt.want)
			}
			if stopped, err := m.readStopped(); err != nil || len(stopped) != 0 {
				t.Errorf("released set after = %v, %v; want empty", stopped, err)
			}
			views, err := m.Networks()
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range tt.networks {
				if _, ok := views[n].Names["p-web-1"]; ok {
					t.Errorf("network %s still names p-web-1", n)
				}
			}
			if h, err := m.ContainerHoldings("p-db-1"); err != nil || !h.Ports || len(h.Networks) != 2 {
				t.Errorf("ContainerHoldings(p-db-1) after = %+v, %v; want its ports and both addresses kept", h, err)
			}
		})
	}
}
