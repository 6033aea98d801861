package netbridge

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestStateEvents: every change of the IPAM state raises an event the DNS
// daemon watches for, and reading the state (as its reload does) raises
// none, so that the daemon never wakes itself up.
func TestStateEvents(t *testing.T) {
	m := newTestIPAM(t)
	if _, _, err := m.AllocateSubnet("p_default", "p", false, nil); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if _, err := unix.InotifyAddWatch(fd, filepath.Dir(m.path), stateEvents); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		op        func() error
		wantEvent bool
	}{
		{"Networks", func() error { _, err := m.Networks(); return err }, false},
		{"Subnets", func() error { _, err := m.Subnets(); return err }, false},
		{"ProjectNetworks", func() error { _, err := m.ProjectNetworks("p"); return err }, false},
		{"ContainerNetworks", func() error { _, err := m.ContainerNetworks("p-web-1"); return err }, false},
		{"Ports", func() error { _, err := m.Ports("p-web-1"); return err }, false},
		{"CheckPorts", func() error { return m.CheckPorts("p", nil) }, false},
		{"AllocateSubnet again", func() error { _, _, err := m.AllocateSubnet("p_default", "p", false, nil); return err }, false},
		{"AllocateAddress", func() error {
			_, _, err := m.AllocateAddress("p_default", "p-web-1", netip.Addr{}, []string{"web"})
			return err
		}, true},
		{"ReleaseAddress", func() error { return m.ReleaseAddress("p_default", "p-web-1") }, true},
		{"ReleaseAddress again", func() error { return m.ReleaseAddress("p_default", "p-web-1") }, false},
		{"ReleasePorts of none", func() error { return m.ReleasePorts("p-web-1") }, false},
		{"ContainerHoldings", func() error { _, err := m.ContainerHoldings("p-web-1"); return err }, false},
		{"ReleaseContainer of one holding nothing", func() error { return m.ReleaseContainer("p-web-1", []string{"p_default"}) }, false},
		{"AllocateAddress for ReleaseContainer", func() error {
			_, _, err := m.AllocateAddress("p_default", "p-web-1", netip.Addr{}, []string{"web"})
			return err
		}, true},
		{"ReleaseContainer", func() error { return m.ReleaseContainer("p-web-1", []string{"p_default"}) }, true},
		{"ReleaseSubnet", func() error { return m.ReleaseSubnet("p_default") }, true},
		{"state removed", func() error { return os.Remove(m.path) }, true},
		{"Networks of no state", func() error { _, err := m.Networks(); return err }, false},
	}
	buf := make([]byte, 4096)
	for _, tt := range tests {
		if err := tt.op(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		// inotify queues events in the system call that causes them: they
		// are there to read as soon as op returns (a raw read, as the Go
		// poller would wait on an empty non-blocking descriptor).
		n, err := unix.Read(fd, buf)
		if err != nil && !errors.Is(err, unix.EAGAIN) {
			t.Fatalf("%s: read events: %v", tt.name, err)
		}
		if got := n > 0; got != tt.wantEvent {
			t.Errorf("%s: raised a watched event = %v, want %v", tt.name, got, tt.wantEvent)
		}
	}
}
