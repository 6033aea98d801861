package netbridge

import (
	"net"
	"testing"
)

// TestPinnedMAC: an older bridge keeps a unicast address it has; one with
// none (all zeros: its last port left) or a group address gets berth's.
func TestPinnedMAC(t *testing.T) {
	own := bridgeMAC("br-0123456789")
	if own[0]&0x01 != 0 || own[0]&0x02 == 0 {
		t.Fatalf("bridgeMAC = %s, want a unicast, locally administered address", own)
	}
	mac := func(s string) net.HardwareAddr {
		m, err := net.ParseMAC(s)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, tc := range []struct {
		current net.HardwareAddr
		want    net.HardwareAddr
	}{
		{mac("ce:ce:4e:58:96:ed"), mac("ce:ce:4e:58:96:ed")},
		{mac("00:00:00:00:00:00"), own},
		{mac("01:00:5e:00:00:01"), own},
		{nil, own},
	} {
		if got := pinnedMAC("br-0123456789", tc.current); got.String() != tc.want.String() {
			t.Errorf("pinnedMAC(%s) = %s, want %s", tc.current, got, tc.want)
		}
	}
}
