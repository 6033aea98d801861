package containerd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/mount"
	cfs "github.com/containerd/continuity/fs"
	"github.com/opencontainers/image-spec/identity"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/scheduler"
)

var (
	_ scheduler.VolumeRuntime  = (*Client)(nil)
	_ scheduler.VolumeReleaser = (*Client)(nil)
	_ scheduler.VolumeMaker    = (*Client)(nil)
)

// volumeData is the directory a named volume's content lives in.
func (c *Client) volumeData(name string) string {
	return filepath.Join(c.volumeDir(name), "_data")
}

// volumeMetaFile is the file, next to a volume's _data, where berth keeps
// what Docker keeps in its volume database: the volume's labels and when
// it was made. Volumes an older berth made have none.
const volumeMetaFile = "volume.json"

// volumeDriver is the only driver berth has: a directory on this host.
const volumeDriver = "local"

type volumeMeta struct {
	CreatedAt time.Time         `json:"CreatedAt"`
	Labels    map[string]string `json:"Labels"`
}

// volumeUse is a named volume a container being created uses.
type volumeUse struct {
	name string
}

// useVolume creates the project's named volume name unless it exists
// (ensureVolume), noting that this client made it, and counts a user of
// it until releaseVolumes. It holds the volume's lock (the one its filling
// takes), so that ReleaseVolumes never removes a volume a creation is
// starting to use.
func (c *Client) useVolume(p *compose.Project, name string, anon bool) (volumeUse, error) {
	defer c.volumeFills.lock(c.volumeData(name))()
	created, err := c.ensureVolume(p, name, anon)
	if err != nil {
		return volumeUse{}, err
	}
	c.volumeMu.Lock()
	defer c.volumeMu.Unlock()
	if c.volumeUsers == nil {
		c.volumeUsers = map[string]int{}
	}
	c.volumeUsers[name]++
	if created {
		if c.volumesMade == nil {
			c.volumesMade = map[string]bool{}
		}
		c.volumesMade[name] = true
	}
	return volumeUse{name: name}, nil
}

// EnsureVolumes creates the project's own named volumes that no service
// mounts (the others are made with the first container that mounts
// them): up --all-resources makes every declared volume, as docker
// compose does. A volume that exists is left as it is.
func (c *Client) EnsureVolumes(_ context.Context, p *compose.Project) error {
	mounted := map[string]bool{}
	for _, s := range p.Services {
		for _, m := range s.Mounts {
			if m.Type == compose.MountVolume {
				mounted[m.Source] = true
			}
		}
	}
	for _, key := range slices.Sorted(maps.Keys(p.Volumes)) {
		v := p.Volumes[key]
		if v.External || mounted[v.Name] {
			continue
		}
		if _, err := v.Local(); err != nil {
			return fmt.Errorf("volume %q: %w", key, err)
		}
		created, err := func() (bool, error) {
			defer c.volumeFills.lock(c.volumeData(v.Name))()
			return c.ensureVolume(p, v.Name, false)
		}()
		if err != nil {
			return fmt.Errorf("create volume %s: %w", v.Name, err)
		}
		if created {
			c.events.Emit(scheduler.Event{Kind: scheduler.KindVolume, Name: v.Name, Status: scheduler.StatusDone, Text: "Created"})
		}
	}
	return nil
}

// releaseVolumes ends the uses of a container's creation, made or not. It
// removes nothing: a failed command takes back the volumes it made with
// ReleaseVolumes, once it knows which containers stay.
func (c *Client) releaseVolumes(uses []volumeUse) {
	c.volumeMu.Lock()
	defer c.volumeMu.Unlock()
	for _, u := range uses {
		if c.volumeUsers[u.name]--; c.volumeUsers[u.name] <= 0 {
			delete(c.volumeUsers, u.name)
		}
	}
}

