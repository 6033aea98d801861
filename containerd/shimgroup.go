package containerd

import "github.com/berth/berth/compose"

// annotationShimGroup is the OCI annotation by which containerd's runc v2
// shim serves every task whose spec names the same group from one shim
// process (its manager's Start reads it from the bundle's config.json),
// as Kubernetes does for a pod's containers.
const annotationShimGroup = "io.containerd.runc.v2.group"

// shimGroup is the shim group of a new container of project: one shim for
// all of a compose project's containers, services and one-offs alike,
// instead of one each (about 5 MiB PSS and 17 MiB RSS per shim). The
// group names the namespace and the project; the shim's socket address
// is derived from it together with containerd's address, so another
// berth's daemon never shares it.
//
// The plain containers of `berth container run` (compose.ContainersProject)
// keep a shim each, as with Docker: they are unrelated to each other, and
// a shim that dies (OOM-killed, say) takes every task it serves down with
// it. Build steps keep theirs too (they are made in containerd/build).
// Containers made before this group existed have no annotation and keep
// the shim they have.
func (c *Client) shimGroup(project string) string {
	if project == "" || project == compose.ContainersProject {
		return ""
	}
	return "berth/" + c.namespace + "/" + project
}
