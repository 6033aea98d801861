package containerd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/containerd/api/services/tasks/v1"
	runcoptions "github.com/containerd/containerd/api/types/runc/options"
	apitask "github.com/containerd/containerd/api/types/task"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"github.com/containerd/platforms"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/platform"
	"github.com/berth/berth/scheduler"
)

// Labels berth keeps on a container about its runs; they are berth's own
// bookkeeping, so they live here rather than among the compose label keys.
const (
	labelStartedAt  = "berth.started-at"
	labelFinishedAt = "berth.finished-at"
	labelExitCode   = "berth.exit-code"
	// labelVolumes lists the named volumes the container mounts, comma
	// separated: those bound from a driver_opts device or made a tmpfs
	// do not show in its spec's mount sources.
	labelVolumes = "berth.volumes"
	// labelLogging is the service's logging (JSON) when it is not the
	// default json-file without rotation.
	labelLogging = "berth.logging"
)

const runtimeName = "io.containerd.runc.v2"

// cgroupParent is where a new container's cgroup goes when the run dir is
// not the default: containerd's default, /<namespace>/<id>, is the same
// for every containerd, and another berth's container of the same name
// would share (and on its removal, take down) this one's cgroup. "" keeps
// containerd's default.
func (c *Client) cgroupParent() string {
	if filepath.Clean(c.runDir) == defaultRunDir {
		return ""
	}
	sum := sha256.Sum256([]byte(filepath.Clean(c.runDir)))
	return "/" + c.namespace + "-" + hex.EncodeToString(sum[:])[:8]
}

// runtimeOptions are the runc shim's options of a new container: with a
// run dir other than the default, runc keeps its state under it, since
// runc's default root (/run/containerd/runc/<namespace>) is the same for
// every containerd, and another berth's daemon running a container of the
// same name and namespace would find its ID taken there.
func (c *Client) runtimeOptions() any {
	if filepath.Clean(c.runDir) == defaultRunDir {
		return nil
	}
	return &runcoptions.Options{Root: filepath.Join(c.runDir, "runc")}
}

// Containers lists the project's containers in every state; "" lists the
// containers of every project. Two requests to containerd, whatever the
// number of containers: their records (with their specs) and the tasks.
func (c *Client) Containers(ctx context.Context, project string) ([]scheduler.Container, error) {
	filter := fmt.Sprintf("labels.%q==%s", compose.LabelProject, project)
	if project == "" {
		filter = fmt.Sprintf("labels.%q", compose.LabelProject)
	}
	list, err := c.client.ContainerService().List(ctx, filter)
	if err != nil {
		return nil, fmt.Errorf("list containers of project %q: %w", project, err)
	}
	if len(list) == 0 {
		return nil, nil
	}
	resp, err := c.client.TaskService().List(ctx, &tasks.ListTasksRequest{})
	if err != nil {
		return nil, fmt.Errorf("list tasks of project %q: %w", project, err)
	}
	procs := make(map[string]*apitask.Process, len(resp.Tasks))
	for _, t := range resp.Tasks {
		procs[t.ID] = t
	}
	out := make([]scheduler.Container, 0, len(list))
	for _, info := range list {
		out = append(out, c.observe(info, procs[info.ID]))
	}
	return out, nil
}

// container observes one container.
func (c *Client) container(ctx context.Context, id string) (scheduler.Container, error) {
	info, err := c.client.ContainerService().Get(ctx, id)
	if err != nil {
		return scheduler.Container{}, err
	}
	proc, err := c.taskProcess(ctx, id)
	if errdefs.IsNotFound(err) {
		return c.observe(info, nil), nil
	}
	if err != nil {
		return scheduler.Container{}, fmt.Errorf("container %s: task: %w", id, err)
	}
	return c.observe(info, proc), nil
}

// taskProcess is the main process of the container's task (its status and
// pid), in one request to containerd, where ctr.Task and task.Status take
// two. The error satisfies errdefs.IsNotFound when there is no task.
func (c *Client) taskProcess(ctx context.Context, id string) (*apitask.Process, error) {
	resp, err := c.client.TaskService().Get(ctx, &tasks.GetRequest{ContainerID: id})
	if err != nil {
		return nil, errgrpc.ToNative(err)
	}
	return resp.Process, nil
}

