package systemd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeSystemctl records its commands and fails the one named in failOn.
type fakeSystemctl struct {
	ran    []string
	failOn string
}

func (f *fakeSystemctl) Run(_ context.Context, args ...string) error {
	cmd := strings.Join(args, " ")
	if cmd == f.failOn {
		return errors.New("systemctl " + cmd + ": failed")
	}
	f.ran = append(f.ran, cmd)
	return nil
}

func testUnit() Unit {
	return Unit{Project: "demo", Berth: "/usr/local/bin/berth", Files: []string{"/srv/demo/compose.yaml"}, ProjectDir: "/srv/demo"}
}

func joined(cmds [][]string) string {
	var out []string
	for _, c := range cmds {
		out = append(out, strings.Join(c, " "))
	}
	return strings.Join(out, "; ")
}

func TestInstall(t *testing.T) {
	u := testUnit()
	want, err := u.Render()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		old     string // the unit file before, "" for none
		now     bool
		failOn  string
		ran     string
		err     string
		content string // the unit file after, "" for none
	}{
		{"new", "", false, "", "daemon-reload; enable berth-demo.service", "", want},
		{"new, started", "", true, "", "daemon-reload; enable berth-demo.service; start berth-demo.service", "", want},
		{"changed", "old unit\n", false, "", "daemon-reload; enable berth-demo.service", "", want},
		{"unchanged", want, false, "", "daemon-reload; enable berth-demo.service", "", want},
		{"enable fails: rolled back", "", false, "enable berth-demo.service", "daemon-reload; daemon-reload", "enable berth-demo.service: failed", ""},
		{"enable fails: old unit back", "old unit\n", false, "enable berth-demo.service", "daemon-reload; daemon-reload", "failed", "old unit\n"},
		{"start fails: stays installed", "", true, "start berth-demo.service", "daemon-reload; enable berth-demo.service", "installed and enabled, but it did not start", want},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "berth-demo.service")
			if tt.old != "" {
				if err := os.WriteFile(path, []byte(tt.old), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			sc := &fakeSystemctl{failOn: tt.failOn}
			res, err := Installer{Dir: dir, Systemctl: sc}.Install(context.Background(), u, tt.now)
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("Install = %v, want error %q", err, tt.err)
			}
			if got := strings.Join(sc.ran, "; "); got != tt.ran {
				t.Errorf("ran %q, want %q", got, tt.ran)
			}
			if res.Changed != (tt.old != want) || res.Path != path || res.ToRun != nil {
				t.Errorf("Install = %+v", res)
			}
			b, err := os.ReadFile(path)
			if string(b) != tt.content || (tt.content == "" && !os.IsNotExist(err)) {
				t.Errorf("unit file after: %q (%v), want %q", b, err, tt.content)
			}
			if entries, _ := os.ReadDir(dir); len(entries) > 1 {
				t.Errorf("files left in the unit directory: %v", entries)
			}
		})
	}
}

func TestInstallWithoutSystemd(t *testing.T) {
	dir := t.TempDir()
	res, err := Installer{Dir: dir}.Install(context.Background(), testUnit(), true)
	if err != nil {
		t.Fatalf("Install: %v", err)
	}
	if got := joined(res.ToRun); got != "daemon-reload; enable berth-demo.service; start berth-demo.service" || res.Ran != nil || !res.Changed {
		t.Errorf("Install without systemd = %+v, want the commands to run by hand", res)
	}
	if st, err := os.Stat(res.Path); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("unit file: %v, %v", st, err)
	}

	if _, err := (Installer{Dir: filepath.Join(dir, "nope")}).Install(context.Background(), testUnit(), false); err == nil || !strings.Contains(err.Error(), "unit directory "+filepath.Join(dir, "nope")) {
		t.Errorf("Install into a missing directory = %v", err)
	}
	if _, err := (Installer{Dir: res.Path}).Install(context.Background(), testUnit(), false); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("Install into a file = %v", err)
	}
}

func TestUninstall(t *testing.T) {
	tests := []struct {
		name   string
		sc     *fakeSystemctl
		now    bool
		ran    string
		toRun  string
		err    string
		remain bool
	}{
		{"systemd", &fakeSystemctl{}, false, "disable berth-demo.service; daemon-reload", "", "", false},
		{"systemd, stopped", &fakeSystemctl{}, true, "stop berth-demo.service; disable berth-demo.service; daemon-reload", "", "", false},
		{"disable fails: kept", &fakeSystemctl{failOn: "disable berth-demo.service"}, false, "", "", "failed", true},
		{"no systemd", nil, true, "", "stop berth-demo.service; daemon-reload", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			in := Installer{Dir: dir}
			if tt.sc != nil {
				in.Systemctl = tt.sc
			}
			if _, err := (Installer{Dir: dir}).Install(context.Background(), testUnit(), false); err != nil {
				t.Fatal(err)
			}
			// As systemctl enable links it.
			wants := filepath.Join(dir, "multi-user.target.wants")
			os.Mkdir(wants, 0o755)
			if err := os.Symlink(filepath.Join(dir, "berth-demo.service"), filepath.Join(wants, "berth-demo.service")); err != nil {
				t.Fatal(err)
			}
			res, err := in.Uninstall(context.Background(), "demo", tt.now)
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("Uninstall = %v, want error %q", err, tt.err)
			}
			if tt.sc != nil && strings.Join(tt.sc.ran, "; ") != tt.ran {
				t.Errorf("ran %q, want %q", strings.Join(tt.sc.ran, "; "), tt.ran)
			}
			if joined(res.ToRun) != tt.toRun {
				t.Errorf("to run %q, want %q", joined(res.ToRun), tt.toRun)
			}
			if _, err := os.Stat(res.Path); os.IsNotExist(err) == tt.remain {
				t.Errorf("unit file there: %v, want %v", err == nil, tt.remain)
			}
			if tt.sc == nil {
				if _, err := os.Lstat(filepath.Join(wants, "berth-demo.service")); !os.IsNotExist(err) || len(res.Removed) != 1 {
					t.Errorf("enablement link left (%v), removed %v", err, res.Removed)
				}
			}
		})
	}
	if _, err := (Installer{Dir: t.TempDir()}).Uninstall(context.Background(), "demo", false); err == nil || !strings.Contains(err.Error(), "no unit berth-demo.service") {
		t.Errorf("Uninstall of no unit = %v", err)
	}
}
