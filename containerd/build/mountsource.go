package build

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"

	"github.com/containerd/containerd/v2/core/mount"
	cfs "github.com/containerd/continuity/fs"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// mountSource is what a bind or cache mount takes files from: a
// directory (the build context, or a named context that is one), with
// .dockerignore applied, or a stage's or image's root file system.
type mountSource struct {
	dir  *Context
	name string
	// chain and key are the stage's or image's snapshot chain ("" for an
	// empty one) and cache key; unpack makes chain's snapshots when they
	// are an image's not unpacked yet (see layers.unpack).
	chain, key string
	unpack     func(context.Context) error
}

// mountSource resolves a mount's from=: "" is the build context, then an
// earlier stage, a named context, an image.
func (bd *build) mountSource(ctx context.Context, from string, p StagePlan, deps map[int]*stageResult) (mountSource, error) {
	if from == "" {
		return mountSource{dir: bd.ctx, name: "ctx"}, nil
	}
	if j, isStage, err := stageRef(from, stageIndex(bd.df, p.Index), p.Index); err != nil {
		return mountSource{}, err
	} else if isStage {
		d, ok := deps[j]
		if !ok || d == nil {
			return mountSource{}, fmt.Errorf("stage %s was not built before this step", from)
		}
		return mountSource{chain: string(d.chain), key: d.key, unpack: d.unpack}, nil
	}
	ref := from
	if nc, err := bd.req.namedContext(from); err == nil {
		if nc.Dir != "" {
			c, err := OpenContext(nc.Dir, "")
			if err != nil {
				return mountSource{}, err
			}
			c.memo = bd.b.memo
			return mountSource{dir: c, name: "context " + from}, nil
		}
		ref = nc.Image
	}
	img, err := bd.b.image(ctx, ref, bd.req.Pull, bd.target, bd.lease.ensure)
	if err != nil {
		return mountSource{}, err
	}
	return mountSource{chain: string(img.chain), key: img.key, unpack: img.unpack}, nil
}

// hash is what the step's cache key holds of source: the content hash of
// the files a directory's source selects, or the stage's or image's key.
func (s mountSource) hash(source string) (string, error) {
	if s.dir == nil {
		return "from:" + s.key + ":" + path.Clean("/"+source), nil
	}
	files, err := s.dir.Select(selectPath(source))
	if err != nil {
		return "", err
	}
	h, err := s.dir.Hash(files)
	if err != nil {
		return "", err
	}
	return s.name + ":" + path.Clean("/"+source) + ":" + h, nil
}

func selectPath(source string) string {
	if source == "" {
		return "."
	}
	return source
}

// mountDir is the directory of a build's bind mount copies and mounted
// stages; Reap unmounts and removes those of builds that are gone.
func (bd *build) mountDir() string {
	return filepath.Join(bd.b.cfg.StateDir, "mounts", bd.owner.String())
}

// rootfs mounts a stage's or image's root file system in a new directory
// under dir: read-only, or on a snapshot of its own whose writes release
// discards (rw).
func (bd *build) rootfs(ctx context.Context, s mountSource, dir string, rw bool) (root string, release func(), retErr error) {
	tmp, err := os.MkdirTemp(dir, "rootfs-")
	if err != nil {
		return "", nil, err
	}
	root = filepath.Join(tmp, "root")
	var undo []func()
	undoAll := func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	defer func() {
		if retErr != nil {
			undoAll()
		}
	}()
	mounted := false
	undo = append(undo, func() {
		if !mounted {
			os.RemoveAll(tmp)
		}
	})
	if err := os.Mkdir(root, 0o755); err != nil {
		return "", nil, err
	}
	if s.chain == "" && !rw {
		return root, undoAll, nil
	}
	if s.unpack != nil {
		if err := s.unpack(ctx); err != nil {
			return "", nil, err
		}
	}
	sn := bd.b.client.SnapshotService(bd.b.cfg.Snapshotter)
	cleanup := context.WithoutCancel(ctx)
	key := "berth-build-view-" + randomID()
	var mounts []mount.Mount
	if rw {
		mounts, err = sn.Prepare(ctx, key, s.chain, bd.ownerLabel())
	} else {
		mounts, err = sn.View(ctx, key, s.chain, bd.ownerLabel())
	}
	if err != nil {
		return "", nil, fmt.Errorf("snapshot: %w", err)
	}
	undo = append(undo, func() { sn.Remove(cleanup, key) }) //nolint:errcheck // the build lease collects it otherwise
	if err := mount.All(mounts, root); err != nil {
		return "", nil, fmt.Errorf("mount: %w", err)
	}
	// Unmounted before the directory is removed, and left when that
	// fails (for Reap), so that removing it never reaches into the
	// snapshot.
	mounted = true
	undo = append(undo, func() { mounted = mount.UnmountAll(root, unix.MNT_DETACH) != nil })
	return root, undoAll, nil
}

// withSource runs f on source's files as a Context: a directory's as it
// is, a stage's or image's mounted read-only.
func (bd *build) withSource(ctx context.Context, s mountSource, f func(*Context) error) error {
	if s.dir != nil {
		return f(s.dir)
	}
	if err := os.MkdirAll(bd.mountDir(), 0o700); err != nil {
		return err
	}
	root, release, err := bd.rootfs(ctx, s, bd.mountDir(), false)
	if err != nil {
		return err
	}
	defer release()
	return f(RootFS(root))
}

