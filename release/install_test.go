package release

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

var testManifest = Manifest{
	Version: "v1.0.0", Arch: ARM64, Containerd: "v2.4.2",
	Runc: "1.1.5+ds1-1+deb12u1", RuncDeb: sumA + " runc_1.1.5+ds1-1+deb12u1_arm64.deb", Needs: RuncNeeds,
}

// stageTest lays out a release of fake binaries and returns its directory
// and its archive (with a SHA256SUMS beside it).
func stageTest(t *testing.T, m Manifest) (dir, archive string) {
	t.Helper()
	bins := t.TempDir()
	in := Inputs{ContainerdConfig: []byte("version = 3\n")}
	for name, p := range map[string]*string{"berth": &in.Berth, "containerd": &in.Containerd, "shim": &in.Shim, "runc": &in.Runc} {
		*p = filepath.Join(bins, name)
		if err := os.WriteFile(*p, []byte("binary "+*p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dir, err := Stage(t.TempDir(), m, in)
	if err != nil {
		t.Fatalf("Stage: %v", err)
	}
	dist := t.TempDir()
	archive = filepath.Join(dist, m.ArchiveName())
	f, err := os.Create(archive)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteArchive(f, dir, time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	sum, err := FileSum(archive)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dist, SumsFile), Sums{m.ArchiveName(): sum}.Format(), 0o644) //nolint:errcheck // the install checks it
	return dir, archive
}

func TestStageLayout(t *testing.T) {
	dir, _ := stageTest(t, testManifest)
	if filepath.Base(dir) != "berth-v1.0.0-linux-arm64" {
		t.Errorf("release directory %s, want berth-v1.0.0-linux-arm64", filepath.Base(dir))
	}
	files, err := listFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"README", "SHA256SUMS", "install.sh", "release.json",
		"rootfs/etc/berth/containerd.toml",
		"rootfs/etc/systemd/system/berth.service",
		"rootfs/usr/local/bin/berth",
		"rootfs/usr/local/lib/berth/containerd-v2.4.2/containerd",
		"rootfs/usr/local/lib/berth/containerd-v2.4.2/containerd-shim-runc-v2",
		"rootfs/usr/local/lib/berth/containerd-v2.4.2/runc",
	}
	if !reflect.DeepEqual(files, want) {
		t.Errorf("layout:\n%s\nwant:\n%s", strings.Join(files, "\n"), strings.Join(want, "\n"))
	}
	for _, exe := range append([]string{ScriptFile}, prefixed(RootDir+"/", testManifest.Binaries())...) {
		if st, err := os.Stat(filepath.Join(dir, exe)); err != nil || st.Mode().Perm() != 0o755 {
			t.Errorf("%s is not executable (%v)", exe, err)
		}
	}
	unit, _ := os.ReadFile(filepath.Join(dir, RootDir, UnitPath))
	if !strings.Contains(string(unit), "ExecStart=/usr/local/lib/berth/containerd-v2.4.2/containerd --config /etc/berth/containerd.toml\n") {
		t.Errorf("unit does not start the installed containerd with berth's configuration:\n%s", unit)
	}
	readme, _ := os.ReadFile(filepath.Join(dir, ReadmeFile))
	if !strings.Contains(string(readme), "libc6 libseccomp2") {
		t.Errorf("README does not say which Debian packages the box needs:\n%s", readme)
	}
	b, _ := os.ReadFile(filepath.Join(dir, ManifestFile))
	if m, err := ParseManifest(b); err != nil || !reflect.DeepEqual(m, testManifest) {
		t.Errorf("release.json reads back as %+v, %v; want %+v", m, err, testManifest)
	}
}

func prefixed(p string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = p + n
	}
	return out
}

