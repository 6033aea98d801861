package build

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestParsePlatform(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "linux/arm64", want: "linux/arm64"},
		{in: "linux/arm64/v8", want: "linux/arm64"},
		{in: "linux/aarch64", want: "linux/arm64"},
		{in: "linux/arm/v7", want: "linux/arm/v7"},
		{in: "linux/arm", want: "linux/arm/v7"},
		{in: "linux/amd64", want: "linux/amd64"},
		{in: "Linux/AMD64", want: "linux/amd64"},
		{in: "", err: `invalid platform ""`},
		{in: "arm64", err: `invalid platform "arm64"`},
		{in: "linux/bogus", err: `unknown platform "linux/bogus"`},
		{in: "linux/mips64", err: `unknown platform "linux/mips64"`},
		{in: "windows/amd64", err: `unsupported platform "windows/amd64"`},
		{in: "linux/arm64/v8/x", err: `invalid platform`},
		{in: "linux/*", err: `invalid platform`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			p, err := ParsePlatform(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("ParsePlatform(%q) = %v, %v; want one line with %q", tc.in, p, err, tc.err)
				}
				return
			}
			if err != nil || platforms.Format(p) != tc.want {
				t.Fatalf("ParsePlatform(%q) = %v, %v; want %s", tc.in, platforms.Format(p), err, tc.want)
			}
		})
	}
}

// binfmtDir writes a fake binfmt_misc directory: status, and a handler
// file per name with its content.
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

func TestCheckEmulation(t *testing.T) {
	arm64 := ocispec.Platform{OS: "linux", Architecture: "arm64"}
	armv7 := ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}
	riscv := ocispec.Platform{OS: "linux", Architecture: "riscv64"}
	if HostPlatform().Architecture != "amd64" {
		t.Skip("the cases are written for an amd64 host")
	}
	debian := "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: POF\noffset 0\n"
	for _, tc := range []struct {
		name     string
		status   string
		handlers map[string]string
		p        ocispec.Platform
		ok       bool
	}{
		{name: "native needs nothing", p: HostPlatform(), ok: true},
		{name: "386 runs natively", p: ocispec.Platform{OS: "linux", Architecture: "386"}, ok: true},
		{name: "debian handler", status: "enabled", handlers: map[string]string{"qemu-aarch64": debian}, p: arm64, ok: true},
		{name: "handler by interpreter", status: "enabled", handlers: map[string]string{"aarch64": "enabled\ninterpreter /usr/bin/qemu-aarch64-static\nflags: F\n"}, p: arm64, ok: true},
		{name: "disabled handler", status: "enabled", handlers: map[string]string{"qemu-aarch64": strings.Replace(debian, "enabled", "disabled", 1)}, p: arm64},
		{name: "binfmt_misc disabled", status: "disabled", handlers: map[string]string{"qemu-aarch64": debian}, p: arm64},
		{name: "not mounted", p: arm64},
		{name: "other arch only", status: "enabled", handlers: map[string]string{"qemu-aarch64": debian}, p: armv7},
		{name: "arm handler", status: "enabled", handlers: map[string]string{"qemu-arm": "enabled\ninterpreter /usr/libexec/qemu-binfmt/arm-binfmt-P\n"}, p: armv7, ok: true},
		{name: "no handler", status: "enabled", p: riscv},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := binfmtDir(t, tc.status, tc.handlers)
			if tc.status == "" && tc.handlers == nil {
				dir = filepath.Join(dir, "missing")
			}
			err := CheckEmulation(dir, tc.p, "building for")
			if tc.ok {
				if err != nil {
					t.Fatalf("CheckEmulation(%s) = %v, want nil", platforms.Format(tc.p), err)
				}
				return
			}
			want := "building for " + platforms.Format(tc.p) + " on this linux/amd64 host needs qemu user emulation: run scripts/install-deps.sh"
			if err == nil || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("CheckEmulation(%s) = %v, want one line starting %q", platforms.Format(tc.p), err, want)
			}
		})
	}
}

func TestPlatformArgs(t *testing.T) {
	host := HostPlatform()
	got := platformArgs(ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"})
	want := map[string]string{
		"TARGETPLATFORM": "linux/arm/v7", "TARGETOS": "linux", "TARGETARCH": "arm", "TARGETVARIANT": "v7",
		"BUILDPLATFORM": platforms.Format(host), "BUILDOS": host.OS, "BUILDARCH": host.Architecture, "BUILDVARIANT": host.Variant,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("platformArgs(linux/arm/v7)[%s] = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("platformArgs gave %d args, want %d: %v", len(got), len(want), got)
	}
}

func TestParsePlatforms(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "linux/arm64", want: "linux/arm64"},
		{in: "linux/amd64, linux/arm64,linux/arm/v7", want: "linux/amd64 linux/arm64 linux/arm/v7"},
		{in: "linux/arm64,linux/aarch64", err: "platform linux/arm64 is given twice"},
		{in: "linux/amd64,", err: `invalid platform ""`},
		{in: "linux/amd64,linux/bogus", err: `unknown platform "linux/bogus"`},
	} {
		ps, err := ParsePlatforms(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParsePlatforms(%q) = %v, %v; want an error with %q", tc.in, ps, err, tc.err)
			}
			continue
		}
		var got []string
		for _, p := range ps {
			got = append(got, platforms.Format(p))
		}
		if err != nil || strings.Join(got, " ") != tc.want {
			t.Errorf("ParsePlatforms(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
