package containerd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/sandbox"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/scheduler"
)

// annotationShimGroup is the OCI annotation by which containerd's runc v2
// shim serves every task whose spec names the same group from one shim
// process (its manager's Start reads it from the bundle's config.json),
// as Kubernetes does for a pod's containers.
const annotationShimGroup = "io.containerd.runc.v2.group"

// ShimSharing is how new containers share containerd's runc shims.
type ShimSharing int

const (
	// ShimPerProject serves all of a compose project's containers from
	// one shim, held by the project's shim anchor (see ensureShimAnchor):
	// about 5 MiB PSS, 17 MiB RSS and two Go process starts less per
	// container. The default. A shim that dies (killed, or by the OOM
	// killer) ends all the project's containers at once, as a Kubernetes
	// pod's shim does; their restart policies then start them again.
	// containerd 2.4's runc shim handles its processes' exits one at a
	// time, which backs up when a task is deleted too early (see
	// exitPublished).
	ShimPerProject ShimSharing = iota
	// ShimPerContainer gives every container a shim of its own (Docker's
	// way): a shim that dies takes only its container's task with it.
	ShimPerContainer
)

// ParseShimSharing reads a ShimSharing by name: "project" (or "") or
// "container".
func ParseShimSharing(name string) (ShimSharing, error) {
	switch name {
	case "", "project":
		return ShimPerProject, nil
	case "container":
		return ShimPerContainer, nil
	}
	return 0, fmt.Errorf("%q: want project (the default) or container", name)
}

// WithShimSharing sets how new containers share runc shims (default
// ShimPerProject). Containers keep the sharing they were made with.
func WithShimSharing(s ShimSharing) Opt { return func(o *connectOptions) { o.shims = s } }

// labelShimAnchor, on a container that shares its project's shim, names
// the anchor container that holds the shim.
const labelShimAnchor = "berth.shim-anchor"

// labelAnchorOf marks an anchor container, with its project's name. An
// anchor has no compose project label: no listing of containers shows it.
const labelAnchorOf = "berth.shim-anchor-of"

// cgroupRoot is where the host's cgroups are.
const cgroupRoot = "/sys/fs/cgroup"

// anchorPrefix begins the ID of every anchor container.
const anchorPrefix = "berth.shim."

// How a project's containers share one shim. containerd's runc shim serves
// the tasks whose specs name the same group annotation from one process,
// but each new task's shim start has to find that process by dialling the
// group's socket within 100 ms, and when it does not (a busy machine), it
// takes the socket over and starts a second shim; the first one's tasks
// are then lost to containerd after its restart. So berth does what the
// Kubernetes CRI does for a pod: a project has an anchor container, whose
// task (berth-probe pause: a sleeping static process) is the group's
// first and starts the shim, and which containerd knows as a sandbox. The
// project's containers are made in that sandbox: containerd hands their
// tasks straight to the anchor's shim, with no shim start and no dial.
// The anchor goes with the project's last container (dropShimAnchor).

// shimAnchor is the anchor container's ID for a new container of project,
// "" when it is to have a shim of its own: sharing is off, there is no
// static pause binary (berth-probe) to run in the anchor, or the
// container is not a compose service's. The plain containers of `berth
// container run` (compose.ContainersProject) keep a shim each, as with
// Docker: they are unrelated to each other, and a shim that dies (killed,
// say) takes every task it serves down with it. Build steps keep theirs
// too (they are made in containerd/build).
func (c *Client) shimAnchor(project string) string {
	if c.shims != ShimPerProject || c.pauseBinary == "" || project == "" || project == compose.ContainersProject {
		return ""
	}
	return anchorPrefix + project
}

// shimGroup is the runc shim group of an anchor: it names the namespace
// and the project, and the shim's socket address is derived from it
// together with containerd's address, so another berth's daemon never
// shares it.
func (c *Client) shimGroup(project string) string {
	return "berth/" + c.namespace + "/" + project
}

// isAnchorLost reports a task creation that failed because the sandbox's
// shim is not known to containerd (the anchor's task was deleted).
func isAnchorLost(err error) bool {
	return err != nil && strings.Contains(err.Error(), "shim for sandbox")
}

