package containerd

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth/berth/compose"
)

// volumeData is the directory a named volume's content lives in.
func (c *Client) volumeData(name string) string {
	return filepath.Join(c.volumeDir(name), "_data")
}

// prepareMounts makes the sources of a service's mounts exist (named
// volumes are created on first use, as Docker does; a short-syntax bind
// source is created, a long-syntax one must exist) and returns the OCI
// mounts. Named volumes start empty: filling them from the image's content
// at that path is not done yet.
func (c *Client) prepareMounts(s *compose.Service) ([]specs.Mount, error) {
	var out []specs.Mount
	for _, m := range s.Mounts {
		switch m.Type {
		case compose.MountVolume:
			dir := c.volumeData(m.Source)
			if m.External {
				if _, err := os.Stat(dir); err != nil {
					return nil, fmt.Errorf("service %q: external volume %q does not exist (looked for %s): create it first, or drop external: true", s.Name, m.Source, dir)
				}
			} else if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, fmt.Errorf("service %q: create volume %q: %w", s.Name, m.Source, err)
			}
			out = append(out, bindMount(dir, m.Target, m.ReadOnly))
		case compose.MountBind:
			if _, err := os.Stat(m.Source); os.IsNotExist(err) {
				if !m.CreateHostPath {
					return nil, fmt.Errorf("service %q: bind mount source %s does not exist: create it, or set bind.create_host_path: true", s.Name, m.Source)
				}
				if err := os.MkdirAll(m.Source, 0o755); err != nil {
					return nil, fmt.Errorf("service %q: create bind mount source %s: %w", s.Name, m.Source, err)
				}
			} else if err != nil {
				return nil, fmt.Errorf("service %q: bind mount source %s: %w", s.Name, m.Source, err)
			}
			out = append(out, bindMount(m.Source, m.Target, m.ReadOnly))
		case compose.MountTmpfs:
			opts := []string{"nosuid", "nodev", "mode=1777"}
			if m.ReadOnly {
				opts = append(opts, "ro")
			}
			if m.TmpfsSize > 0 {
				opts = append(opts, "size="+strconv.FormatInt(m.TmpfsSize, 10))
			}
			out = append(out, specs.Mount{Destination: m.Target, Type: "tmpfs", Source: "tmpfs", Options: opts})
		}
	}
	return out, nil
}

func bindMount(source, target string, ro bool) specs.Mount {
	opts := []string{"rbind", "rprivate", "rw"}
	if ro {
		opts[2] = "ro"
	}
	return specs.Mount{Destination: target, Type: "bind", Source: source, Options: opts}
}