// ReleaseVolumes removes the named volumes this client made that nothing
// uses: no creation in progress, and no container of any project, in any
// state. A failed command calls it to leave no volume it made for the
// containers it removed again. Each volume is decided under its lock (the
// one its creation and filling take), so that a creation cannot start
// using it between the check and the removal.
func (c *Client) ReleaseVolumes(ctx context.Context) error {
	c.volumeMu.Lock()
	made := slices.Sorted(maps.Keys(c.volumesMade))
	c.volumeMu.Unlock()
	var errs []error
	for _, name := range made {
		if err := c.releaseVolume(ctx, name); err != nil {
			errs = append(errs, fmt.Errorf("release volume %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// releaseVolume removes the volume name this client made, unless a
// creation in progress or a container uses it.
func (c *Client) releaseVolume(ctx context.Context, name string) error {
	defer c.volumeFills.lock(c.volumeData(name))()
	c.volumeMu.Lock()
	busy := c.volumeUsers[name] > 0
	c.volumeMu.Unlock()
	if busy {
		return nil
	}
	list := c.listContainers
	if list == nil {
		list = func(ctx context.Context) ([]scheduler.Container, error) { return c.Containers(ctx, "") }
	}
	cs, err := list(ctx)
	if err != nil {
		return err
	}
	if len(scheduler.VolumeUsers(cs, name)) > 0 {
		return nil
	}
	if err := os.RemoveAll(c.volumeDir(name)); err != nil {
		return err
	}
	c.volumeMu.Lock()
	delete(c.volumesMade, name)
	c.volumeMu.Unlock()
	return nil
}

// ensureVolume creates the project's named volume name unless it exists,
// with its metadata (compose's labels, the creation time), and says
// whether it did; anon marks an anonymous volume of the project. On
// failure nothing of it is left. The caller holds the volume's lock.
func (c *Client) ensureVolume(p *compose.Project, name string, anon bool) (created bool, retErr error) {
	if err := ensurePrivateDir(c.volumesRoot()); err != nil {
		return false, err
	}
	dir := c.volumeDir(name)
	if _, err := os.Stat(dir); err == nil {
		return false, nil
	} else if !os.IsNotExist(err) {
		return false, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "_data"), 0o755); err != nil {
		return false, err
	}
	defer func() {
		if retErr != nil {
			os.RemoveAll(dir)
		}
	}()
	meta := volumeMeta{CreatedAt: time.Now().UTC(), Labels: map[string]string{}}
	switch {
	case anon && p != nil:
		meta.Labels[compose.LabelAnonymousVolume] = ""
		meta.Labels[compose.LabelProject] = p.Name
	case p != nil:
		if key, v, ok := projectVolume(p, name); ok && !v.External {
			meta.Labels = compose.VolumeLabels(p, key)
		}
		if key, ok := strings.CutPrefix(name, compose.VolumeName(p.Name, "")); ok && meta.Labels[compose.LabelProject] == "" {
			// One no service declares (run -v): the project's all the same.
			meta.Labels = compose.VolumeLabels(p, key)
		}
	}
	b, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return false, err
	}
	// Written aside and renamed: no reader sees half a file.
	f, err := os.CreateTemp(dir, volumeMetaFile+".*")
	if err != nil {
		return false, err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return false, err
	}
	if err := f.Close(); err != nil {
		return false, err
	}
	return true, os.Rename(f.Name(), filepath.Join(dir, volumeMetaFile))
}

// volumesDirMode is the mode of the directory holding the named volumes:
// only root may go through it, whatever the modes inside (a volume's _data
// takes the mode of the image's directory it is filled from, often 0755).
// Docker's /var/lib/docker/volumes is 0701, with root-only directories below.
const volumesDirMode = 0o700

// ensurePrivateDir makes dir with volumesDirMode, or tightens the mode of
// the one an older berth made 0755.
func ensurePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, volumesDirMode); err != nil {
		return err
	}
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if st.Mode().Perm() != volumesDirMode {
		if err := os.Chmod(dir, volumesDirMode); err != nil {
			return fmt.Errorf("make %s private: %w", dir, err)
		}
	}
	return nil
}

// Volumes lists the named volumes under berth's data directory, with the
// metadata berth keeps for them.
func (c *Client) Volumes(_ context.Context) ([]scheduler.Volume, error) {
	root := c.volumesRoot()
	entries, err := os.ReadDir(root)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	var out []scheduler.Volume
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		v, ok, err := c.readVolume(e.Name())
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, v)
		}
	}
	return out, nil
}

