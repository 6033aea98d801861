package build

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/berth/berth/hostproc"
)

// fakeProc is a proc directory with one process per pid: its stat line
// with the given start time.
func fakeProc(t *testing.T, starts map[int]uint64) hostproc.Dir {
	t.Helper()
	dir := t.TempDir()
	for pid, start := range starts {
		if err := os.MkdirAll(filepath.Join(dir, fmt.Sprint(pid)), 0o755); err != nil {
			t.Fatal(err)
		}
		stat := fmt.Sprintf("%d (berth) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 %d 1000 10", pid, start)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprint(pid), "stat"), []byte(stat), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return hostproc.Dir(dir)
}

func TestParseBuildOwner(t *testing.T) {
	o := BuildOwner{PID: 4242, Start: 98765, Build: "0a1b2c3d4e5f6789"}
	if got, err := ParseBuildOwner(o.String()); err != nil || got != o {
		t.Errorf("ParseBuildOwner(%q) = %+v, %v, want %+v", o.String(), got, err, o)
	}
	for _, s := range []string{"", "4242", "4242-98765", "4242-98765-", "x-98765-ab", "0-98765-ab", "-1-2-ab", "4242-x-ab", "berth.build-cache"} {
		if got, err := ParseBuildOwner(s); err == nil {
			t.Errorf("ParseBuildOwner(%q) = %+v, want an error", s, got)
		}
	}
}

func TestOwnerAlive(t *testing.T) {
	proc := fakeProc(t, map[int]uint64{100: 500})
	if err := os.MkdirAll(filepath.Join(string(proc), "300"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(string(proc), "300", "stat"), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		owner BuildOwner
		want  bool
	}{
		{"running", BuildOwner{PID: 100, Start: 500, Build: "a"}, true},
		{"pid reused by another process", BuildOwner{PID: 100, Start: 499, Build: "a"}, false},
		{"gone", BuildOwner{PID: 200, Start: 500, Build: "a"}, false},
		{"unreadable: kept", BuildOwner{PID: 300, Start: 500, Build: "a"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.owner.Alive(proc); got != tc.want {
				t.Errorf("Alive(%v) = %v, want %v", tc.owner, got, tc.want)
			}
			if got := stale(proc, tc.owner.String()); got != !tc.want {
				t.Errorf("stale(%q) = %v, want %v", tc.owner, got, !tc.want)
			}
		})
	}
	if stale(proc, "not-an-owner") {
		t.Errorf("stale of a name that is no owner's = true, want false")
	}
}

func TestNewOwnerIsAlive(t *testing.T) {
	o, err := newOwner(hostproc.Host)
	if err != nil {
		t.Fatal(err)
	}
	if o.PID != os.Getpid() || !o.Alive(hostproc.Host) {
		t.Errorf("newOwner = %+v: not this running process", o)
	}
	if o2, _ := newOwner(hostproc.Host); o2 == o {
		t.Errorf("two builds of one process got the same owner %v", o)
	}
}

// fakeNetwork is a build.Network that records what it is asked.
type fakeNetwork struct {
	ids               []string
	created, removed  []string
	createErr, remErr error
}

func (f *fakeNetwork) CreateBuildNetwork(_ context.Context, id string) (string, []string, error) {
	if f.createErr != nil {
		return "", nil, f.createErr
	}
	f.created = append(f.created, id)
	f.ids = append(f.ids, id)
	return "/run/netns/berth-build-" + id, []string{"10.89.0.1"}, nil
}

func (f *fakeNetwork) RemoveBuildNetwork(_ context.Context, id string) error {
	f.removed = append(f.removed, id)
	f.ids = slices.DeleteFunc(f.ids, func(s string) bool { return s == id })
	return f.remErr
}

func (f *fakeNetwork) BuildNetworks(context.Context) ([]string, error) {
	return append([]string{}, f.ids...), nil
}

func TestReapHost(t *testing.T) {
	proc := fakeProc(t, map[int]uint64{100: 500})
	alive := BuildOwner{PID: 100, Start: 500, Build: "a"}.String()
	dead := BuildOwner{PID: 100, Start: 400, Build: "b"}.String()
	gone := BuildOwner{PID: 200, Start: 500, Build: "c"}.String()
	nw := &fakeNetwork{ids: []string{alive, dead, gone, "other"}}
	fifo, etc := t.TempDir(), t.TempDir()
	for _, dir := range []string{fifo, etc} {
		for _, name := range []string{alive, dead, gone, "other"} {
			if err := os.MkdirAll(filepath.Join(dir, name, "x"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	b := &Builder{cfg: Config{Network: nw, FIFODir: fifo, EtcDir: etc}, proc: proc}
	if err := b.reapHost(context.Background()); err != nil {
		t.Fatal(err)
	}
	sort.Strings(nw.removed)
	if want := []string{dead, gone}; !slices.Equal(nw.removed, want) {
		t.Errorf("networks removed = %v, want %v", nw.removed, want)
	}
	for _, dir := range []string{fifo, etc} {
		var left []string
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			left = append(left, e.Name())
		}
		if want := []string{alive, "other"}; !slices.Equal(left, want) {
			t.Errorf("%s after reap = %v, want %v", dir, left, want)
		}
	}

	nw.remErr = errors.New("bridge busy")
	nw.ids = []string{gone}
	if err := b.reapHost(context.Background()); err == nil || !errors.Is(err, nw.remErr) {
		t.Errorf("reapHost with a failing removal = %v, want it reported", err)
	}
}