func TestInstall(t *testing.T) {
	dir, archive := stageTest(t, testManifest)
	for _, from := range []string{archive, dir} {
		t.Run(filepath.Base(from), func(t *testing.T) {
			root := t.TempDir()
			in := Installer{Root: root, Arch: ARM64}
			m, actions, err := in.Install(from)
			if err != nil {
				t.Fatalf("Install(%s): %v", from, err)
			}
			if m.Version != "v1.0.0" || len(actions) != 6 {
				t.Fatalf("Install = %+v, %v", m, actions)
			}
			for _, a := range actions {
				if !a.Changed {
					t.Errorf("%s: not written into an empty root", a.Path)
				}
			}
			got, _ := listFiles(root)
			want, _ := listFiles(filepath.Join(dir, RootDir))
			if !reflect.DeepEqual(got, want) {
				t.Errorf("root holds %q, want %q", got, want)
			}
			if st, err := os.Stat(filepath.Join(root, BerthPath)); err != nil || st.Mode().Perm() != 0o755 {
				t.Errorf("installed berth is not executable: %v", err)
			}
			// Again: nothing changes.
			_, again, err := in.Install(from)
			if err != nil {
				t.Fatalf("second Install: %v", err)
			}
			for _, a := range again {
				if a.Changed {
					t.Errorf("second Install rewrote %s", a.Path)
				}
			}
			// A changed file is put back; the rest is left.
			os.WriteFile(filepath.Join(root, BerthPath), []byte("old berth"), 0o755) //nolint:errcheck // checked below
			_, fix, err := in.Install(from)
			if err != nil {
				t.Fatal(err)
			}
			var changed []string
			for _, a := range fix {
				if a.Changed {
					changed = append(changed, a.Path)
				}
			}
			if !reflect.DeepEqual(changed, []string{"/" + BerthPath}) {
				t.Errorf("after berth changed, Install rewrote %q, want only /%s", changed, BerthPath)
			}
			if leftovers, _ := filepath.Glob(filepath.Join(root, "usr/local/bin/*berth*")); len(leftovers) != 1 {
				t.Errorf("temporary or old files left beside berth: %q", leftovers)
			}
		})
	}
}

func TestInstallRefuses(t *testing.T) {
	dir, archive := stageTest(t, testManifest)
	tampered := func(t *testing.T) string { // a copy of the release with runc altered
		t.Helper()
		cp := filepath.Join(t.TempDir(), filepath.Base(dir))
		files, _ := listFiles(dir)
		for _, f := range files {
			b, _ := os.ReadFile(filepath.Join(dir, f))
			writeFiles(t, cp, map[string]string{f: string(b)})
		}
		os.WriteFile(filepath.Join(cp, RootDir, testManifest.ContainerdDir(), "runc"), []byte("evil"), 0o755) //nolint:errcheck // the install tells
		return cp
	}
	corrupt := func(t *testing.T) string { // the archive with its SHA256SUMS, one byte changed
		t.Helper()
		d := t.TempDir()
		b, _ := os.ReadFile(archive)
		b[len(b)-20] ^= 0xff
		sums, _ := os.ReadFile(filepath.Join(filepath.Dir(archive), SumsFile))
		writeFiles(t, d, map[string]string{testManifest.ArchiveName(): string(b), SumsFile: string(sums)})
		return filepath.Join(d, testManifest.ArchiveName())
	}
	extra := func(t *testing.T) string {
		t.Helper()
		cp := tampered(t)
		os.WriteFile(filepath.Join(cp, RootDir, testManifest.ContainerdDir(), "runc"), mustRead(t, filepath.Join(dir, RootDir, testManifest.ContainerdDir(), "runc")), 0o755) //nolint:errcheck // the install tells
		writeFiles(t, cp, map[string]string{"rootfs/etc/cron.d/x": "* * * * * root evil"})
		return cp
	}
	tests := []struct {
		name    string
		from    func(*testing.T) string
		arch    Arch
		wantErr string
	}{
		{"other arch", func(*testing.T) string { return archive }, AMD64, "berth-v1.0.0-linux-arm64 is for arm64, but the machine is amd64: install berth-v1.0.0-linux-amd64.tar.gz"},
		{"altered file", tampered, ARM64, "rootfs/usr/local/lib/berth/containerd-v2.4.2/runc: checksum mismatch"},
		{"file not listed", extra, ARM64, "rootfs/etc/cron.d/x is not listed in SHA256SUMS"},
		{"archive checksum", corrupt, ARM64, "berth-v1.0.0-linux-arm64.tar.gz: checksum mismatch"},
		{"not a release", func(t *testing.T) string { return t.TempDir() }, ARM64, "is not a berth release"},
		{"missing", func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope.tar.gz") }, ARM64, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			_, _, err := Installer{Root: root, Arch: tt.arch}.Install(tt.from(t))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "\n") {
				t.Errorf("Install = %v, want one line with %q", err, tt.wantErr)
			}
			if left, _ := listFiles(root); len(left) != 0 {
				t.Errorf("a refused install wrote %q", left)
			}
		})
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestInstallRollsBack(t *testing.T) {
	_, archive := stageTest(t, testManifest)
	root := t.TempDir()
	// berth already installed, and a directory where containerd's runc must go.
	writeFiles(t, root, map[string]string{BerthPath: "old berth"})
	runc := filepath.Join(root, testManifest.ContainerdDir(), "runc")
	writeFiles(t, runc, map[string]string{"x": "a directory in the way"})
	_, _, err := Installer{Root: root, Arch: ARM64}.Install(archive)
	if err == nil || !strings.Contains(err.Error(), "install /"+testManifest.ContainerdDir()+"/runc") {
		t.Fatalf("Install over a directory = %v, want an error naming runc", err)
	}
	got, _ := listFiles(root)
	sort.Strings(got)
	want := []string{BerthPath, testManifest.ContainerdDir() + "/runc/x"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after a failed install the root holds %q, want only what was there %q", got, want)
	}
	if b, _ := os.ReadFile(filepath.Join(root, BerthPath)); string(b) != "old berth" {
		t.Errorf("berth = %q after a failed install, want the old one back", b)
	}
}

