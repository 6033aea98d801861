package netbridge

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func newTestIPAM(t *testing.T, routes ...string) *IPAM {
	t.Helper()
	var prefixes []netip.Prefix
	for _, r := range routes {
		prefixes = append(prefixes, netip.MustParsePrefix(r))
	}
	path := filepath.Join(t.TempDir(), "ipam.json")
	return NewIPAM(path, netip.MustParsePrefix("10.89.0.0/16"), 24, func() ([]netip.Prefix, error) { return prefixes, nil })
}

func TestAllocateSubnet(t *testing.T) {
	m := newTestIPAM(t, "10.89.1.0/24", "0.0.0.0/0", "10.89.3.128/25")
	tests := []struct {
		network, want string
	}{
		{"a_default", "10.89.0.0/24"},
		{"b_default", "10.89.2.0/24"}, // 10.89.1.0/24 is a host route
		{"a_default", "10.89.0.0/24"}, // the same network gets the same subnet
		{"c_default", "10.89.4.0/24"}, // 10.89.3.0/24 overlaps a host route
	}
	for _, tt := range tests {
		got, _, err := m.AllocateSubnet(tt.network, "p", false, nil)
		if err != nil {
			t.Fatalf("AllocateSubnet(%s): %v", tt.network, err)
		}
		if got.Prefix.String() != tt.want || got.Gateway != got.Prefix.Addr().Next() {
			t.Errorf("AllocateSubnet(%s) = %+v, want %s with gateway .1", tt.network, got, tt.want)
		}
	}

	// Release, then the block is reused.
	if err := m.ReleaseSubnet("b_default"); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := m.AllocateSubnet("d_default", "p", false, nil); got.Prefix.String() != "10.89.2.0/24" {
		t.Errorf("after release, AllocateSubnet = %s, want the freed 10.89.2.0/24", got.Prefix)
	}

	// Persistence: a new IPAM on the same file sees the same allocations.
	again := NewIPAM(m.path, m.pool, 24, m.hostRoutes)
	subnets, err := again.Subnets()
	if err != nil {
		t.Fatal(err)
	}
	if len(subnets) != 3 || subnets["c_default"].Prefix.String() != "10.89.4.0/24" {
		t.Errorf("Subnets from the state file = %v", subnets)
	}
}

func TestAllocateSubnetRequested(t *testing.T) {
	m := newTestIPAM(t)
	want := Subnet{Prefix: netip.MustParsePrefix("172.30.0.0/16"), Gateway: netip.MustParseAddr("172.30.0.254")}
	got, _, err := m.AllocateSubnet("custom", "p", false, &want)
	if err != nil || got != want {
		t.Fatalf("AllocateSubnet(requested) = %+v, %v; want %+v", got, err, want)
	}
	noGateway := Subnet{Prefix: netip.MustParsePrefix("172.31.5.0/24")}
	if got, _, _ := m.AllocateSubnet("nogw", "p", false, &noGateway); got.Gateway.String() != "172.31.5.1" {
		t.Errorf("gateway defaulted to %s, want 172.31.5.1", got.Gateway)
	}
	clash := Subnet{Prefix: netip.MustParsePrefix("172.30.8.0/24")}
	if _, _, err := m.AllocateSubnet("clash", "p", false, &clash); err == nil || !strings.Contains(err.Error(), "overlaps network custom") {
		t.Errorf("overlapping request = %v, want an error naming network custom", err)
	}
	other := Subnet{Prefix: netip.MustParsePrefix("172.29.0.0/24")}
	if _, _, err := m.AllocateSubnet("custom", "p", false, &other); err == nil || !strings.Contains(err.Error(), "already has subnet") {
		t.Errorf("changing an allocated subnet = %v, want an error", err)
	}
	// Automatic subnets avoid requested ones in the pool too.
	inPool := Subnet{Prefix: netip.MustParsePrefix("10.89.0.0/23")}
	if _, _, err := m.AllocateSubnet("inpool", "p", false, &inPool); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := m.AllocateSubnet("auto", "p", false, nil); got.Prefix.String() != "10.89.2.0/24" {
		t.Errorf("automatic subnet = %s, want 10.89.2.0/24 after the requested 10.89.0.0/23", got.Prefix)
	}
}

