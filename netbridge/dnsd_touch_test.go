package netbridge

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

// event encodes one inotify event as the kernel does.
func event(mask uint32, name string) []byte {
	n := (len(name) + 1 + 15) / 16 * 16
	b := make([]byte, unix.SizeofInotifyEvent+n)
	binary.NativeEndian.PutUint32(b[4:], mask)
	binary.NativeEndian.PutUint32(b[12:], uint32(n))
	copy(b[unix.SizeofInotifyEvent:], name)
	return b
}

func TestTouches(t *testing.T) {
	lock := event(unix.IN_CLOSE_WRITE, "ipam.json.lock")
	tmp := event(unix.IN_CLOSE_WRITE, "ipam.json.tmp")
	state := event(unix.IN_MOVED_TO, "ipam.json")
	tests := []struct {
		name string
		buf  []byte
		want bool
	}{
		{"lock file closed", lock, false},
		{"temp file written", append(append([]byte{}, lock...), tmp...), false},
		{"state renamed into place", append(append([]byte{}, lock...), state...), true},
		{"overflow", event(unix.IN_Q_OVERFLOW, ""), true},
	}
	for _, tt := range tests {
		if got := touches(tt.buf, "ipam.json"); got != tt.want {
			t.Errorf("%s: touches = %v, want %v", tt.name, got, tt.want)
		}
	}
}