// clearStaleTask deletes, through the task service, a task record
// containerd keeps for id while its shim no longer has the task (left by
// a delete that was cancelled midway, or a berth killed while stopping):
// containerd answers "not found" to every look at it and "already exists"
// to a new task. It says whether there was one to clear.
func (c *Client) clearStaleTask(ctx context.Context, id string) bool {
	_, err := c.client.TaskService().Delete(context.WithoutCancel(ctx), &tasks.DeleteTaskRequest{ContainerID: id})
	err = errgrpc.ToNative(err)
	return err == nil || errdefs.IsNotFound(err)
}

// observedSpec is what observe reads of a container's spec.
type observedSpec struct {
	Process *struct {
		Args []string `json:"args"`
	} `json:"process"`
	Mounts []specs.Mount `json:"mounts"`
}

// observe makes a container's state of its record and its task's process
// (nil: it has no task).
func (c *Client) observe(info containers.Container, proc *apitask.Process) scheduler.Container {
	sc := scheduler.Container{
		ID:      info.ID,
		Name:    info.ID,
		Labels:  compose.Labels(c.latestHealth(info.ID, info.Labels)),
		Image:   info.Labels[compose.LabelImage],
		State:   scheduler.StateCreated,
		Created: info.CreatedAt,
	}
	if name := info.Labels[compose.LabelContainerName]; name != "" {
		sc.Name = name
	}
	if sc.Image == "" {
		sc.Image = info.Image
	}
	sc.StartedAt, _ = time.Parse(time.RFC3339Nano, info.Labels[labelStartedAt])
	sc.FinishedAt, _ = time.Parse(time.RFC3339Nano, info.Labels[labelFinishedAt])
	if code, err := strconv.Atoi(info.Labels[labelExitCode]); err == nil {
		sc.State, sc.ExitCode = scheduler.StateExited, code
	}
	var spec observedSpec
	if info.Spec != nil && json.Unmarshal(info.Spec.GetValue(), &spec) == nil {
		if spec.Process != nil {
			sc.Command = strings.Join(withoutInit(spec.Process.Args), " ")
		}
		sc.Volumes = c.mountedVolumes(spec.Mounts)
	}
	// Containers made before the label was kept have only their spec's.
	for _, name := range strings.Split(info.Labels[labelVolumes], ",") {
		if name != "" && !slices.Contains(sc.Volumes, name) {
			sc.Volumes = append(sc.Volumes, name)
		}
	}
	if proc == nil {
		return sc // no task, or it went meanwhile (a stop deletes it): the labels tell
	}
	switch proc.Status {
	case apitask.Status_RUNNING:
		sc.State = scheduler.StateRunning
	case apitask.Status_PAUSED, apitask.Status_PAUSING:
		sc.State = scheduler.StatePaused
	case apitask.Status_STOPPED:
		sc.State, sc.ExitCode = scheduler.StateExited, int(proc.ExitStatus)
		if proc.ExitedAt != nil {
			sc.FinishedAt = proc.ExitedAt.AsTime()
		}
	case apitask.Status_CREATED:
		sc.State = scheduler.StateCreated
	default:
		sc.State = scheduler.StateUnknown
	}
	return sc
}

// checkInit is checkStaticInit of berth's executable, read once per Client.
func (c *Client) checkInit(path string) error {
	if c.staticInit == nil || path != c.logDriver {
		return checkStaticInit(path)
	}
	return c.staticInit()
}

