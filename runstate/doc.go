// Package runstate keeps what berth's processes share about a project in
// the run directory: the lock that lets one command at a time change the
// project, and the state of its supervision, which the project's
// background process writes and up and ps read.
package runstate
