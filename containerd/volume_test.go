package containerd

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cfs "github.com/containerd/continuity/fs"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/scheduler"
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
		{Type: compose.MountTmpfs, Target: "/private", TmpfsOptions: "mode=700,uid=1000,noexec", ReadOnly: true},
	}}
	mounts, fills, _, err := c.prepareMounts(nil, s)
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
		"tmpfs tmpfs /private nosuid,nodev,mode=700,uid=1000,noexec,ro",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("mounts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The volumes directory existed with 0755 (made so by an older berth,
	// here by the test): only root may go through it now.
	if st, err := os.Stat(filepath.Join(data, "volumes")); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("volumes directory: %v, %v; want mode 0700", st.Mode(), err)
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
		_, _, _, err := c.prepareMounts(nil, &compose.Service{Name: "app", Mounts: []compose.Mount{tt.m}})
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), `service "app"`) {
			t.Errorf("prepareMounts(%+v) = %v, want %q", tt.m, err, tt.want)
		}
	}
}

func TestVolumesMetadata(t *testing.T) {
	data := t.TempDir()
	c := &Client{dataDir: data}
	p := &compose.Project{Name: "demo", Volumes: map[string]compose.Volume{
		"data": {Name: "demo_data", Labels: map[string]string{"backup": "daily"}},
		"ext":  {Name: "shared", External: true},
	}}
	s := &compose.Service{Name: "app", Mounts: []compose.Mount{{Type: compose.MountVolume, Source: "demo_data", Target: "/data"}}}
	before := time.Now().Add(-time.Second)
	if _, _, _, err := c.prepareMounts(p, s); err != nil {
		t.Fatalf("prepareMounts: %v", err)
	}
	// A volume an older berth made: no metadata.
	if err := os.MkdirAll(filepath.Join(data, "volumes", "demo_old", "_data"), 0o755); err != nil {
		t.Fatal(err)
	}
	vols, err := c.Volumes(context.Background())
	if err != nil {
		t.Fatalf("Volumes: %v", err)
	}
	if len(vols) != 2 {
		t.Fatalf("Volumes = %+v, want demo_data and demo_old", vols)
	}
	v := vols[0]
	wantLabels := compose.Labels{"backup": "daily", compose.LabelProject: "demo", compose.LabelVolume: "data", compose.LabelConfigHash: compose.VolumeHash(p.Volumes["data"])}
	if v.Name != "demo_data" || v.Driver != "local" || v.Mountpoint != filepath.Join(data, "volumes", "demo_data", "_data") ||
		!maps.Equal(v.Labels, wantLabels) || v.CreatedAt.Before(before) {
		t.Errorf("Volumes()[0] = %+v, want demo_data with labels %v, made now", v, wantLabels)
	}
	if old := vols[1]; old.Name != "demo_old" || old.Labels != nil || old.CreatedAt.IsZero() {
		t.Errorf("Volumes()[1] = %+v, want demo_old without labels, with its directory's time", old)
	}

	// Mounting it again keeps its metadata.
	meta := filepath.Join(data, "volumes", "demo_data", volumeMetaFile)
	first, _ := os.ReadFile(meta)
	if _, _, _, err := c.prepareMounts(p, s); err != nil {
		t.Fatalf("prepareMounts again: %v", err)
	}
	if again, _ := os.ReadFile(meta); string(again) != string(first) {
		t.Errorf("metadata rewritten:\n%s\nwas:\n%s", again, first)
	}

	// A file that does not parse is named.
	if err := os.WriteFile(meta, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Volumes(context.Background()); err == nil || !strings.Contains(err.Error(), meta) {
		t.Errorf("Volumes with a broken %s = %v, want an error naming it", meta, err)
	}
}

func TestMountedVolumes(t *testing.T) {
	c := &Client{dataDir: "/var/lib/berth"}
	mounts := []specs.Mount{
		bindMount("/var/lib/berth/volumes/demo_data/_data", "/data", false),
		bindMount("/var/lib/berth/volumes/demo_logs/_data", "/logs", true),
		bindMount("/srv/conf", "/conf", true),
		bindMount("/var/lib/berth/volumes/demo_data/_data/sub", "/sub", false),
		bindMount("/var/lib/berth/containers/berth/demo-app-1/hosts", "/etc/hosts", false),
		{Destination: "/cache", Type: "tmpfs", Source: "tmpfs"},
	}
	if got := c.mountedVolumes(mounts); strings.Join(got, ",") != "demo_data,demo_logs" {
		t.Errorf("mountedVolumes = %v, want demo_data, demo_logs", got)
	}
}

func TestFillVolume(t *testing.T) {
	// copyFrom copies as the real fill does; failing writes a file and fails.
	copyFrom := func(dst, src string) error { return cfs.CopyDir(dst, src) }
	failing := func(dst, _ string) error {
		os.WriteFile(filepath.Join(dst, "half"), []byte("x"), 0o644)
		return errors.New("disk full")
	}
	tests := []struct {
		name     string
		existing bool // the volume holds a file already
		target   string
		copyDir  func(dst, src string) error
		wantErr  string
		want     string // the volume's files
	}{
		{name: "empty volume is filled", target: "/etc/app", copyDir: copyFrom, want: "conf"},
		{name: "filled volume is left as it is", existing: true, target: "/etc/app", copyDir: copyFrom, want: "mine"},
		{name: "path the image lacks leaves it empty", target: "/nope", copyDir: copyFrom, want: ""},
		{name: "failed copy empties it again", target: "/etc/app", copyDir: failing, wantErr: "disk full", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, vol := t.TempDir(), t.TempDir()
			os.MkdirAll(filepath.Join(root, "etc", "app"), 0o755)
			os.WriteFile(filepath.Join(root, "etc", "app", "conf"), []byte("image"), 0o644)
			if tt.existing {
				os.WriteFile(filepath.Join(vol, "mine"), []byte("user"), 0o644)
			}
			c := &Client{}
			err := c.fillVolume(root, volumeFill{dir: vol, target: tt.target}, tt.copyDir)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("fillVolume() = %v, want error %q", err, tt.wantErr)
			}
			if got := dirNames(t, vol); got != tt.want {
				t.Errorf("volume holds %q, want %q", got, tt.want)
			}
		})
	}
}