// copyInto copies what source selects in src into the directory root:
// a directory's content into root, a file to root/<its name>. It
// returns the host path that holds what source named.
func copyInto(src *Context, source, root string) (string, error) {
	files, err := src.Select(selectPath(source))
	if err != nil {
		return "", err
	}
	if len(files) == 1 && !files[0].Info.IsDir() && files[0].Rel == files[0].Root {
		name := path.Base(files[0].Rel)
		if err := (&copier{root: root}).copyFiles(src, files, "/"+name, false); err != nil {
			return "", err
		}
		return filepath.Join(root, name), nil
	}
	return root, (&copier{root: root}).copyFiles(src, files, "/", true)
}

// prepareMounts makes what a RUN's cache, tmpfs and bind mounts need:
// their spec mounts, and a release function that gives back the caches
// and removes the copies and mounted stages. sources are the mounts'
// resolved from= (unused for tmpfs, and for a cache without from=).
func (bd *build) prepareMounts(ctx context.Context, ms []fsMount, sources []mountSource) (out []specs.Mount, release func(), retErr error) {
	var undo []func()
	undoAll := func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	defer func() {
		if retErr != nil {
			undoAll()
		}
	}()
	// Caches are held in the order of their names, each once per step,
	// so that steps holding several never wait for each other in a ring.
	holds := map[string]*cacheHold{}
	var keys []string
	byKey := map[string]int{}
	for i, m := range ms {
		if m.kind != instructions.MountTypeCache {
			continue
		}
		k := cacheKey(m, sources[i])
		if _, ok := byKey[k]; !ok {
			byKey[k] = i
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return cacheName(keys[i]) < cacheName(keys[j]) })
	cd := cacheDirs{dir: filepath.Join(bd.b.cfg.StateDir, "cache-mounts")}
	for _, k := range keys {
		m, src := ms[byKey[k]], sources[byKey[k]]
		h, err := cd.acquire(ctx, k, m.sharing, func(data string) error {
			return bd.initCache(ctx, m, src, data)
		}, func() {
			bd.out.linef("waiting for the cache mount %s (sharing=locked), which another build step holds", m.id)
		})
		if err != nil {
			return nil, nil, fmt.Errorf("RUN --mount=type=cache,id=%s: %w", m.id, err)
		}
		undo = append(undo, h.release)
		holds[k] = h
	}
	for i, m := range ms {
		switch m.kind {
		case instructions.MountTypeTmpfs:
			out = append(out, tmpfsMount(m))
		case instructions.MountTypeCache:
			out = append(out, bindMount(holds[cacheKey(m, sources[i])].data, m.target, m.readonly))
		case instructions.MountTypeBind:
			host, rel, err := bd.bindSource(ctx, m, sources[i])
			if err != nil {
				return nil, nil, fmt.Errorf("RUN --mount=type=bind,target=%s: %w", m.target, err)
			}
			undo = append(undo, rel)
			out = append(out, bindMount(host, m.target, m.readonly))
		}
	}
	return out, undoAll, nil
}

// cacheKey names a cache: its id, and what makes its first content.
func cacheKey(m fsMount, src mountSource) string {
	k := "id=" + m.id
	if m.from != "" {
		k += ",from=" + src.name + src.key + ",source=" + path.Clean("/"+m.source)
	}
	if o := m.owner(); o != "" {
		k += ",owner=" + o
	}
	return k
}

// initCache makes a new cache's data directory: empty, owned by uid:gid
// with mode (0:0, 0755 by default), or a copy of from='s source.
func (bd *build) initCache(ctx context.Context, m fsMount, src mountSource, data string) error {
	if err := os.Mkdir(data, 0o755); err != nil {
		return err
	}
	if m.from != "" {
		err := bd.withSource(ctx, src, func(c *Context) error {
			_, err := copyInto(c, m.source, data)
			return err
		})
		if err != nil {
			return err
		}
	}
	if m.from == "" || m.owner() != "" {
		uid, gid, mode := 0, 0, fs.FileMode(0o755)
		if m.uid != nil {
			uid = int(*m.uid)
		}
		if m.gid != nil {
			gid = int(*m.gid)
		}
		if m.mode != nil {
			mode = fs.FileMode(*m.mode)
		}
		if err := os.Chown(data, uid, gid); err != nil {
			return err
		}
		return os.Chmod(data, mode)
	}
	return nil
}

// bindSource makes what a bind mount binds: a copy of what it selects in
// a directory (.dockerignore applied; writes to it are lost), or the
// path in a stage's or image's root file system, mounted read-only or,
// with rw, on a snapshot of its own that is removed after the step.
// Nothing leads out of the context or the root: the source is resolved
// inside it.
func (bd *build) bindSource(ctx context.Context, m fsMount, src mountSource) (host string, release func(), retErr error) {
	dir := bd.mountDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, err
	}
	if src.dir != nil {
		tmp, err := os.MkdirTemp(dir, "bind-")
		if err != nil {
			return "", nil, err
		}
		release = func() { os.RemoveAll(tmp) }
		root := filepath.Join(tmp, "root")
		if err := os.Mkdir(root, 0o755); err != nil {
			release()
			return "", nil, err
		}
		if host, err = copyInto(src.dir, m.source, root); err != nil {
			release()
			return "", nil, err
		}
		return host, release, nil
	}
	root, release, err := bd.rootfs(ctx, src, dir, !m.readonly)
	if err != nil {
		return "", nil, err
	}
	host, err = cfs.RootPath(root, path.Clean("/"+m.source))
	if err == nil {
		_, err = os.Stat(host)
	}
	if errors.Is(err, fs.ErrNotExist) {
		err = fmt.Errorf("source %q is not in %s", m.source, m.from)
	}
	if err != nil {
		release()
		return "", nil, err
	}
	return host, release, nil
}
