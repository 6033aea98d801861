package containerd

import "testing"

// TestNamespaceDirs: what is named by a container or volume name, unique
// only within a namespace, is kept apart per namespace; the default
// namespace keeps the paths berth always had.
func TestNamespaceDirs(t *testing.T) {
	tests := []struct {
		namespace, volume, fifo string
	}{
		{"", "/var/lib/berth/volumes/demo_data", "/run/berth/fifo/demo-web-1"},
		{"berth", "/var/lib/berth/volumes/demo_data", "/run/berth/fifo/demo-web-1"},
		{"other", "/var/lib/berth/namespaces/other/volumes/demo_data", "/run/berth/namespaces/other/fifo/demo-web-1"},
	}
	for _, tt := range tests {
		c := &Client{dataDir: "/var/lib/berth", runDir: "/run/berth", namespace: tt.namespace}
		if got := c.volumeDir("demo_data"); got != tt.volume {
			t.Errorf("namespace %q: volumeDir = %s, want %s", tt.namespace, got, tt.volume)
		}
		if got := c.fifoDir("demo-web-1"); got != tt.fifo {
			t.Errorf("namespace %q: fifoDir = %s, want %s", tt.namespace, got, tt.fifo)
		}
	}
}
