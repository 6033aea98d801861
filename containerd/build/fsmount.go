package build

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// fsMount is one RUN --mount=type=cache|tmpfs|bind, resolved as BuildKit
// resolves it: an absolute target (a relative one is relative to the
// working directory), a cache's id defaulting to its target as written.
// What it mounts never enters the step's layer: only its key (and, for a
// bind, the content hash of what it binds) enters the step's cache key.
type fsMount struct {
	kind     instructions.MountType
	target   string
	id       string
	sharing  instructions.ShareMode
	from     string
	source   string
	readonly bool
	uid, gid *uint64
	mode     *uint64
	size     int64
}

// key is the mount as the step's cache key holds it. A cache's content
// is never part of it, nor a bind's: the caller adds a bind's hash.
func (m fsMount) key() string {
	switch m.kind {
	case instructions.MountTypeCache:
		return fmt.Sprintf("cache,id=%s,target=%s,sharing=%s,from=%s,source=%s,readonly=%t,owner=%s", m.id, m.target, m.sharing, m.from, m.source, m.readonly, m.owner())
	case instructions.MountTypeTmpfs:
		return fmt.Sprintf("tmpfs,target=%s,size=%d", m.target, m.size)
	}
	return fmt.Sprintf("bind,target=%s,from=%s,source=%s,readonly=%t", m.target, m.from, m.source, m.readonly)
}

// owner is a cache directory's uid, gid and mode as given ("" when none
// is): a cache made with other ones is another cache, as in BuildKit,
// where they make the cache's base.
func (m fsMount) owner() string {
	if m.uid == nil && m.gid == nil && m.mode == nil {
		return ""
	}
	uid, gid, mode := uint64(0), uint64(0), uint64(0o755)
	if m.uid != nil {
		uid = *m.uid
	}
	if m.gid != nil {
		gid = *m.gid
	}
	if m.mode != nil {
		mode = *m.mode
	}
	return fmt.Sprintf("%d:%d:%o", uid, gid, mode)
}

// fsMounts resolves a RUN's cache, tmpfs and bind mounts (its flags
// expanded) against the working directory workdir; with workdir "" (not
// known yet, when the Dockerfile is parsed) relative targets stay so.
func fsMounts(c *instructions.RunCommand, workdir string) ([]fsMount, error) {
	var out []fsMount
	for _, m := range instructions.GetMounts(c) {
		switch m.Type {
		case instructions.MountTypeCache, instructions.MountTypeTmpfs, instructions.MountTypeBind:
		default:
			continue
		}
		if m.Target == "" {
			return nil, fmt.Errorf("RUN --mount=type=%s: no target: give target=PATH", m.Type)
		}
		fm := fsMount{kind: m.Type, from: m.From, source: m.Source, readonly: m.ReadOnly, uid: m.UID, gid: m.GID, mode: m.Mode, size: m.SizeLimit}
		fm.target = m.Target
		if !path.IsAbs(fm.target) && workdir != "" {
			fm.target = path.Join("/", workdir, fm.target)
		}
		fm.target = path.Clean(fm.target)
		if fm.target == "/" {
			return nil, fmt.Errorf("RUN --mount=type=%s,target=%s: cannot mount over the root directory: give another target", m.Type, m.Target)
		}
		if m.Type == instructions.MountTypeTmpfs && (m.From != "" || m.Source != "") {
			return nil, fmt.Errorf("RUN --mount=type=tmpfs,target=%s: a tmpfs takes no from or source", m.Target)
		}
		if m.Type == instructions.MountTypeCache {
			fm.id = m.CacheID
			if fm.id == "" {
				fm.id = path.Clean(m.Target)
			}
			fm.sharing = m.CacheSharing
			if fm.sharing == "" {
				fm.sharing = instructions.MountSharingShared
			}
		}
		out = append(out, fm)
	}
	return out, nil
}

// fsMountKeys are a RUN's cache, tmpfs and bind mounts as its cache key
// holds them, each bind followed by the hash of what it binds.
func fsMountKeys(mounts []fsMount, hashes []string) []string {
	var out []string
	for i, m := range mounts {
		k := m.key()
		if m.kind == instructions.MountTypeBind && i < len(hashes) {
			k += ",content=" + hashes[i]
		}
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// tmpfsMount is the spec mount of a RUN --mount=type=tmpfs.
func tmpfsMount(m fsMount) specs.Mount {
	opts := []string{"nosuid", "nodev"}
	if m.size > 0 {
		opts = append(opts, fmt.Sprintf("size=%d", m.size))
	}
	return specs.Mount{Destination: m.target, Type: "tmpfs", Source: "tmpfs", Options: opts}
}

// bindMount binds the host path src at target, read-only when ro.
func bindMount(src, target string, ro bool) specs.Mount {
	opts := []string{"rbind", "rprivate"}
	if ro {
		opts = append(opts, "ro")
	}
	return specs.Mount{Destination: target, Type: "bind", Source: src, Options: opts}
}

// sortMounts orders spec mounts so that a mount comes after the one
// holding its target (/a before /a/b), as runc mounts them in order.
func sortMounts(ms []specs.Mount) {
	depth := func(p string) int { return strings.Count(path.Clean(p), "/") }
	sort.SliceStable(ms, func(i, j int) bool { return depth(ms[i].Destination) < depth(ms[j].Destination) })
}
