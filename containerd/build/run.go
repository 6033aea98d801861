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
	"strings"
	"syscall"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/oci"
	cfs "github.com/containerd/continuity/fs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// runSpec is one RUN step's process.
type runSpec struct {
	snapshot string
	mounts   []mount.Mount
	argv     []string
	env      []string
	user     string
	cwd      string
	network  NetworkMode
	// netns and etcDir are the build network's namespace and /etc files,
	// for NetworkDefault.
	netns, etcDir string
	// memory is the step's memory limit in bytes; 0 is none.
	memory int64
	// binds are the step's secret files and agent sockets.
	binds []specs.Mount
	// privileged runs the step with every capability, the host's devices
	// and no seccomp profile (RUN --security=insecure).
	privileged bool
	out        *runLines
}

// runSpecOpts are the spec options of a RUN step's container, over
// containerd's default spec (Docker's default capability set, masked and
// read-only paths) and confine (Docker's seccomp profile): the step's
// process, and its network: the build's namespace with the build's hosts
// and resolv.conf, the host's with the host's files, or an empty one.
func runSpecOpts(rs runSpec, confine []oci.SpecOpts) []oci.SpecOpts {
	opts := []oci.SpecOpts{
		oci.WithProcessArgs(rs.argv...),
		oci.WithEnv(rs.env),
		oci.WithProcessCwd(rs.cwd),
		oci.WithHostname("berth-build"),
		// No tmpfs on /run, as in Docker's builds: what the image or an
		// earlier step put there stays, and what this step writes there
		// goes into its layer.
		oci.WithoutRunMount,
	}
	if rs.user != "" {
		opts = append(opts, oci.WithUser(rs.user), oci.WithAdditionalGIDs(rs.user))
	}
	opts = append(opts, confine...)
	if rs.memory > 0 {
		opts = append(opts, oci.WithMemoryLimit(uint64(rs.memory)))
	}
	if rs.privileged {
		opts = append(opts, oci.WithPrivileged, oci.WithAllDevicesAllowed, oci.WithHostDevices,
			oci.WithMaskedPaths(nil), oci.WithReadonlyPaths(nil), withoutSeccomp)
	}
	if len(rs.binds) > 0 {
		opts = append(opts, oci.WithMounts(rs.binds))
	}
	switch rs.network {
	case NetworkHost:
		opts = append(opts, oci.WithHostNamespace(specs.NetworkNamespace), oci.WithHostHostsFile, oci.WithHostResolvconf)
	case NetworkDefault:
		opts = append(opts,
			oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: rs.netns}),
			oci.WithMounts([]specs.Mount{etcMount(rs.etcDir, "hosts"), etcMount(rs.etcDir, "resolv.conf")}))
	}
	return opts
}

// etcMount binds the build's file name at /etc/name. It is the build's
// own copy, so a step may change it without reaching the host.
func etcMount(dir, name string) specs.Mount {
	return specs.Mount{Destination: "/etc/" + name, Type: "bind", Source: filepath.Join(dir, name), Options: []string{"rbind", "rprivate"}}
}

