package containerd

import (
	"fmt"

	"github.com/berth/berth/compose"
)

// annotationShimGroup is the OCI annotation by which containerd's runc v2
// shim serves every task whose spec names the same group from one shim
// process (its manager's Start reads it from the bundle's config.json),
// as Kubernetes does for a pod's containers.
const annotationShimGroup = "io.containerd.runc.v2.group"

// ShimSharing is how new containers share containerd's runc shims.
type ShimSharing int

const (
	// ShimPerContainer gives every container a shim of its own (Docker's
	// way, and the default).
	ShimPerContainer ShimSharing = iota
	// ShimPerProject serves all of a compose project's containers from
	// one shim: about 5 MiB PSS and 17 MiB RSS less per container. Not
	// the default: with containerd 2.4's runc shim, under heavy load a
	// new task's shim start can fail to reach the group's live shim
	// within its 100 ms dial timeout, take over the group's socket path
	// and start a second shim (the first one's tasks then cannot be found
	// again after a restart of containerd); and one shim forwards the
	// events of all its tasks (three per probe) to containerd one at a
	// time, so that with many probing services and a slow containerd,
	// exits are seen late.
	ShimPerProject
)

// ParseShimSharing reads a ShimSharing by name: "container" (or "") or
// "project".
func ParseShimSharing(name string) (ShimSharing, error) {
	switch name {
	case "", "container":
		return ShimPerContainer, nil
	case "project":
		return ShimPerProject, nil
	}
	return 0, fmt.Errorf("%q: want container (the default) or project", name)
}

// WithShimSharing sets how new containers share runc shims (default
// ShimPerContainer). Containers keep the sharing they were made with.
func WithShimSharing(s ShimSharing) Opt { return func(o *connectOptions) { o.shims = s } }

// shimGroup is the shim group of a new container of project, "" for a
// shim of its own. With ShimPerProject, all of a compose project's
// containers, services and one-offs alike, share one: the group names
// the namespace and the project, and the shim's socket address is
// derived from it together with containerd's address, so another
// berth's daemon never shares it.
//
// The plain containers of `berth container run` (compose.ContainersProject)
// keep a shim each, as with Docker: they are unrelated to each other, and
// a shim that dies (OOM-killed, say) takes every task it serves down with
// it. Build steps keep theirs too (they are made in containerd/build).
// Containers made before have no annotation and keep the shim they have.
func (c *Client) shimGroup(project string) string {
	if c.shims != ShimPerProject || project == "" || project == compose.ContainersProject {
		return ""
	}
	return "berth/" + c.namespace + "/" + project
}

// inShimGroup runs create, which makes a task of a container in group.
// The first task of a group this client makes is made alone: the runc
// shim's start of a grouped task dials the group's socket and, finding no
// shim there yet (a sibling's shim still starting, as when up starts a
// project's containers at once), starts a second shim for the group. Once
// one task of the group was made, the others are made side by side. A
// group whose shim has since exited (all its tasks gone) is not seen as
// such: berth rarely starts several tasks of one project at once then.
func (c *Client) inShimGroup(group string, create func() error) error {
	if group == "" {
		return create()
	}
	if _, up := c.shimsUp.Load(group); up {
		return create()
	}
	defer c.shimStarts.lock(group)()
	err := create()
	if err == nil {
		c.shimsUp.Store(group, true)
	}
	return err
}