// Create creates a container (not its task) for one replica of a service.
// On failure nothing of it is left: no container, snapshot or files.
func (c *Client) Create(ctx context.Context, req scheduler.CreateRequest) (_ scheduler.Container, retErr error) {
	s, err := withAnonVolumes(req.Service, req.AnonVolumes)
	if err != nil {
		return scheduler.Container{}, err
	}
	if len(s.StorageOpt) > 0 {
		return scheduler.Container{}, fmt.Errorf("service %q: storage_opt is not supported by berth's %s snapshotter (it has no per-container size limits): remove storage_opt", s.Name, c.snapshotter)
	}
	ctx, done, err := c.client.WithLease(ctx)
	if err != nil {
		return scheduler.Container{}, fmt.Errorf("service %q: %w", s.Name, err)
	}
	defer done(context.WithoutCancel(ctx)) //nolint:errcheck // the lease only guards what is made until the container holds it
	ref, err := NormalizeRef(s.ImageName())
	if err != nil {
		return scheduler.Container{}, fmt.Errorf("service %q: %w", s.Name, err)
	}
	img, err := c.client.GetImage(ctx, ref)
	if errdefs.IsNotFound(err) {
		return scheduler.Container{}, fmt.Errorf("service %q: image %s is not present: `berth pull` or `berth load` it", s.Name, s.ImageName())
	}
	if err != nil {
		return scheduler.Container{}, fmt.Errorf("service %q: image %s: %w", s.Name, s.ImageName(), err)
	}
	sp, err := c.platformImage(ctx, img.Metadata(), s.Platform)
	if err != nil {
		return scheduler.Container{}, fmt.Errorf("service %q: %w", s.Name, err)
	}
	switch c.CanRun(sp.Platform) {
	case platform.NotRunnable:
		return scheduler.Container{}, fmt.Errorf("service %q: image %s: %w", s.Name, s.ImageName(), platform.Local(c.binfmtDir).Check(sp.Platform, "running"))
	case platform.Emulated:
		c.warnEmulated(s, sp.Platform)
	}
	img = containerd.NewImageWithPlatform(c.client, img.Metadata(), platforms.Only(sp.Platform))
	if ok, err := img.IsUnpacked(ctx, c.snapshotter); err != nil || !ok {
		if err := img.Unpack(ctx, c.snapshotter); err != nil {
			return scheduler.Container{}, fmt.Errorf("service %q: unpack image %s: %w", s.Name, s.ImageName(), err)
		}
	}
	ociImage, err := img.Spec(ctx)
	if err != nil {
		return scheduler.Container{}, fmt.Errorf("service %q: read image config of %s: %w", s.Name, s.ImageName(), err)
	}

	etcDir := c.containerDir(req.Name)
	defer func() {
		if retErr != nil {
			os.RemoveAll(etcDir)
		}
	}()
	etc, err := etcFor(s, req.Name, req.DNS, req.HostGateway)
	if err != nil {
		return scheduler.Container{}, err
	}
	if err := writeEtcFiles(etcDir, etc); err != nil {
		return scheduler.Container{}, fmt.Errorf("container %s: write /etc files: %w", req.Name, err)
	}
	mounts, fills, volumes, err := c.prepareMounts(req.Project, s)
	if err != nil {
		return scheduler.Container{}, err
	}
	defer c.releaseVolumes(volumes)
	files, err := prepareFiles(s, etcDir)
	if err != nil {
		return scheduler.Container{}, err
	}
	mounts = append(mounts, files...)
	imgMounts, imgLabels, removeViews, err := c.imageMounts(ctx, req.Name, s)
	if err != nil {
		return scheduler.Container{}, err
	}
	defer func() {
		if retErr != nil {
			removeViews()
		}
	}()
	mounts = append(mounts, imgMounts...)
	joined, err := c.joined(ctx, req.Project.Name, s)
	if err != nil {
		return scheduler.Container{}, err
	}
	var shmLabel string
	if shareableShm(req.Project, s) && !s.Namespaces.IPC.Host() && s.Namespaces.IPC != "none" {
		shmLabel = filepath.Join(etcDir, "shm")
		if err := mountShm(shmLabel, s.Resources.ShmSize); err != nil {
			return scheduler.Container{}, fmt.Errorf("service %q: %w", s.Name, err)
		}
		defer func() {
			if retErr != nil {
				unmountShm(shmLabel) //nolint:errcheck // rollback; etcDir goes next
			}
		}()
		if joined.Shm == "" {
			joined.Shm = shmLabel
		}
	}
	if len(fills) > 0 {
		if err := c.fillVolumes(ctx, img, fills); err != nil {
			return scheduler.Container{}, fmt.Errorf("service %q: %w", s.Name, err)
		}
	}
	// The container joins its project's shim (see ensureShimAnchor).
	anchor, shimGroup := c.shimAnchor(req.Project.Name), ""
	if anchor != "" {
		shimGroup = c.shimGroup(req.Project.Name)
	}
	hc := scheduler.EffectiveHealth(s.Healthcheck, c.imageHealthcheck(ctx, img))
	probeAgent := ""
	if hc != nil {
		probeAgent = c.probeAgent
	}
	opts, err := specOpts(specInput{Name: req.Name, Image: ociImage.Config, Service: s, NetNS: req.NetNS, EtcDir: etcDir, Mounts: mounts, InitBinary: c.logDriver, CheckInit: c.checkInit, ProbeAgent: probeAgent, LaunchAgent: ownPIDNamespace(s.Namespaces.PID),
		Joined: joined, Cgroups: hostCgroups("/sys/fs/cgroup"), ShimGroup: shimGroup})
	if err != nil {
		return scheduler.Container{}, err
	}
	user := ociImage.Config.User
	if s.User != "" {
		user = s.User
	}
	if user != "" {
		opts = append(opts, oci.WithUser(user), oci.WithAdditionalGIDs(user))
	} else {
		opts = append(opts, oci.WithAdditionalGIDs("root"))
	}
	if cg := c.cgroupParent(); cg != "" {
		opts = append(opts, oci.WithCgroup(cg+"/"+req.Name))
	}

	labels := map[string]string{}
	for k, v := range s.Labels {
		labels[k] = v
	}
	for k, v := range compose.ContainerLabels(req.Project, s, req.Number) {
		labels[k] = v
	}
	if req.OneOff {
		labels[compose.LabelOneOff] = "True"
		labels[compose.LabelContainerName] = req.Name
	}
	labels[compose.LabelImage] = s.ImageName()
	if expose := withImageExpose(s.Expose, ociImage.Config.ExposedPorts); len(expose) > 0 {
		labels[compose.LabelExpose] = strings.Join(expose, ",")
	}
	if cfg, err := img.Config(ctx); err == nil {
		labels[compose.LabelImageID] = cfg.Digest.String()
	}
	labels[compose.LabelLogPath] = c.logPath(req.Name)
	maps.Copy(labels, imgLabels)
	if shmLabel != "" {
		labels[labelShm], labels[labelShmSize] = shmLabel, strconv.FormatInt(s.Resources.ShmSize, 10)
	}
	maps.Copy(labels, joinLabels(joined))
	hooks, err := hookLabels(s)
	if err != nil {
		return scheduler.Container{}, err
	}
	maps.Copy(labels, hooks)
	if s.Logging != (compose.Logging{Driver: compose.LogJSONFile, MaxFile: 1}) && s.Logging.Driver != "" {
		b, err := json.Marshal(s.Logging)
		if err != nil {
			return scheduler.Container{}, err
		}
		labels[labelLogging] = string(b)
	}
	if names := namedVolumes(s); len(names) > 0 {
		labels[labelVolumes] = strings.Join(names, ",")
	}
	if anon := anonVolumesOf(s); len(anon) > 0 {
		b, err := json.Marshal(anon)
		if err != nil {
			return scheduler.Container{}, err
		}
		labels[compose.LabelAnonVolumes] = string(b)
	}
	if req.NetNS != "" {
		labels[compose.LabelNetNSPath] = req.NetNS
	}
	if hc != nil {
		b, err := json.Marshal(hc)
		if err != nil {
			return scheduler.Container{}, err
		}
		labels[compose.LabelHealthcheck] = string(b)
	}
	if s.Restart.Condition != "" && s.Restart.Condition != compose.RestartNo {
		b, err := json.Marshal(s.Restart)
		if err != nil {
			return scheduler.Container{}, err
		}
		labels[compose.LabelRestart] = string(b)
	}
	if s.StopSignal == "" && ociImage.Config.StopSignal != "" {
		labels[compose.LabelStopSignal] = ociImage.Config.StopSignal
	}

	// Last: it reads the process's arguments, environment and directory.
	opts = append(opts, withLaunchableCommand())
	newOpts := []containerd.NewContainerOpts{
		containerd.WithImage(img),
		containerd.WithSnapshotter(c.snapshotter),
		containerd.WithNewSnapshot(req.Name, img),
		containerd.WithRuntime(c.runtime(), c.runtimeOptions()),
		containerd.WithNewSpec(opts...),
	}
	if anchor != "" {
		labels[labelShimAnchor] = anchor
		newOpts = append(newOpts, containerd.WithSandbox(anchor))
	}
	ctr, err := c.client.NewContainer(ctx, req.Name, append(newOpts, containerd.WithContainerLabels(labels))...)
	if errdefs.IsAlreadyExists(err) {
		return scheduler.Container{}, fmt.Errorf("service %q: container name %q is already in use: remove that container or change container_name", s.Name, req.Name)
	}
	if err != nil {
		// The snapshot NewContainer made before a later option failed
		// would only go with the garbage collector's next pass: now.
		if rerr := c.client.SnapshotService(c.snapshotter).Remove(context.WithoutCancel(ctx), req.Name); rerr != nil && !errdefs.IsNotFound(rerr) {
			err = fmt.Errorf("%w (and removing its snapshot failed: %v)", err, rerr)
		}
		if errors.Is(err, oci.ErrNoUsersFound) || errors.Is(err, oci.ErrNoGroupsFound) {
			return scheduler.Container{}, fmt.Errorf("service %q: user %q: no such user or group in the image's /etc/passwd or /etc/group: use a numeric uid[:gid] or one the image has", s.Name, user)
		}
		return scheduler.Container{}, fmt.Errorf("create container %s: %w", req.Name, err)
	}
	defer func() {
		if retErr != nil {
			ctr.Delete(context.WithoutCancel(ctx), containerd.WithSnapshotCleanup) //nolint:errcheck // best effort rollback
		}
	}()
	// It has no task yet: its record, which NewContainer returned, is all
	// there is to observe.
	info, err := ctr.Info(ctx, containerd.WithoutRefreshedMetadata)
	if err != nil {
		return scheduler.Container{}, fmt.Errorf("create container %s: %w", req.Name, err)
	}
	return c.observe(info, nil), nil
}

