// Package containerd is berth's only user of the containerd client: the
// connection and the managed daemon, images (pull, load, list), containers,
// tasks (their processes, metrics and root filesystems), logs and volumes.
// Client implements scheduler.Runtime.
package containerd