// TestFillVolumeShared fills one volume for several containers at once, each
// from its own image: one copy is made, of one image's content, whole, and
// no fill fails.
func TestFillVolumeShared(t *testing.T) {
	vol := t.TempDir()
	c := &Client{}
	const n = 8
	var copies atomic.Int32
	copyDir := func(dst, src string) error {
		copies.Add(1)
		return cfs.CopyDir(dst, src)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, n)
	for i := range n {
		root := t.TempDir()
		os.MkdirAll(filepath.Join(root, "data", "sub"), 0o755)
		for _, f := range []string{"a", "sub/b"} {
			os.WriteFile(filepath.Join(root, "data", f), []byte(strconv.Itoa(i)), 0o644)
		}
		if !c.needsFill(vol) { // as each Create's prepareMounts sees it, before any fill
			t.Fatalf("needsFill(empty volume) = false")
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = c.fillVolume(root, volumeFill{dir: vol, target: "/data"}, copyDir)
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("fill %d: %v", i, err)
		}
	}
	a, _ := os.ReadFile(filepath.Join(vol, "a"))
	b, _ := os.ReadFile(filepath.Join(vol, "sub", "b"))
	if len(a) == 0 || string(a) != string(b) {
		t.Errorf("volume holds a=%q, sub/b=%q: want both from the same image", a, b)
	}
	if got := copies.Load(); got != 1 {
		t.Errorf("the volume was copied into %d times, want once", got)
	}
}

func dirNames(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return strings.Join(names, ",")
}

