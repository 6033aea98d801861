package bundle

import (
	"fmt"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth/berth/platform"
)

// ParsePlatform parses and normalizes a bundle's platform as platform.Parse
// does ("linux/arm64", "linux/arm/v7"); "" is the host's. It returns the
// platform's canonical string, as the manifest records it.
func ParsePlatform(s string) (string, error) {
	if s == "" {
		return platform.Format(platform.Host()), nil
	}
	p, err := platform.Parse(s)
	if err != nil {
		return "", err
	}
	return platform.Format(p), nil
}

// Runnable tells whether a box runs images of platform target: natively
// (emulated false), under qemu user emulation (emulated true), or not at
// all (the error says how to enable emulation, or to make the bundle for
// the box's platform). e is the box's host platform and binfmt_misc.
func Runnable(target string, e platform.Emulation) (emulated bool, err error) {
	p, err := platform.Parse(target)
	if err != nil {
		return false, err
	}
	switch e.Runs(p) {
	case platform.Native:
		return false, nil
	case platform.Emulated:
		return true, nil
	}
	return false, fmt.Errorf("%w; or make the bundle with --platform %s", e.Check(p, "running a bundle for"), platform.Format(e.Host))
}

// indexPlatform is the platform an index entry of the bundle's OCI layout
// records for an image of platform s (nil when s is not one).
func indexPlatform(s string) *ocispec.Platform {
	p, err := platform.Parse(s)
	if err != nil {
		return nil
	}
	return &p
}