// readVolume reads what berth keeps of one volume. A volume removed since
// its directory was listed (another project's down -v or rm -v at the
// same time) is not there: ok is false.
func (c *Client) readVolume(name string) (_ scheduler.Volume, ok bool, _ error) {
	dir := filepath.Join(c.volumesRoot(), name)
	v := scheduler.Volume{Name: name, Driver: volumeDriver, Mountpoint: c.volumeData(name)}
	path := filepath.Join(dir, volumeMetaFile)
	b, err := os.ReadFile(path)
	switch {
	case os.IsNotExist(err):
		// As Docker does for a volume it knows nothing more of.
		info, err := os.Lstat(dir)
		if os.IsNotExist(err) {
			return v, false, nil
		}
		if err != nil {
			return v, false, fmt.Errorf("volume %s: %w", name, err)
		}
		v.CreatedAt = info.ModTime()
	case err != nil:
		return v, false, fmt.Errorf("volume %s: %w", name, err)
	default:
		var meta volumeMeta
		if err := json.Unmarshal(b, &meta); err != nil {
			return v, false, fmt.Errorf("volume %s: %s: %w (remove the file to have the volume listed without its labels)", name, path, err)
		}
		v.CreatedAt, v.Labels = meta.CreatedAt, compose.Labels(meta.Labels)
		if v.Labels == nil {
			v.Labels = compose.Labels{}
		}
	}
	return v, true, nil
}

// mountedVolumes are the names of the named volumes among a container's
// mounts.
func (c *Client) mountedVolumes(mounts []specs.Mount) []string {
	root := c.volumesRoot()
	var out []string
	for _, m := range mounts {
		rel, err := filepath.Rel(root, m.Source)
		if m.Type != "bind" || err != nil {
			continue
		}
		if name, rest, ok := strings.Cut(rel, string(filepath.Separator)); ok && rest == "_data" && name != ".." {
			out = append(out, name)
		}
	}
	return out
}

// volumeFill is an empty named volume to fill from the image's content at
// the path it is mounted on, as Docker does on first use.
type volumeFill struct {
	dir, target string
}

// prepareMounts makes the sources of a service's mounts exist (named
// volumes are created on first use, as Docker does; a short-syntax bind
// source is created, a long-syntax one must exist) and returns the OCI
// mounts, the empty named volumes to fill from the image, and the named
// volumes used, for releaseVolumes once the container is made (or not).
// On failure it has ended those uses itself; the volumes it made stay for
// ReleaseVolumes.
func (c *Client) prepareMounts(p *compose.Project, s *compose.Service) (_ []specs.Mount, _ []volumeFill, _ []volumeUse, retErr error) {
	var out []specs.Mount
	var fills []volumeFill
	var uses []volumeUse
	defer func() {
		if retErr != nil {
			c.releaseVolumes(uses)
		}
	}()
	for _, m := range s.Mounts {
		switch m.Type {
		case compose.MountVolume:
			dir := c.volumeData(m.Source)
			local, err := localVolume(p, m.Source)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("service %q: %w", s.Name, err)
			}
			if local.Tmpfs {
				// Each container gets its own: its content lives as long as
				// the container runs.
				u, err := c.useVolume(p, m.Source, m.Anonymous)
				if err != nil {
					return nil, nil, nil, fmt.Errorf("service %q: create volume %q: %w", s.Name, m.Source, err)
				}
				uses = append(uses, u)
				opts := append([]string{"nosuid", "nodev"}, local.TmpfsOptions...)
				if m.ReadOnly {
					opts = append(opts, "ro")
				}
				out = append(out, specs.Mount{Destination: m.Target, Type: "tmpfs", Source: "tmpfs", Options: opts})
				continue
			}
			if local.Bind != "" {
				if st, err := os.Stat(local.Bind); err != nil || !st.IsDir() {
					return nil, nil, nil, fmt.Errorf("service %q: volume %q: its driver_opts device %s is not a directory on this host: create it first", s.Name, m.Source, local.Bind)
				}
				dir = local.Bind
			}
			if m.External {
				if _, err := os.Stat(dir); err != nil {
					return nil, nil, nil, fmt.Errorf("service %q: external volume %q does not exist (looked for %s): create it first, or drop external: true", s.Name, m.Source, dir)
				}
			} else {
				u, err := c.useVolume(p, m.Source, m.Anonymous)
				if err != nil {
					return nil, nil, nil, fmt.Errorf("service %q: create volume %q: %w", s.Name, m.Source, err)
				}
				uses = append(uses, u)
			}
			if !m.NoCopy && c.needsFill(dir) {
				fills = append(fills, volumeFill{dir: dir, target: m.Target})
			}
			out = append(out, bindMount(dir, m.Target, m.ReadOnly))
		case compose.MountBind:
			if _, err := os.Stat(m.Source); os.IsNotExist(err) {
				if !m.CreateHostPath {
					return nil, nil, nil, fmt.Errorf("service %q: bind mount source %s does not exist: create it, or set bind.create_host_path: true", s.Name, m.Source)
				}
				if err := os.MkdirAll(m.Source, 0o755); err != nil {
					return nil, nil, nil, fmt.Errorf("service %q: create bind mount source %s: %w", s.Name, m.Source, err)
				}
			} else if err != nil {
				return nil, nil, nil, fmt.Errorf("service %q: bind mount source %s: %w", s.Name, m.Source, err)
			}
			out = append(out, bindMount(m.Source, m.Target, m.ReadOnly))
		case compose.MountTmpfs:
			opts := []string{"nosuid", "nodev"}
			if !strings.Contains(","+m.TmpfsOptions, ",mode=") {
				opts = append(opts, "mode=1777")
			}
			if m.TmpfsOptions != "" {
				opts = append(opts, strings.Split(m.TmpfsOptions, ",")...)
			}
			if m.ReadOnly {
				opts = append(opts, "ro")
			}
			if m.TmpfsSize > 0 {
				opts = append(opts, "size="+strconv.FormatInt(m.TmpfsSize, 10))
			}
			out = append(out, specs.Mount{Destination: m.Target, Type: "tmpfs", Source: "tmpfs", Options: opts})
		}
	}
	return out, fills, uses, nil
}

