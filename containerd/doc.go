// Package containerd is berth's only user of the containerd client: the
// connection and the managed daemon, images (pull, load, list), containers,
// tasks (their processes, metrics and root filesystems), logs and volumes.
// Client implements scheduler.Runtime.
//
// A service container's task writes its output into FIFOs in a directory
// of its own under the run dir (taskio.go); the project's long-lived
// process reads them into the containers' log files (LogCollector). The
// pipes bound what waits while no collector reads (that process
// restarting): 1 MiB per stream, beyond which the container blocks on
// its next write until a collector reads again.
package containerd
