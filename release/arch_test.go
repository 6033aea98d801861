package release

import "testing"

func TestHostArch(t *testing.T) {
	tests := []struct {
		machine, dpkg string
		want          Arch
		wantErr       bool
	}{
		{"x86_64", "", AMD64, false},
		{"aarch64", "", ARM64, false},
		{"armv7l", "", ARMv7, false},
		{"armv8l", "", ARMv7, false},
		{"x86_64", "amd64", AMD64, false},
		{"aarch64", "arm64", ARM64, false},
		{"aarch64", "armhf", ARMv7, false}, // 32-bit userland, 64-bit kernel
		{"armv6l", "", "", true},
		{"riscv64", "riscv64", "", true},
		{"x86_64", "i386", "", true},
	}
	for _, tt := range tests {
		got, err := HostArch(tt.machine, tt.dpkg)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("HostArch(%q, %q) = %q, %v; want %q, error %v", tt.machine, tt.dpkg, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseArch(t *testing.T) {
	tests := []struct {
		in   string
		want Arch
	}{
		{"amd64", AMD64}, {"linux/amd64", AMD64}, {"arm64", ARM64}, {"linux/arm64", ARM64},
		{"armv7", ARMv7}, {"linux/arm/v7", ARMv7}, {"armhf", ARMv7},
	}
	for _, tt := range tests {
		if got, err := ParseArch(tt.in); err != nil || got != tt.want {
			t.Errorf("ParseArch(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "i386", "linux/arm/v6", "s390x"} {
		if got, err := ParseArch(bad); err == nil {
			t.Errorf("ParseArch(%q) = %q, want an error", bad, got)
		}
	}
	for _, a := range Arches {
		if a.GOARCH() == "" || a.Platform() == "" || a.Debian() == "" {
			t.Errorf("%s lacks a Go, platform or Debian name", a)
		}
	}
}