// localVolume reads the driver options of the project's volume called
// name (none when the project does not declare it).
func localVolume(p *compose.Project, name string) (compose.LocalVolume, error) {
	if _, v, ok := projectVolume(p, name); ok {
		return v.Local()
	}
	return compose.LocalVolume{}, nil
}

// projectVolume is the project's volume called name, with its key (the
// first in key order when several have that name); ok is false when the
// project (nil: none) does not declare it.
func projectVolume(p *compose.Project, name string) (key string, v compose.Volume, ok bool) {
	if p == nil {
		return "", compose.Volume{}, false
	}
	for _, key := range slices.Sorted(maps.Keys(p.Volumes)) {
		if v := p.Volumes[key]; v.Name == name {
			return key, v, true
		}
	}
	return "", compose.Volume{}, false
}

func isEmptyDir(dir string) bool {
	entries, err := os.ReadDir(dir)
	return err == nil && len(entries) == 0
}

// dirLocks are mutexes by directory: the zero value is ready. Entries are
// never dropped: a Client makes containers for one command, on a handful
// of volumes.
type dirLocks struct {
	mu sync.Mutex // guards following
	m  map[string]*sync.Mutex
}

// lock locks dir's mutex and returns its unlock.
func (l *dirLocks) lock(dir string) (unlock func()) {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]*sync.Mutex{}
	}
	m := l.m[dir]
	if m == nil {
		m = &sync.Mutex{}
		l.m[dir] = m
	}
	l.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// needsFill reports whether the volume at dir is empty, waiting for a fill
// of it in progress (by a container of another service made at the same
// time) to end: a fill that fails leaves it empty again.
func (c *Client) needsFill(dir string) bool {
	defer c.volumeFills.lock(dir)()
	return isEmptyDir(dir)
}

