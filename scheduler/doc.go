// Package scheduler decides and does: it walks the service dependency graph,
// reconciles desired services with observed containers into a plan of typed
// operations, and executes that plan; GraphView is that graph as berth graph
// shows it (text, DOT, JSON). It declares the narrow Runtime and
// Network interfaces it needs and never imports containerd or netlink.
// The DryRun functions (dryrun.go) decide as the commands do and return the
// plan unexecuted, given only read-only interfaces.
package scheduler
