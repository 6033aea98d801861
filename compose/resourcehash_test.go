package compose

import "testing"

func TestResourceHashes(t *testing.T) {
	base := Network{Name: "demo_front"}
	for _, tt := range []struct {
		name string
		n    Network
		same bool
	}{
		{"bridge is the default driver", Network{Name: "demo_front", Driver: "bridge"}, true},
		{"labels", Network{Name: "demo_front", Labels: map[string]string{"a": "b"}}, false},
		{"internal", Network{Name: "demo_front", Internal: true}, false},
	} {
		if got := NetworkHash(tt.n) == NetworkHash(base); got != tt.same {
			t.Errorf("%s: same hash = %v, want %v", tt.name, got, tt.same)
		}
	}
	vbase := Volume{Name: "demo_data"}
	if VolumeHash(Volume{Name: "demo_data", Driver: "local"}) != VolumeHash(vbase) {
		t.Errorf("local is the default volume driver: hashes differ")
	}
	if VolumeHash(Volume{Name: "demo_data", Labels: map[string]string{"a": "b"}}) == VolumeHash(vbase) {
		t.Errorf("a volume's labels do not change its hash")
	}
}
