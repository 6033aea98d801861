package netbridge

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/berth/berth/compose"
)

func TestCheckSubnet(t *testing.T) {
	// The host routes 192.0.2.0/24 (its LAN) and has berth's own network
	// p_default on 10.89.0.0/24, whose bridge routes its subnet and has
	// local and broadcast routes in it.
	m := newTestIPAM(t, "192.0.2.0/24", "0.0.0.0/0", "127.0.0.0/8", "10.89.0.0/24", "10.89.0.1/32", "10.89.0.255/32")
	// p_default was made before its bridge added those routes.
	before := NewIPAM(m.path, m.pool, 24, func() ([]netip.Prefix, error) { return nil, nil })
	if _, _, err := before.AllocateSubnet("p_default", "p", false, &Subnet{Prefix: netip.MustParsePrefix("10.89.0.0/24")}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		network, subnet string
		want            string // "" for accepted, else a part of the error
	}{
		{"q_back", "172.28.0.0/16", ""},
		{"p_default", "10.89.0.0/24", ""}, // its own subnet, asked again
		{"q_back", "127.0.0.0/24", "subnet 127.0.0.0/24 is in the host's loopback range 127.0.0.0/8: choose a private range"},
		{"q_back", "126.0.0.0/7", "is in the host's loopback range 127.0.0.0/8"},
		{"q_back", "169.254.10.0/24", "is in the link-local range 169.254.0.0/16"},
		{"q_back", "224.1.0.0/16", "is in the multicast range 224.0.0.0/4"},
		{"q_back", "0.0.0.0/24", "is in the unspecified range 0.0.0.0/8"},
		{"q_back", "192.0.2.128/25", "overlaps the host's route to 192.0.2.0/24: choose a range the host does not use"},
		{"q_back", "192.0.0.0/16", "overlaps the host's route to 192.0.2.0/24"},
		{"q_back", "10.89.0.0/16", "overlaps network p_default's 10.89.0.0/24"},
		{"p_default", "10.89.7.0/24", "already has subnet 10.89.0.0/24"},
	}
	for _, tt := range tests {
		err := m.CheckSubnet(tt.network, netip.MustParsePrefix(tt.subnet))
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("CheckSubnet(%s, %s) = %v, want accepted", tt.network, tt.subnet, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("CheckSubnet(%s, %s) = %v, want an error saying %q", tt.network, tt.subnet, err, tt.want)
		}
		// AllocateSubnet refuses the same, and allocates nothing then.
		if tt.want != "" {
			before, _ := m.Subnets()
			if _, _, err := m.AllocateSubnet(tt.network, "q", false, &Subnet{Prefix: netip.MustParsePrefix(tt.subnet)}); err == nil {
				t.Errorf("AllocateSubnet(%s, %s) accepted what CheckSubnet refuses", tt.network, tt.subnet)
			}
			if after, _ := m.Subnets(); len(after) != len(before) {
				t.Errorf("AllocateSubnet(%s, %s) failed but allocated: %v", tt.network, tt.subnet, after)
			}
		}
	}
}

func TestAutomaticSubnetsAvoidReservedRanges(t *testing.T) {
	m := NewIPAM(t.TempDir()+"/ipam.json", netip.MustParsePrefix("169.254.0.0/15"), 16, func() ([]netip.Prefix, error) { return nil, nil })
	got, _, err := m.AllocateSubnet("p_default", "p", false, nil)
	if err != nil || got.Prefix.String() != "169.255.0.0/16" {
		t.Errorf("AllocateSubnet from a pool holding 169.254.0.0/16 = %v, %v; want 169.255.0.0/16", got.Prefix, err)
	}
}

func TestCheckProjectSubnets(t *testing.T) {
	m := newTestIPAM(t, "192.0.2.0/24")
	p := &compose.Project{
		Name:        "demo",
		ConfigFiles: []string{"/src/demo/compose.yaml"},
		Networks: map[string]compose.Network{
			"front": {Name: "demo_front", Subnet: netip.MustParsePrefix("172.28.0.0/16")},
			"back":  {Name: "demo_back", Subnet: netip.MustParsePrefix("127.0.0.0/24")},
			"lan":   {Name: "demo_lan", Subnet: netip.MustParsePrefix("192.0.2.0/26")},
			"ext":   {Name: "shared", External: true, Subnet: netip.MustParsePrefix("127.0.0.0/24")},
			"auto":  {Name: "demo_auto"},
		},
	}
	tests := []struct {
		keys []string
		want string
	}{
		{[]string{"auto", "ext", "front"}, ""},
		{[]string{"back", "front"}, `network "back": ipam subnet 127.0.0.0/24 (networks.back.ipam.config in compose.yaml) is in the host's loopback range 127.0.0.0/8: choose a private range such as 172.16.0.0/12, 192.168.0.0/16 or 10.0.0.0/8`},
		{[]string{"front", "lan"}, `network "lan": ipam subnet 192.0.2.0/26 (networks.lan.ipam.config in compose.yaml) overlaps the host's route to 192.0.2.0/24: choose a range the host does not use`},
	}
	for _, tt := range tests {
		err := m.CheckProjectSubnets(p, tt.keys)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("CheckProjectSubnets(%v) = %q, want %q", tt.keys, got, tt.want)
		}
	}
	if subnets, _ := m.Subnets(); len(subnets) != 0 {
		t.Errorf("checking allocated %v", subnets)
	}
}