func TestPrepareFilesErrors(t *testing.T) {
	blocked := filepath.Join(t.TempDir(), "file")
	os.WriteFile(blocked, nil, 0o644)
	tests := []struct {
		name string
		dir  string
		f    compose.FileMount
		want string
	}{
		{name: "missing file", dir: t.TempDir(), f: compose.FileMount{Kind: "secret", Name: "token", File: "/nonexistent/token", Target: "/run/secrets/token"},
			want: `service "app": secret "token": file /nonexistent/token`},
		{name: "directory not made", dir: blocked, f: compose.FileMount{Kind: "config", Name: "conf", Content: "x", Target: "/conf", Mode: -1, UID: -1, GID: -1},
			want: `service "app": config "conf": mkdir`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := prepareFiles(&compose.Service{Name: "app", Files: []compose.FileMount{tt.f}}, tt.dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("prepareFiles() = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// TestReleaseVolumes checks that a failed command takes back the volumes
// its client made, and only those nothing uses: not one that existed, not
// one a creation in progress uses, not one a container mounts, whichever
// creation made it.
func TestReleaseVolumes(t *testing.T) {
	data := t.TempDir()
	var containers []scheduler.Container
	c := &Client{dataDir: data, listContainers: func(context.Context) ([]scheduler.Container, error) {
		return containers, nil
	}}
	os.MkdirAll(filepath.Join(data, "volumes", "old", "_data"), 0o755)
	svc := func(names ...string) *compose.Service {
		s := &compose.Service{Name: "app"}
		for _, n := range names {
			s.Mounts = append(s.Mounts, compose.Mount{Type: compose.MountVolume, Source: n, Target: "/" + n, NoCopy: true})
		}
		return s
	}
	release := func(when, want string) {
		t.Helper()
		if err := c.ReleaseVolumes(context.Background()); err != nil {
			t.Fatalf("%s: ReleaseVolumes: %v", when, err)
		}
		if got := dirNames(t, filepath.Join(data, "volumes")); got != want {
			t.Errorf("%s: volumes = %s, want %s", when, got, want)
		}
	}
	// A makes mine and shared; B starts using shared.
	_, _, a, err := c.prepareMounts(nil, svc("old", "mine", "shared"))
	if err != nil {
		t.Fatal(err)
	}
	_, _, b, err := c.prepareMounts(nil, svc("shared"))
	if err != nil {
		t.Fatal(err)
	}
	release("while A and B are being created", "mine,old,shared")
	// A fails while B is still being created: B's use keeps shared.
	c.releaseVolumes(a)
	release("A failed, B in progress", "old,shared")
	// B is made: its container mounts shared, which A made.
	containers = []scheduler.Container{{Name: "b", State: scheduler.StateCreated, Volumes: []string{"shared"}}}
	c.releaseVolumes(b)
	release("A failed, B's container exists", "old,shared")
	// B's container goes: shared is A's, and unused.
	containers = nil
	release("B's container removed", "old")
	// A creation that fails half-way through its mounts ends its uses;
	// the volume it made goes with ReleaseVolumes.
	_, _, _, err = c.prepareMounts(nil, &compose.Service{Name: "app", Mounts: []compose.Mount{
		{Type: compose.MountVolume, Source: "half", Target: "/half"},
		{Type: compose.MountBind, Source: filepath.Join(data, "missing"), Target: "/x"},
	}})
	if err == nil {
		t.Fatal("prepareMounts with a missing bind source succeeded")
	}
	release("after a failed prepareMounts", "old")
	if len(c.volumeUsers) != 0 || len(c.volumesMade) != 0 {
		t.Errorf("left counted: users %v, made %v", c.volumeUsers, c.volumesMade)
	}
	// A volume another client (command) made is never this one's to take.
	os.MkdirAll(filepath.Join(data, "volumes", "theirs", "_data"), 0o755)
	release("another's volume", "old,theirs")
}

// TestReadVolumeRemoved: a volume removed between the listing of the
// volumes directory and the reading of one entry (another project's
// down -v at the same time) is left out, not an error that fails the
// caller's up.
func TestReadVolumeRemoved(t *testing.T) {
	data := t.TempDir()
	c := &Client{dataDir: data}
	if _, ok, err := c.readVolume("gone"); ok || err != nil {
		t.Errorf("readVolume of a removed volume = %v, %v; want not there, no error", ok, err)
	}
	if err := os.MkdirAll(filepath.Join(data, "volumes", "kept", "_data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := c.readVolume("kept"); !ok || err != nil || v.Name != "kept" || v.CreatedAt.IsZero() {
		t.Errorf("readVolume of a volume without metadata = %+v, %v, %v", v, ok, err)
	}
}