// lockAnchor locks the project's anchor against every berth process: its
// making, and its removal with the project's last container.
func (c *Client) lockAnchor(anchor string) (unlock func(), err error) {
	dir := filepath.Join(c.runDir, "shims", c.namespace)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, anchor+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// anchorRoot is the anchor containers' root filesystem: an empty
// directory, read-only in the container, where runc makes the mount
// points.
func (c *Client) anchorRoot() string { return filepath.Join(c.runDir, "shims", "root") }

// ensureShimAnchor makes sure the project's anchor is there with a task,
// so that a task in its sandbox finds the shim: the container, the
// sandbox record and the task are each made when missing (a reboot takes
// the task; a restart of containerd keeps it).
func (c *Client) ensureShimAnchor(ctx context.Context, anchor, project string) (retErr error) {
	if _, ok := c.anchorsUp.Load(anchor); ok {
		return nil
	}
	unlock, err := c.lockAnchor(anchor)
	if err != nil {
		return fmt.Errorf("shim of project %q: %w", project, err)
	}
	defer unlock()
	if err := c.makeShimAnchor(ctx, anchor, project); err != nil {
		return fmt.Errorf("shim of project %q: %w", project, err)
	}
	c.anchorsUp.Store(anchor, true)
	return nil
}

func (c *Client) makeShimAnchor(ctx context.Context, anchor, project string) (retErr error) {
	ctx = context.WithoutCancel(ctx) // half an anchor helps no one
	if _, err := c.client.SandboxStore().Create(ctx, sandbox.Sandbox{
		ID:        anchor,
		Labels:    map[string]string{labelAnchorOf: project},
		Runtime:   sandbox.RuntimeOpts{Name: runtimeName},
		CreatedAt: time.Now().UTC(),
		UpdatedAt: time.Now().UTC(),
	}); err != nil && !errdefs.IsAlreadyExists(err) {
		return fmt.Errorf("record sandbox %s: %w", anchor, err)
	}
	ctr, err := c.client.LoadContainer(ctx, anchor)
	if errdefs.IsNotFound(err) {
		ctr, err = c.newAnchorContainer(ctx, anchor, project)
	}
	if err != nil {
		return fmt.Errorf("anchor container %s: %w", anchor, err)
	}
	labels, err := ctr.Labels(ctx)
	if err != nil {
		return fmt.Errorf("anchor container %s: %w", anchor, err)
	}
	if labels[labelAnchorOf] != project {
		return fmt.Errorf("a container named %s is in the way of the project's shim anchor: remove or rename it", anchor)
	}
	if _, err := ctr.Task(ctx, nil); err == nil {
		return nil
	} else if !errdefs.IsNotFound(err) {
		return fmt.Errorf("anchor container %s: %w", anchor, err)
	}
	task, err := ctr.NewTask(ctx, cio.NullIO)
	if errdefs.IsAlreadyExists(err) && c.clearStaleTask(ctx, anchor) {
		task, err = ctr.NewTask(ctx, cio.NullIO)
	}
	if err != nil {
		return fmt.Errorf("anchor container %s: start its shim: %w", anchor, runcReason(err))
	}
	if err := task.Start(ctx); err != nil {
		deleteTask(ctx, task, containerd.WithProcessKill) //nolint:errcheck // the start error is the one to report
		return fmt.Errorf("anchor container %s: start: %w", anchor, runcReason(err))
	}
	// The shim's CPU weight (see shimWeightFactor) is a help, not a
	// need: a host whose cgroups do not allow it runs the shim as is.
	if pid, err := shimPid("/proc", task.Pid()); err == nil {
		weighShim(cgroupRoot, c.shimCgroup(project), pid) //nolint:errcheck // see above
	}
	return nil
}

// newAnchorContainer makes the anchor container: berth-probe pause as
// PID 1 of its own namespaces (an empty network one), no capabilities,
// no_new_privs, a read-only empty root, 16 MiB and 4 processes at most.
func (c *Client) newAnchorContainer(ctx context.Context, anchor, project string) (containerd.Container, error) {
	root := c.anchorRoot()
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	opts := []oci.SpecOpts{
		oci.WithRootFSPath(root),
		oci.WithRootFSReadonly(),
		oci.WithProcessArgs(ProbeAgentPath, "pause"),
		oci.WithProcessCwd("/"),
		oci.WithMounts([]specs.Mount{{Destination: ProbeAgentPath, Type: "bind", Source: c.pauseBinary, Options: []string{"rbind", "ro", "nosuid", "nodev"}}}),
		oci.WithCapabilities(nil),
		oci.WithNoNewPrivileges,
		oci.WithMemoryLimit(16 << 20),
		oci.WithPidsLimit(4),
		oci.WithAnnotations(map[string]string{annotationShimGroup: c.shimGroup(project)}),
	}
	// Apart from another berth's anchor of the same project, as its
	// containers are (see cgroupParent).
	if cg := c.cgroupParent(); cg != "" {
		opts = append(opts, oci.WithCgroup(cg+"/"+anchor))
	}
	return c.client.NewContainer(ctx, anchor,
		containerd.WithRuntime(c.runtime(), c.runtimeOptions()),
		containerd.WithNewSpec(opts...),
		containerd.WithContainerLabels(map[string]string{labelAnchorOf: project}),
	)
}

// dropShimAnchor removes the project's anchor (its task, which lets its
// shim exit, the container and the sandbox record) when the project has
// no container left.
func (c *Client) dropShimAnchor(ctx context.Context, anchor, project string) error {
	ctx = context.WithoutCancel(ctx)
	unlock, err := c.lockAnchor(anchor)
	if err != nil {
		return fmt.Errorf("shim of project %q: %w", project, err)
	}
	defer unlock()
	left, err := c.client.ContainerService().List(ctx, fmt.Sprintf("labels.%q==%s", compose.LabelProject, project))
	if err != nil {
		return fmt.Errorf("shim of project %q: %w", project, err)
	}
	for _, info := range left {
		if info.SandboxID == anchor {
			return nil
		}
	}
	c.anchorsUp.Delete(anchor)
	return c.removeShimAnchor(ctx, anchor, project)
}

// removeShimAnchor removes an anchor: its task, its container and its
// sandbox record; what is gone already is no error.
func (c *Client) removeShimAnchor(ctx context.Context, anchor, project string) error {
	var errs []error
	ctr, err := c.client.LoadContainer(ctx, anchor)
	switch {
	case errdefs.IsNotFound(err):
	case err != nil:
		errs = append(errs, err)
	default:
		if task, err := ctr.Task(ctx, nil); err == nil {
			if _, err := deleteTask(ctx, task, killPause); err != nil && !errdefs.IsNotFound(err) {
				errs = append(errs, err)
			} else {
				unweighShim(cgroupRoot, c.shimCgroup(project), 2*time.Second)
			}
		} else if !errdefs.IsNotFound(err) {
			errs = append(errs, err)
		}
		if err := ctr.Delete(ctx); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	if err := c.client.SandboxStore().Delete(ctx, anchor); err != nil && !errdefs.IsNotFound(err) {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove shim anchor %s: %w", anchor, err)
	}
	return nil
}

var _ scheduler.ShimStarter = (*Client)(nil)

// StartShim implements scheduler.ShimStarter: it makes the project's
// anchor, and with it the shim its containers share, when it is not up
// (see ensureShimAnchor); nothing when they get a shim each.
func (c *Client) StartShim(ctx context.Context, project string) error {
	anchor := c.shimAnchor(project)
	if anchor == "" {
		return nil
	}
	return c.ensureShimAnchor(ctx, anchor, project)
}

// DropShim implements scheduler.ShimStarter: it removes the project's
// anchor when no container of the project is in its sandbox (see
// dropShimAnchor).
func (c *Client) DropShim(ctx context.Context, project string) error {
	anchor := c.shimAnchor(project)
	if anchor == "" {
		return nil
	}
	return c.dropShimAnchor(ctx, anchor, project)
}