func TestPoolExhausted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ipam.json")
	m := NewIPAM(path, netip.MustParsePrefix("10.89.0.0/23"), 24, func() ([]netip.Prefix, error) { return nil, nil })
	for i := 0; i < 2; i++ {
		if _, _, err := m.AllocateSubnet(fmt.Sprint("n", i), "p", false, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := m.AllocateSubnet("n2", "p", false, nil); err == nil || !strings.Contains(err.Error(), "no free /24") {
		t.Errorf("third /24 of a /23 = %v, want an error", err)
	}
}

func TestAllocateAddress(t *testing.T) {
	m := newTestIPAM(t)
	want := Subnet{Prefix: netip.MustParsePrefix("10.1.2.0/29")}
	if _, _, err := m.AllocateSubnet("net", "p", false, &want); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range []string{"a", "b", "a"} {
		a, _, err := m.AllocateAddress("net", c, netip.Addr{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		got[c] = a.String()
	}
	if got["a"] != "10.1.2.2" || got["b"] != "10.1.2.3" {
		t.Errorf("addresses = %v, want a=.2 b=.3 (.1 is the gateway, a keeps its address)", got)
	}
	fixed, _, err := m.AllocateAddress("net", "c", netip.MustParseAddr("10.1.2.6"), nil)
	if err != nil || fixed.String() != "10.1.2.6" {
		t.Errorf("requested address = %s, %v", fixed, err)
	}
	for _, tt := range []struct{ addr, want string }{
		{"10.1.2.6", "taken by c"},
		{"10.1.2.1", "taken by the gateway"},
		{"10.9.9.9", "not in network net's subnet"},
	} {
		if _, _, err := m.AllocateAddress("net", "d", netip.MustParseAddr(tt.addr), nil); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("AllocateAddress(%s) = %v, want %q", tt.addr, err, tt.want)
		}
	}
	// .4 and .5 are left; .7 is the broadcast address.
	for _, c := range []string{"d", "e"} {
		if _, _, err := m.AllocateAddress("net", c, netip.Addr{}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := m.AllocateAddress("net", "f", netip.Addr{}, nil); err == nil || !strings.Contains(err.Error(), "no free address") {
		t.Errorf("full subnet = %v, want an error", err)
	}
	if err := m.ReleaseAddress("net", "b"); err != nil {
		t.Fatal(err)
	}
	if a, _, _ := m.AllocateAddress("net", "f", netip.Addr{}, nil); a.String() != "10.1.2.3" {
		t.Errorf("after release, f got %s, want the freed 10.1.2.3", a)
	}
	if _, _, err := m.AllocateAddress("nonet", "x", netip.Addr{}, nil); err == nil {
		t.Errorf("address on an unknown network: no error")
	}
}

// TestConcurrentAllocation allocates from many goroutines, each with its own
// IPAM on the same file, as concurrent berth processes do: no two networks
// may get the same subnet.
func TestConcurrentAllocation(t *testing.T) {
	m := newTestIPAM(t)
	var wg sync.WaitGroup
	results := make([]Subnet, 20)
	errs := make([]error, 20)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			own := NewIPAM(m.path, m.pool, 24, m.hostRoutes)
			results[i], _, errs[i] = own.AllocateSubnet(fmt.Sprint("net", i), "p", false, nil)
		}()
	}
	wg.Wait()
	seen := map[netip.Prefix]int{}
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("net%d: %v", i, errs[i])
		}
		if j, dup := seen[r.Prefix]; dup {
			t.Errorf("net%d and net%d both got %s", i, j, r.Prefix)
		}
		seen[r.Prefix] = i
	}
}

func TestLastAddr(t *testing.T) {
	for _, tt := range []struct{ p, want string }{
		{"10.89.3.0/24", "10.89.3.255"},
		{"10.0.0.0/8", "10.255.255.255"},
		{"192.168.1.64/26", "192.168.1.127"},
	} {
		if got := lastAddr(netip.MustParsePrefix(tt.p)); got.String() != tt.want {
			t.Errorf("lastAddr(%s) = %s, want %s", tt.p, got, tt.want)
		}
	}
}

func TestProjectAndContainerNetworks(t *testing.T) {
	m := newTestIPAM(t)
	for _, n := range [][2]string{{"a_default", "a"}, {"a_back", "a"}, {"b_default", "b"}} {
		if _, _, err := m.AllocateSubnet(n[0], n[1], false, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := m.ProjectNetworks("a"); strings.Join(got, ",") != "a_back,a_default" {
		t.Errorf("ProjectNetworks(a) = %v", got)
	}
	m.AllocateAddress("a_default", "a-web-1", netip.Addr{}, nil)
	m.AllocateAddress("a_back", "a-web-1", netip.Addr{}, nil)
	m.AllocateAddress("a_back", "a-db-1", netip.Addr{}, nil)
	if got, _ := m.ContainerNetworks("a-web-1"); strings.Join(got, ",") != "a_back,a_default" {
		t.Errorf("ContainerNetworks(a-web-1) = %v", got)
	}
	if got, _ := m.ContainerNetworks("nobody"); len(got) != 0 {
		t.Errorf("ContainerNetworks(nobody) = %v", got)
	}
}

func TestProjectNetworkInfo(t *testing.T) {
	m := newTestIPAM(t)
	for _, n := range []string{"demo_front", "demo_back"} {
		if _, _, err := m.AllocateSubnet(n, "demo", false, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := m.AllocateSubnet("other_net", "other", false, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"demo-web-2", "demo-web-1"} {
		if _, _, err := m.AllocateAddress("demo_front", c, netip.Addr{}, nil); err != nil {
			t.Fatal(err)
		}
	}
	got, err := m.ProjectNetworkInfo("demo")
	if err != nil {
		t.Fatal(err)
	}
	want := []NetworkInfo{{Name: "demo_back"}, {Name: "demo_front", Containers: []string{"demo-web-1", "demo-web-2"}}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("ProjectNetworkInfo(demo) = %v, want %v", got, want)
	}
}
