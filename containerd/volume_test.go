package containerd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth/berth/compose"
)

func TestPrepareMounts(t *testing.T) {
	data := t.TempDir()
	c := &Client{dataDir: data}
	host := t.TempDir()
	os.MkdirAll(filepath.Join(data, "volumes", "ext", "_data"), 0o755)

	s := &compose.Service{Name: "app", Mounts: []compose.Mount{
		{Type: compose.MountVolume, Source: "demo_data", Target: "/data"},
		{Type: compose.MountVolume, Source: "nocopy", Target: "/nocopy", NoCopy: true},
		{Type: compose.MountVolume, Source: "ext", Target: "/ext", External: true, ReadOnly: true},
		{Type: compose.MountBind, Source: filepath.Join(host, "made"), Target: "/made", CreateHostPath: true},
		{Type: compose.MountTmpfs, Target: "/cache", TmpfsSize: 1024},
	}}
	mounts, fills, err := c.prepareMounts(s)
	if err != nil {
		t.Fatalf("prepareMounts: %v", err)
	}
	// New empty volumes are filled from the image, unless nocopy; the
	// external one is filled too, being empty.
	var filled []string
	for _, f := range fills {
		filled = append(filled, f.target)
	}
	if strings.Join(filled, ",") != "/data,/ext" {
		t.Errorf("fills %v, want /data and /ext", filled)
	}
	got := make([]string, len(mounts))
	for i, m := range mounts {
		got[i] = m.Type + " " + strings.TrimPrefix(m.Source, data) + " " + m.Destination + " " + strings.Join(m.Options, ",")
	}
	want := []string{
		"bind /volumes/demo_data/_data /data rbind,rprivate,rw",
		"bind /volumes/nocopy/_data /nocopy rbind,rprivate,rw",
		"bind /volumes/ext/_data /ext rbind,rprivate,ro",
		"bind " + filepath.Join(host, "made") + " /made rbind,rprivate,rw",
		"tmpfs tmpfs /cache nosuid,nodev,mode=1777,size=1024",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("mounts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, dir := range []string{filepath.Join(data, "volumes", "demo_data", "_data"), filepath.Join(host, "made")} {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			t.Errorf("%s was not created: %v", dir, err)
		}
	}

	errs := []struct {
		m    compose.Mount
		want string
	}{
		{compose.Mount{Type: compose.MountVolume, Source: "nope", Target: "/x", External: true}, `external volume "nope" does not exist`},
		{compose.Mount{Type: compose.MountBind, Source: filepath.Join(host, "missing"), Target: "/x"}, "does not exist: create it"},
	}
	for _, tt := range errs {
		_, _, err := c.prepareMounts(&compose.Service{Name: "app", Mounts: []compose.Mount{tt.m}})
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), `service "app"`) {
			t.Errorf("prepareMounts(%+v) = %v, want %q", tt.m, err, tt.want)
		}
	}
}
