package compose

import (
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/compose-spec/compose-go/v2/types"
)

// FileMount is a secret or config made available as a read-only file.
type FileMount struct {
	// Kind is "secret" or "config".
	Kind string
	// Name is the top-level secret's or config's key.
	Name string
	// File is the host file to mount; "" when Content is given instead
	// (content:, or environment: resolved at load time).
	File    string
	Content string
	// Target is the absolute path in the container.
	Target string
	// Mode, UID and GID apply to files berth writes from Content; -1
	// means the default (0444, root).
	Mode     int64
	UID, GID int64
}

// fileMountsOf resolves the service's secrets and configs as docker compose
// does outside swarm: a secret lands at /run/secrets/<name> (or its
// target, relative to /run/secrets), a config at /<name> (or its target).
func fileMountsOf(spec *types.Project, sc types.ServiceConfig) ([]FileMount, error) {
	var out []FileMount
	add := func(kind string, ref types.FileReferenceConfig, obj types.FileObjectConfig, ok bool) error {
		if !ok {
			return fmt.Errorf("%s %q is not defined at the top level of the compose file", kind, ref.Source)
		}
		if obj.External {
			return fmt.Errorf("%s %q is external: external secrets and configs need swarm, which berth does not run; give file:, environment: or content:", kind, ref.Source)
		}
		m := FileMount{Kind: kind, Name: ref.Source, Content: obj.Content, Mode: -1, UID: -1, GID: -1}
		if obj.File != "" {
			m.File = obj.File
			if !filepath.IsAbs(m.File) {
				m.File = filepath.Join(spec.WorkingDir, m.File)
			}
		}
		target := ref.Target
		switch {
		case kind == "secret" && target == "":
			target = "/run/secrets/" + ref.Source
		case kind == "secret" && !path.IsAbs(target):
			target = "/run/secrets/" + target
		case target == "":
			target = "/" + ref.Source
		}
		m.Target = path.Clean(target)
		if ref.Mode != nil {
			m.Mode = int64(*ref.Mode)
		}
		for _, id := range []struct {
			s   string
			dst *int64
		}{{ref.UID, &m.UID}, {ref.GID, &m.GID}} {
			if id.s == "" {
				continue
			}
			n, err := strconv.ParseInt(id.s, 10, 64)
			if err != nil || n < 0 {
				return fmt.Errorf("%s %q: uid/gid %q must be a number", kind, ref.Source, id.s)
			}
			*id.dst = n
		}
		out = append(out, m)
		return nil
	}
	for _, ref := range sc.Secrets {
		obj, ok := spec.Secrets[ref.Source]
		if err := add("secret", types.FileReferenceConfig(ref), types.FileObjectConfig(obj), ok); err != nil {
			return nil, err
		}
	}
	for _, ref := range sc.Configs {
		obj, ok := spec.Configs[ref.Source]
		if err := add("config", types.FileReferenceConfig(ref), types.FileObjectConfig(obj), ok); err != nil {
			return nil, err
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Target < out[j].Target })
	return out, nil
}