// withAnonVolumes returns s with the volumes of its anonymous mounts
// named as names (mount target to volume name) says; s itself when it
// has none.
func withAnonVolumes(s *compose.Service, names map[string]string) (*compose.Service, error) {
	if !slices.ContainsFunc(s.Mounts, func(m compose.Mount) bool { return m.Anonymous }) {
		return s, nil
	}
	out := *s
	out.Mounts = slices.Clone(s.Mounts)
	for i, m := range out.Mounts {
		if !m.Anonymous {
			continue
		}
		if names[m.Target] == "" {
			return nil, fmt.Errorf("service %q: no volume named for its anonymous volume at %s", s.Name, m.Target)
		}
		out.Mounts[i].Source = names[m.Target]
	}
	return &out, nil
}

// anonVolumesOf are the volumes of s's anonymous mounts by target.
func anonVolumesOf(s *compose.Service) map[string]string {
	out := map[string]string{}
	for _, m := range s.Mounts {
		if m.Anonymous {
			out[m.Target] = m.Source
		}
	}
	return out
}

// Remove deletes a container with its task, snapshot, generated files,
// FIFOs and log. A container that does not exist is not an error. Its
// record goes last, as docker's: once it is no longer listed nothing of it
// is left, and a failure before leaves it listed for another rm to finish.
func (c *Client) Remove(ctx context.Context, sc scheduler.Container) error {
	ctr, err := c.client.LoadContainer(ctx, sc.ID)
	switch {
	case errdefs.IsNotFound(err):
		ctr = nil
	case err != nil:
		return fmt.Errorf("remove container %s: %w", sc.Name, err)
	default:
		if task, err := ctr.Task(ctx, nil); err == nil {
			opts := []containerd.ProcessDeleteOpts{killIfRunning}
			if sharesShim(sc) {
				c.watchExits(ctx) // before a kill, to see its exit published
				opts = append(opts, c.exitPublished(sc.ID))
			}
			if _, err := deleteTask(ctx, task, opts...); err != nil && !errdefs.IsNotFound(err) {
				return fmt.Errorf("remove container %s: delete task: %w", sc.Name, err)
			}
		} else if errdefs.IsNotFound(err) {
			// A stale record would outlive the container and refuse the
			// next container of the same name its task.
			c.clearStaleTask(ctx, sc.ID)
		} else {
			return fmt.Errorf("remove container %s: %w", sc.Name, err)
		}
		// Its image volumes' views, which the garbage collector would
		// otherwise take on its next pass only.
		for k, key := range sc.Labels {
			if strings.HasPrefix(k, labelImageVolumePrefix+c.snapshotter+"/") {
				if err := c.client.SnapshotService(c.snapshotter).Remove(ctx, key); err != nil && !errdefs.IsNotFound(err) {
					return fmt.Errorf("remove container %s: image volume: %w", sc.Name, err)
				}
			}
		}
	}
	if err := c.removeFiles(sc); err != nil {
		return fmt.Errorf("remove container %s: %w", sc.Name, err)
	}
	if ctr == nil {
		return nil
	}
	if err := ctr.Delete(ctx, containerd.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("remove container %s: %w", sc.Name, err)
	}
	if err := c.removeHealth(sc.ID); err != nil {
		return fmt.Errorf("remove container %s: health: %w", sc.Name, err)
	}
	// Its project's shim goes with the last container it serves.
	if anchor := sc.Labels[labelShimAnchor]; anchor != "" {
		if err := c.dropShimAnchor(ctx, anchor, sc.Labels.Project()); err != nil {
			return fmt.Errorf("remove container %s: %w", sc.Name, err)
		}
	}
	return nil
}

