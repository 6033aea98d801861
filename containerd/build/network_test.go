package build

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseNetworkMode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want NetworkMode
	}{
		{"", NetworkDefault}, {"default", NetworkDefault}, {"host", NetworkHost}, {"none", NetworkNone},
	} {
		if got, err := ParseNetworkMode(tc.in); err != nil || got != tc.want {
			t.Errorf("ParseNetworkMode(%q) = %q, %v, want %q", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"bridge", "HOST", "mynet", "container:x"} {
		if got, err := ParseNetworkMode(in); err == nil {
			t.Errorf("ParseNetworkMode(%q) = %q, want an error", in, got)
		}
	}
}

// testBuild is a build with a fake network and /etc writer.
func testBuild(t *testing.T, nw Network) (*build, *[][]string) {
	t.Helper()
	var written [][]string
	b := &Builder{cfg: Config{Network: nw, EtcDir: t.TempDir(), WriteEtc: func(dir string, ns []string) error {
		written = append(written, ns)
		return os.WriteFile(filepath.Join(dir, "resolv.conf"), []byte("nameserver "+strings.Join(ns, " ")+"\n"), 0o644)
	}}}
	return &build{b: b, owner: BuildOwner{PID: 1, Start: 2, Build: "abc"}}, &written
}

func TestBuildNetworkMadeOnceAndReleased(t *testing.T) {
	nw := &fakeNetwork{}
	bd, written := testBuild(t, nw)
	ctx := context.Background()
	for i := 0; i < 3; i++ { // every RUN step of the build shares it
		ns, dir, err := bd.network(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ns != "/run/netns/berth-build-1-2-abc" || dir != filepath.Join(bd.b.cfg.EtcDir, "1-2-abc") {
			t.Errorf("network() = %q, %q", ns, dir)
		}
	}
	if !slices.Equal(nw.created, []string{"1-2-abc"}) || len(*written) != 1 || !slices.Equal((*written)[0], []string{"10.89.0.1"}) {
		t.Errorf("created %v, /etc written %v; want one network and one resolv.conf naming its nameserver", nw.created, *written)
	}
	if err := bd.releaseNetwork(ctx); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(nw.removed, []string{"1-2-abc"}) {
		t.Errorf("removed %v, want the build's network", nw.removed)
	}
	if _, err := os.Stat(filepath.Join(bd.b.cfg.EtcDir, "1-2-abc")); !os.IsNotExist(err) {
		t.Errorf("the build's /etc dir is left: %v", err)
	}
	if err := bd.releaseNetwork(ctx); err != nil || len(nw.removed) != 1 {
		t.Errorf("a second release: %v, removed %v; want nothing more done", err, nw.removed)
	}
}

func TestBuildNetworkNotMade(t *testing.T) {
	ctx := context.Background()
	t.Run("no RUN step needed it", func(t *testing.T) {
		nw := &fakeNetwork{}
		bd, _ := testBuild(t, nw)
		if err := bd.releaseNetwork(ctx); err != nil || len(nw.removed) != 0 {
			t.Errorf("release of a network never made: %v, removed %v", err, nw.removed)
		}
	})
	t.Run("making it fails", func(t *testing.T) {
		nw := &fakeNetwork{createErr: errors.New("no free subnet")}
		bd, _ := testBuild(t, nw)
		for i := 0; i < 2; i++ {
			if _, _, err := bd.network(ctx); err == nil || !strings.Contains(err.Error(), "no free subnet") {
				t.Errorf("network() = %v, want the failure", err)
			}
		}
		if err := bd.releaseNetwork(ctx); err != nil || len(nw.removed) != 0 {
			t.Errorf("release after a failed make: %v, removed %v", err, nw.removed)
		}
	})
	t.Run("writing /etc fails", func(t *testing.T) {
		nw := &fakeNetwork{}
		bd, _ := testBuild(t, nw)
		bd.b.cfg.WriteEtc = func(string, []string) error { return errors.New("disk full") }
		if _, _, err := bd.network(ctx); err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("network() = %v, want the failure", err)
		}
		if err := bd.releaseNetwork(ctx); err != nil || !slices.Equal(nw.removed, nw.created) || len(nw.created) != 1 {
			t.Errorf("release after a failed /etc: %v, created %v, removed %v; want the network removed", err, nw.created, nw.removed)
		}
	})
	t.Run("not configured", func(t *testing.T) {
		bd, _ := testBuild(t, nil)
		bd.b.cfg.Network = nil
		if _, _, err := bd.network(ctx); err == nil || !strings.Contains(err.Error(), "--network=host") {
			t.Errorf("network() without a Network = %v, want an error naming the alternatives", err)
		}
	})
}
