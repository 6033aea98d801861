// Package hostproc reads the host's /proc for berth top and berth stats:
// the ps -ef rows of a container's processes, the network counters of its
// namespace and the host's memory. It takes the proc directory as a value,
// so tests run on a fake one.
package hostproc
