package platform

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "linux/arm64", want: "linux/arm64"},
		{in: "linux/arm64/v8", want: "linux/arm64"},
		{in: "linux/aarch64", want: "linux/arm64"},
		{in: "arm64", want: "linux/arm64"},
		{in: "linux/arm/v7", want: "linux/arm/v7"},
		{in: "linux/arm", want: "linux/arm/v7"},
		{in: "linux/armhf", want: "linux/arm/v7"},
		{in: "linux/amd64", want: "linux/amd64"},
		{in: "linux/x86_64", want: "linux/amd64"},
		{in: "Linux/AMD64", want: "linux/amd64"},
		{in: " linux/riscv64 ", want: "linux/riscv64"},
		{in: "", err: `invalid platform ""`},
		{in: "linux//", err: `invalid platform "linux//"`},
		{in: "linux/arm64/v8/x", err: `invalid platform`},
		{in: "linux/*", err: `invalid platform`},
		{in: "linux/bogus", err: `unknown platform "linux/bogus"`},
		{in: "linux/amd46", err: `unknown platform "linux/amd46"`},
		{in: "linux/mips64", err: `unknown platform "linux/mips64"`},
		{in: "foo/bar", err: `unsupported platform "foo/bar"`},
		{in: "windows/amd64", err: `unsupported platform "windows/amd64": berth runs linux containers only`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			p, err := Parse(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "linux/arm/v7") || strings.Contains(err.Error(), "\n") {
					t.Fatalf("Parse(%q) = %v, %v; want one line with %q and an example", tc.in, p, err, tc.err)
				}
				return
			}
			if err != nil || Format(p) != tc.want {
				t.Fatalf("Parse(%q) = %v, %v; want %s", tc.in, Format(p), err, tc.want)
			}
		})
	}
}

func TestParseList(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "linux/arm64", want: "linux/arm64"},
		{in: "linux/amd64, linux/arm64,linux/arm/v7", want: "linux/amd64 linux/arm64 linux/arm/v7"},
		{in: "linux/arm64,linux/aarch64", err: "platform linux/arm64 is given twice"},
		{in: "linux/amd64,", err: `invalid platform ""`},
		{in: "linux/amd64,linux/bogus", err: `unknown platform "linux/bogus"`},
	} {
		ps, err := ParseList(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseList(%q) = %v, %v; want an error with %q", tc.in, ps, err, tc.err)
			}
			continue
		}
		var got []string
		for _, p := range ps {
			got = append(got, Format(p))
		}
		if err != nil || strings.Join(got, " ") != tc.want {
			t.Errorf("ParseList(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// binfmtDir writes a fake binfmt_misc directory: status (none when ""),
// and a handler file per name with its content.
func binfmtDir(t *testing.T, status string, handlers map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{"register": ""}
	if status != "" {
		files["status"] = status + "\n"
	}
	for k, v := range handlers {
		files[k] = v
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestRuns(t *testing.T) {
	amd64 := ocispec.Platform{OS: "linux", Architecture: "amd64"}
	arm64 := ocispec.Platform{OS: "linux", Architecture: "arm64"}
	armv7 := ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}
	riscv := ocispec.Platform{OS: "linux", Architecture: "riscv64"}
	debian := "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: POF\noffset 0\n"
	for _, tc := range []struct {
		name     string
		host     ocispec.Platform
		status   string
		handlers map[string]string
		p        ocispec.Platform
		want     Runnable
	}{
		{name: "native needs nothing", host: amd64, p: amd64, want: Native},
		{name: "386 runs natively on amd64", host: amd64, p: ocispec.Platform{OS: "linux", Architecture: "386"}, want: Native},
		{name: "arm/v7 runs natively on arm64", host: arm64, p: armv7, want: Native},
		{name: "arm64/v8 is arm64", host: arm64, p: ocispec.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}, want: Native},
		{name: "debian handler", host: amd64, status: "enabled", handlers: map[string]string{"qemu-aarch64": debian}, p: arm64, want: Emulated},
		{name: "no status file", host: amd64, handlers: map[string]string{"qemu-aarch64": debian}, p: arm64, want: Emulated},
		{name: "handler by interpreter", host: amd64, status: "enabled", handlers: map[string]string{"aarch64": "enabled\ninterpreter /usr/bin/qemu-aarch64-static\nflags: F\n"}, p: arm64, want: Emulated},
		{name: "disabled handler", host: amd64, status: "enabled", handlers: map[string]string{"qemu-aarch64": strings.Replace(debian, "enabled", "disabled", 1)}, p: arm64},
		{name: "binfmt_misc disabled", host: amd64, status: "disabled", handlers: map[string]string{"qemu-aarch64": debian}, p: arm64},
		{name: "not mounted", host: amd64, p: arm64},
		{name: "other arch only", host: amd64, status: "enabled", handlers: map[string]string{"qemu-aarch64": debian}, p: armv7},
		{name: "arm handler", host: amd64, status: "enabled", handlers: map[string]string{"qemu-arm": "enabled\ninterpreter /usr/libexec/qemu-binfmt/arm-binfmt-P\n"}, p: armv7, want: Emulated},
		{name: "no handler", host: amd64, status: "enabled", p: riscv},
		{name: "amd64 on an arm64 box", host: arm64, handlers: map[string]string{"qemu-x86_64": "enabled\n"}, p: amd64, want: Emulated},
		{name: "not linux", host: amd64, handlers: map[string]string{"qemu-aarch64": debian}, p: ocispec.Platform{OS: "windows", Architecture: "arm64"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := binfmtDir(t, tc.status, tc.handlers)
			if tc.status == "" && tc.handlers == nil {
				dir = filepath.Join(dir, "missing")
			}
			e := Emulation{Host: tc.host, BinfmtDir: dir}
			if got := e.Runs(tc.p); got != tc.want {
				t.Fatalf("Runs(%s) = %v, want %v", Format(tc.p), got, tc.want)
			}
			err := e.Check(tc.p, "building for")
			if tc.want != NotRunnable {
				if err != nil {
					t.Fatalf("Check(%s) = %v, want nil", Format(tc.p), err)
				}
				return
			}
			want := "building for " + Format(tc.p) + " on this " + Format(tc.host) + " host needs qemu user emulation: run scripts/install-deps.sh, or apt-get install qemu-user-static and register binfmt_misc handlers (no enabled qemu-"
			if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), dir) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Check(%s) = %v, want one line starting %q naming %s", Format(tc.p), err, want, dir)
			}
		})
	}
}

func TestCheckNamesTheHandler(t *testing.T) {
	e := Emulation{Host: ocispec.Platform{OS: "linux", Architecture: "amd64"}, BinfmtDir: t.TempDir()}
	for p, handler := range map[string]string{"linux/arm64": "qemu-aarch64", "linux/arm/v7": "qemu-arm", "linux/mips64le": "qemu-mips64el"} {
		pp, err := Parse(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Check(pp, "running"); err == nil || !strings.Contains(err.Error(), "no enabled "+handler+" handler") {
			t.Errorf("Check(%s) = %v, want it to name %s", p, err, handler)
		}
	}
}

func TestLocal(t *testing.T) {
	if got := Local("").BinfmtDir; got != DefaultBinfmtDir {
		t.Errorf("Local(\"\").BinfmtDir = %q, want %q", got, DefaultBinfmtDir)
	}
	t.Setenv(BinfmtDirEnv, "/fake")
	if e := LocalFromEnv(); e.BinfmtDir != "/fake" || Format(e.Host) != Format(Host()) {
		t.Errorf("LocalFromEnv() = %+v, want /fake and this host", e)
	}
}
