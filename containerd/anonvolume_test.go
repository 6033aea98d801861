package containerd

import (
	"context"
	"maps"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth/berth/compose"
)

// TestAnonymousVolumeMounts checks that an anonymous mount is made as the
// volume the request names, labelled anonymous and the project's, and
// that a request naming none is refused.
func TestAnonymousVolumeMounts(t *testing.T) {
	data := t.TempDir()
	c := &Client{dataDir: data}
	p := &compose.Project{Name: "demo"}
	base := &compose.Service{Name: "db", Mounts: []compose.Mount{
		{Type: compose.MountBind, Source: data, Target: "/host"},
		{Type: compose.MountVolume, Anonymous: true, Target: "/var/lib/db"},
	}}
	name := strings.Repeat("ab", 32)
	s, err := withAnonVolumes(base, map[string]string{"/var/lib/db": name})
	if err != nil {
		t.Fatalf("withAnonVolumes: %v", err)
	}
	if base.Mounts[1].Source != "" {
		t.Errorf("withAnonVolumes changed the project's service: %+v", base.Mounts[1])
	}
	if got := anonVolumesOf(s); !maps.Equal(got, map[string]string{"/var/lib/db": name}) {
		t.Errorf("anonVolumesOf = %v", got)
	}
	mounts, _, _, err := c.prepareMounts(p, s)
	if err != nil {
		t.Fatalf("prepareMounts: %v", err)
	}
	if m := mounts[1]; m.Destination != "/var/lib/db" || m.Source != filepath.Join(data, "volumes", name, "_data") {
		t.Errorf("anonymous mount = %+v, want the volume %s", m, name)
	}
	vols, err := c.Volumes(context.Background())
	if err != nil || len(vols) != 1 {
		t.Fatalf("Volumes = %+v, %v; want the anonymous volume", vols, err)
	}
	want := compose.Labels{compose.LabelAnonymousVolume: "", compose.LabelProject: "demo"}
	if vols[0].Name != name || !maps.Equal(vols[0].Labels, want) {
		t.Errorf("volume %s labels %v, want %s with %v", vols[0].Name, vols[0].Labels, name, want)
	}
	if _, err := withAnonVolumes(base, nil); err == nil || !strings.Contains(err.Error(), "/var/lib/db") {
		t.Errorf("withAnonVolumes without a name = %v, want an error naming the target", err)
	}
	if got, err := withAnonVolumes(&compose.Service{Name: "web"}, nil); err != nil || got.Name != "web" {
		t.Errorf("withAnonVolumes of a service without anonymous volumes = %v, %v", got, err)
	}
}