// removeFiles removes what berth keeps of a container beside containerd:
// its /dev/shm mount, generated files, FIFOs, logs and health log.
func (c *Client) removeFiles(sc scheduler.Container) error {
	var errs []error
	if dir := sc.Labels[labelShm]; dir != "" {
		errs = append(errs, unmountShm(dir))
	}
	// The FIFOs of its processes are left only by a berth process killed
	// while it ran one (a probe of the project's process, say).
	for _, dir := range []string{c.containerDir(sc.ID), c.fifoDir(sc.ID), c.taskIODir(sc.ID)} {
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, err)
		}
	}
	for _, log := range append(rotatedLogs(c.logPath(sc.ID)), c.logPath(sc.ID), c.stdinPath(sc.ID), c.healthPath(sc.ID)) {
		if err := os.Remove(log); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// namedVolumes are the names of the named volumes the service mounts, each
// once, in the order of its mounts.
func namedVolumes(s *compose.Service) []string {
	var out []string
	for _, m := range s.Mounts {
		if m.Type == compose.MountVolume && !slices.Contains(out, m.Source) {
			out = append(out, m.Source)
		}
	}
	return out
}

// RemoveVolume deletes a named volume's directory. A missing volume is not
// an error.
func (c *Client) RemoveVolume(_ context.Context, name string) error {
	if name == "" || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
		return fmt.Errorf("remove volume: invalid name %q", name)
	}
	if err := os.RemoveAll(c.volumeDir(name)); err != nil { // the volume's directory, with its _data
		return fmt.Errorf("remove volume %s: %w", name, err)
	}
	return nil
}

