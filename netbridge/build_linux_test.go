package netbridge

import (
	"context"
	"net/netip"
	"slices"
	"testing"
)

// TestBuildNetworksList: the build networks in the IPAM state are listed
// by build id; project networks, even one named like a build's, are not.
func TestBuildNetworksList(t *testing.T) {
	m := newTestIPAM(t)
	network, endpoint := buildNames("123-456-abc")
	if network != "berth-build-123-456-abc" || endpoint != "build-123-456-abc" {
		t.Errorf("buildNames = %q, %q", network, endpoint)
	}
	for _, a := range []struct{ network, project string }{
		{network, buildProject},
		{"p_default", "p"},
		{"berth-build-9-9-x", "berth-build"}, // a compose project's network
	} {
		if _, _, err := m.AllocateSubnet(a.network, a.project, false, nil); err != nil {
			t.Fatal(err)
		}
	}
	b := &BuildNetworks{bridges: &Bridges{IPAM: m}}
	ids, err := b.BuildNetworks(context.Background())
	if err != nil || !slices.Equal(ids, []string{"123-456-abc"}) {
		t.Errorf("BuildNetworks = %v, %v, want [123-456-abc]", ids, err)
	}
	// A project's down never reaches the build networks.
	if nets, _ := m.ProjectNetworks("p"); slices.Contains(nets, network) {
		t.Errorf("project p's networks %v hold the build's", nets)
	}
}

// TestBuildDNSClients: the forwarder of a build network answers its own
// subnet only, and knows no names of its own (everything is forwarded).
func TestBuildDNSClients(t *testing.T) {
	c := subnetClients(netip.MustParsePrefix("10.89.3.0/24"))
	for addr, want := range map[string]bool{"10.89.3.2": true, "10.89.4.2": false, "127.0.0.1": false} {
		if got := c.Known(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Known(%s) = %v, want %v", addr, got, want)
		}
	}
	if got := c.Lookup(netip.MustParseAddr("10.89.3.2"), "localhost."); got != nil {
		t.Errorf("Lookup = %v, want nothing", got)
	}
}