func TestEnableOffline(t *testing.T) {
	root := t.TempDir()
	for i, want := range []bool{true, false} {
		made, err := EnableOffline(root)
		if err != nil || made != want {
			t.Errorf("EnableOffline #%d = %v, %v; want %v", i+1, made, err, want)
		}
	}
	if target, err := os.Readlink(filepath.Join(root, WantsLink)); err != nil || target != "/etc/systemd/system/berth.service" {
		t.Errorf("link -> %q, %v", target, err)
	}
	other := t.TempDir()
	writeFiles(t, other, map[string]string{WantsLink: "not a link"})
	if _, err := EnableOffline(other); err == nil || !strings.Contains(err.Error(), "remove it") {
		t.Errorf("EnableOffline over a file = %v, want an error", err)
	}
}

// TestStageOptionalPrograms: a release with berth's probe agent or
// berth-shim (or both) has each beside berth, executable, among its
// binaries, listed in its README and installed beside berth; one without
// has none of them.
func TestStageOptionalPrograms(t *testing.T) {
	tests := []struct {
		name        string
		probe, shim bool
	}{
		{"none", false, false},
		{"probe agent", true, false},
		{"shim wrapper", false, true},
		{"both", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := testManifest
			m.ProbeAgent, m.ShimWrapper = tt.probe, tt.shim
			bins := t.TempDir()
			in := Inputs{ContainerdConfig: []byte("version = 3\n")}
			for name, p := range map[string]*string{"berth": &in.Berth, "containerd": &in.Containerd, "shim": &in.Shim, "runc": &in.Runc, "probe": &in.ProbeAgent, "berth-shim": &in.ShimWrapper} {
				*p = filepath.Join(bins, name)
				if err := os.WriteFile(*p, []byte("binary "+name), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			dir, err := Stage(t.TempDir(), m, in)
			if err != nil {
				t.Fatalf("Stage: %v", err)
			}
			root := t.TempDir()
			if _, _, err := (Installer{Root: root, Arch: m.Arch}).Install(dir); err != nil {
				t.Fatalf("Install: %v", err)
			}
			readme := string(mustRead(t, filepath.Join(dir, ReadmeFile)))
			for _, o := range []struct {
				with       bool
				path, want string
			}{
				{tt.probe, ProbeAgentPath, "binary probe"},
				{tt.shim, ShimWrapperPath, "binary berth-shim"},
			} {
				for _, where := range []string{filepath.Join(dir, RootDir), root} {
					p := filepath.Join(where, filepath.FromSlash(o.path))
					got, err := os.ReadFile(p)
					if o.with {
						if st, _ := os.Stat(p); err != nil || string(got) != o.want || st.Mode().Perm() != 0o755 {
							t.Errorf("%s holds %q, %v; want %q, executable", p, got, err, o.want)
						}
					} else if err == nil {
						t.Errorf("%s is there, but the release has none", p)
					}
				}
				if listed := slices.Contains(m.Binaries(), o.path); listed != o.with {
					t.Errorf("%s among the binaries %v: %v, want %v", o.path, m.Binaries(), listed, o.with)
				}
				if listed := strings.Contains(readme, "/"+o.path+" "); listed != o.with {
					t.Errorf("README lists /%s: %v, want %v:\n%s", o.path, listed, o.with, readme)
				}
			}
			back, err := ParseManifest(m.Marshal())
			if err != nil || back.ProbeAgent != tt.probe || back.ShimWrapper != tt.shim {
				t.Errorf("release.json round trip: %+v, %v", back, err)
			}
		})
	}
}

// TestInstallRefusesMissingShimWrapper: a release whose manifest says it
// has berth-shim but whose files lack it is incomplete.
func TestInstallRefusesMissingShimWrapper(t *testing.T) {
	m := testManifest
	dir, _ := stageTest(t, m)
	m.ShimWrapper = true
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), m.Marshal(), 0o644); err != nil {
		t.Fatal(err)
	}
	sums, err := SumDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, SumsFile), sums.Format(), 0o644); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	_, _, err = Installer{Root: root, Arch: m.Arch}.Install(dir)
	if err == nil || !strings.Contains(err.Error(), ShimWrapperPath+" is missing") {
		t.Errorf("Install = %v, want %s is missing", err, ShimWrapperPath)
	}
	if left, _ := listFiles(root); len(left) != 0 {
		t.Errorf("a refused install wrote %q", left)
	}
}