// fillVolumes copies the image's content at each fill's target into the
// volume (owners, modes and times kept), from a read-only view of the
// image's snapshot. A path the image does not have leaves the volume empty.
// The view is made under a lease, so that what a failure or an
// interruption leaves behind goes with the garbage collector.
func (c *Client) fillVolumes(ctx context.Context, img containerd.Image, fills []volumeFill) error {
	ctx, done, err := c.client.WithLease(ctx)
	if err != nil {
		return fmt.Errorf("fill volumes: lease: %w", err)
	}
	defer done(context.WithoutCancel(ctx)) //nolint:errcheck // the lease expires anyway
	diffIDs, err := img.RootFS(ctx)
	if err != nil {
		return err
	}
	sn := c.client.SnapshotService(c.snapshotter)
	key := "berth-volume-fill-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	mounts, err := sn.View(ctx, key, identity.ChainID(diffIDs).String())
	if err != nil {
		return fmt.Errorf("view the image: %w", err)
	}
	defer sn.Remove(context.WithoutCancel(ctx), key) //nolint:errcheck // the lease lets the garbage collector take it
	return mount.WithReadonlyTempMount(ctx, mounts, func(root string) error {
		for _, f := range fills {
			copyDir := func(dst, src string) error { return cfs.CopyDir(dst, src) }
			if err := c.fillVolume(root, f, copyDir); err != nil {
				return err
			}
		}
		return nil
	})
}

// fillVolume copies root's content at f.target into the volume at f.dir
// with copyDir, unless the volume is no longer empty: containers of
// services made at the same time may share it, and only the first fills
// it. A copy that fails empties the volume again, for the next container
// to fill.
func (c *Client) fillVolume(root string, f volumeFill, copyDir func(dst, src string) error) error {
	defer c.volumeFills.lock(f.dir)()
	if !isEmptyDir(f.dir) {
		return nil
	}
	src, err := cfs.RootPath(root, f.target)
	if err != nil {
		return err
	}
	if st, err := os.Stat(src); err != nil || !st.IsDir() {
		return nil
	}
	if err := copyDir(f.dir, src); err != nil {
		if rerr := emptyDir(f.dir); rerr != nil {
			err = fmt.Errorf("%w (and emptying the volume again failed: %v)", err, rerr)
		}
		return fmt.Errorf("fill volume at %s from the image: %w", f.target, err)
	}
	return nil
}

// emptyDir removes what dir holds, keeping dir (a volume's _data, or the
// host directory its driver_opts name).
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func bindMount(source, target string, ro bool) specs.Mount {
	opts := []string{"rbind", "rprivate", "rw"}
	if ro {
		opts[2] = "ro"
	}
	return specs.Mount{Destination: target, Type: "bind", Source: source, Options: opts}
}

// prepareFiles makes the service's secrets and configs read-only files in
// the container: a file given by file: is bound as it is (it must exist);
// content (content:, or environment: resolved at load) is written under
// dir, the container's own directory, with its mode (0444 by default) and
// owner, and bound from there.
func prepareFiles(s *compose.Service, dir string) ([]specs.Mount, error) {
	var out []specs.Mount
	for i, f := range s.Files {
		src := f.File
		if src != "" {
			if _, err := os.Stat(src); err != nil {
				return nil, fmt.Errorf("service %q: %s %q: file %s: %w", s.Name, f.Kind, f.Name, src, err)
			}
		} else {
			src = filepath.Join(dir, f.Kind+"s", strconv.Itoa(i)+"-"+filepath.Base(f.Name))
			if err := os.MkdirAll(filepath.Dir(src), 0o700); err != nil {
				return nil, fmt.Errorf("service %q: %s %q: %w", s.Name, f.Kind, f.Name, err)
			}
			mode := os.FileMode(0o444)
			if f.Mode >= 0 {
				mode = os.FileMode(f.Mode) & os.ModePerm
			}
			if err := os.WriteFile(src, []byte(f.Content), 0o600); err != nil {
				return nil, fmt.Errorf("service %q: %s %q: %w", s.Name, f.Kind, f.Name, err)
			}
			uid, gid := max(f.UID, 0), max(f.GID, 0)
			if err := os.Chown(src, int(uid), int(gid)); err != nil {
				return nil, fmt.Errorf("service %q: %s %q: owner %d:%d: %w", s.Name, f.Kind, f.Name, uid, gid, err)
			}
			if err := os.Chmod(src, mode); err != nil {
				return nil, fmt.Errorf("service %q: %s %q: mode %o: %w", s.Name, f.Kind, f.Name, mode, err)
			}
		}
		out = append(out, bindMount(src, f.Target, true))
	}
	return out, nil
}
