// Package release makes and installs berth's offline install archives: one
// per architecture, holding berth, the containerd and runc shim it runs, and
// runc, laid out as they go on the box, with their checksums, so that an edge
// box with no Go and no internet can install them.
package release