// imageHealthcheck is the image's HEALTHCHECK (Docker's config extension,
// which the OCI config type leaves out), or nil.
func (c *Client) imageHealthcheck(ctx context.Context, img containerd.Image) *compose.Healthcheck {
	desc, err := img.Config(ctx)
	if err != nil {
		return nil
	}
	raw, err := content.ReadBlob(ctx, c.client.ContentStore(), desc)
	if err != nil {
		return nil
	}
	var cfg dockerspec.DockerOCIImage
	if json.Unmarshal(raw, &cfg) != nil || cfg.Config.Healthcheck == nil {
		return nil
	}
	h := cfg.Config.Healthcheck
	out := &compose.Healthcheck{Test: h.Test}
	set := func(d time.Duration) *time.Duration {
		if d == 0 {
			return nil
		}
		return &d
	}
	out.Interval, out.Timeout, out.StartPeriod, out.StartInterval = set(h.Interval), set(h.Timeout), set(h.StartPeriod), set(h.StartInterval)
	if h.Retries > 0 {
		r := h.Retries
		out.Retries = &r
	}
	return out
}

// withImageExpose is the service's expose: entries followed by the ports
// its image's EXPOSE declares ("5000/tcp"), as ps shows both (docker does).
func withImageExpose(expose []string, image map[string]struct{}) []string {
	out := slices.Clone(expose)
	for _, p := range slices.Sorted(maps.Keys(image)) {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}