// runTask runs a RUN step's command in a containerd task on the prepared
// snapshot, streaming its output, and fails with its exit status and last
// lines when it does not exit 0. The mount points runc makes for /proc,
// /dev, /etc/resolv.conf and the like are removed again so that they do
// not end up in the layer.
func (b *Builder) runTask(ctx context.Context, owner BuildOwner, fifoDir string, rs runSpec, what string) (retErr error) {
	cleanup := context.WithoutCancel(ctx)
	id := "berth-build-" + randomID()
	// The owner label lets Reap find the container when this berth is
	// killed before it deletes it.
	ctr, err := b.client.NewContainer(ctx, id,
		containerd.WithSnapshotter(b.cfg.Snapshotter),
		containerd.WithSnapshot(rs.snapshot),
		containerd.WithRuntime("io.containerd.runc.v2", nil),
		containerd.WithContainerLabels(map[string]string{LabelOwner: owner.String()}),
		containerd.WithNewSpec(runSpecOpts(rs, b.cfg.Confine)...),
	)
	if err != nil {
		return fmt.Errorf("%s: create build container: %w", what, err)
	}
	defer ctr.Delete(cleanup) //nolint:errcheck // the snapshot is the build's, not the container's

	spec, err := ctr.Spec(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	var targets []string
	for _, m := range spec.Mounts {
		targets = append(targets, m.Destination)
	}
	var stubs []string
	err = mount.WithTempMount(ctx, rs.mounts, func(root string) error {
		stubs = missing(root, targets)
		// The working directory is made as the image's, as Docker does.
		return (&copier{root: root}).mkdirAll(rs.cwd)
	})
	if err != nil {
		return fmt.Errorf("%s: prepare: %w", what, err)
	}
	defer func() {
		err := mount.WithTempMount(cleanup, rs.mounts, func(root string) error { return removeStubs(root, stubs) })
		if err != nil && retErr == nil {
			retErr = fmt.Errorf("%s: clean up mount points: %w", what, err)
		}
	}()

	if err := os.MkdirAll(fifoDir, 0o700); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	stdout, stderr := rs.out.streams()
	task, err := ctr.NewTask(ctx, cio.NewCreator(cio.WithStreams(nil, stdout, stderr), cio.WithFIFODir(fifoDir)))
	if err != nil {
		return fmt.Errorf("%s: %w", what, runcReason(err))
	}
	defer task.Delete(cleanup, containerd.WithProcessKill) //nolint:errcheck // best effort: the container goes too
	exit, err := task.Wait(cleanup)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := task.Start(ctx); err != nil {
		return fmt.Errorf("%s: %w", what, runcReason(err))
	}
	var status containerd.ExitStatus
	select {
	case status = <-exit:
	case <-ctx.Done():
		task.Kill(cleanup, syscall.SIGKILL) //nolint:errcheck // it is deleted next
		<-exit
		return ctx.Err()
	}
	code, _, err := status.Result()
	// The exit can come before the last output: deleting the task waits
	// for its output to be copied.
	task.Delete(cleanup) //nolint:errcheck // best effort: the deferred delete kills and retries
	rs.out.flush()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if code != 0 {
		msg := fmt.Sprintf("%s: the command exited with status %d", what, code)
		if last := rs.out.lastLines(); len(last) > 0 {
			msg += "; its last output lines:\n    " + strings.Join(last, "\n    ")
		}
		return errors.New(msg)
	}
	return nil
}

// missing returns the image paths, and their parents, that do not exist
// under root: what runc will make as mount points.
func missing(root string, paths []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range paths {
		for q := path.Clean(p); q != "/" && !seen[q]; q = path.Dir(q) {
			seen[q] = true
			host, err := cfs.RootPath(root, q)
			if err != nil {
				continue
			}
			if _, err := os.Lstat(host); errors.Is(err, fs.ErrNotExist) {
				out = append(out, q)
			}
		}
	}
	return out
}

// removeStubs removes the mount points runc made, deepest first, when they
// are still empty directories or empty files.
func removeStubs(root string, stubs []string) error {
	sort.Slice(stubs, func(i, j int) bool { return len(stubs[i]) > len(stubs[j]) })
	for _, p := range stubs {
		host, err := cfs.RootPath(root, p)
		if err != nil {
			continue
		}
		st, err := os.Lstat(host)
		if err != nil || !(st.IsDir() || st.Mode().IsRegular() && st.Size() == 0) {
			continue
		}
		if err := os.Remove(host); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTEMPTY) && !errors.Is(err, syscall.EEXIST) {
			return err
		}
	}
	return nil
}

// runcReason cuts runc's wrapped start errors down to the reason.
func runcReason(err error) error {
	const marker = "unable to start container process: "
	msg := err.Error()
	if i := strings.LastIndex(msg, marker); i >= 0 {
		return errors.New(strings.TrimSuffix(msg[i+len(marker):], ": unknown"))
	}
	return err
}

// withoutSeccomp drops the seccomp profile confine set, for a privileged
// step.
func withoutSeccomp(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
	if s.Linux != nil {
		s.Linux.Seccomp = nil
	}
	return nil
}
