package compose

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/format"
	"github.com/compose-spec/compose-go/v2/types"
)

// LocalVolume is where the local driver's options put a named volume's
// data: by default a directory berth keeps; with driver_opts a host
// directory bound in (type: none, o: bind, device: PATH) or a tmpfs
// (type: tmpfs, o: size=...).
type LocalVolume struct {
	// Bind is the host directory holding the data ("" when berth's own).
	Bind string
	// Tmpfs: the volume is a tmpfs with TmpfsOptions (size=, mode=, uid=...).
	Tmpfs        bool
	TmpfsOptions []string
}

// Local reads a named volume's driver and driver_opts as Docker's local
// driver would, refusing what berth cannot do yet rather than ignoring it.
func (v Volume) Local() (LocalVolume, error) {
	if v.Driver != "" && v.Driver != "local" {
		return LocalVolume{}, fmt.Errorf("volume %q: driver %q is not supported: berth's volumes use the local driver (drop driver:, or use driver_opts type: none, o: bind, device: PATH)", v.Name, v.Driver)
	}
	if len(v.DriverOpts) == 0 {
		return LocalVolume{}, nil
	}
	for k := range v.DriverOpts {
		if k != "type" && k != "o" && k != "device" {
			return LocalVolume{}, fmt.Errorf("volume %q: driver_opts key %q is not one of the local driver's (type, o, device)", v.Name, k)
		}
	}
	typ, device := v.DriverOpts["type"], v.DriverOpts["device"]
	var opts []string
	for _, o := range strings.Split(v.DriverOpts["o"], ",") {
		if o = strings.TrimSpace(o); o != "" {
			opts = append(opts, o)
		}
	}
	switch {
	case typ == "tmpfs":
		if _, err := ParseTmpfsOptions(v.DriverOpts["o"]); err != nil {
			return LocalVolume{}, fmt.Errorf("volume %q: driver_opts o: %w", v.Name, err)
		}
		return LocalVolume{Tmpfs: true, TmpfsOptions: opts}, nil
	case typ == "none" && (slices.Contains(opts, "bind") || slices.Contains(opts, "rbind")):
		if device == "" || !filepath.IsAbs(device) {
			return LocalVolume{}, fmt.Errorf("volume %q: driver_opts device %q must be an absolute host path (as Docker's local driver wants)", v.Name, device)
		}
		return LocalVolume{Bind: filepath.Clean(device)}, nil
	}
	return LocalVolume{}, fmt.Errorf("volume %q: driver_opts type %q (o %q) is not supported yet: berth mounts local volumes of type none with o: bind, and tmpfs", v.Name, typ, v.DriverOpts["o"])
}

// ParseVolumes reads volumes given on the command line (run -v) in the
// short syntax: a host path (relative to the project directory, created
// when missing, as Docker does) or a named volume of the project.
func ParseVolumes(p *Project, specs []string) ([]Mount, error) {
	var out []Mount
	for _, spec := range specs {
		if err := checkVolumeSpec(spec); err != nil {
			return nil, err
		}
		v, err := format.ParseVolume(spec)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", spec, err)
		}
		if !path.IsAbs(v.Target) || path.Clean(v.Target) == "/" {
			return nil, fmt.Errorf("%q: the target %q must be an absolute path other than /, as in ./data:/data", spec, v.Target)
		}
		m := Mount{Target: v.Target, ReadOnly: v.ReadOnly}
		switch v.Type {
		case types.VolumeTypeBind:
			src := v.Source
			if strings.HasPrefix(src, "~/") {
				if home, err := os.UserHomeDir(); err == nil {
					src = filepath.Join(home, src[2:])
				}
			}
			if !filepath.IsAbs(src) {
				src = filepath.Join(p.WorkingDir, src)
			}
			m.Type, m.Source, m.CreateHostPath = MountBind, src, true
		case types.VolumeTypeVolume:
			if v.Source == "" {
				return nil, fmt.Errorf("%q: anonymous volumes are not supported yet: name one declared under volumes:, or give a host path", spec)
			}
			// One the services do not use is not in the model: it is the
			// project's volume of that name all the same.
			m.Type, m.Source = MountVolume, VolumeName(p.Name, v.Source)
			if top, ok := p.Volumes[v.Source]; ok {
				m.Source, m.External = top.Name, top.External
			}
		default:
			return nil, fmt.Errorf("%q: use SOURCE:TARGET[:ro] with a host path or a declared volume", spec)
		}
		out = append(out, m)
	}
	return out, nil
}
