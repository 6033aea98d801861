// Package fscopy copies files between the host and a container's root
// filesystem with docker cp's semantics, and holds Root, through which
// berth writes into any root filesystem (berth cp, and the builder's COPY
// and ADD). A path in a container is resolved as the container sees it:
// symlinks, absolute ones included, are followed inside its root and
// never out of it; reads go through an os.Root and writes through a Root
// (openat2 RESOLVE_IN_ROOT, the last element never followed), so neither
// a symlink in the tree nor one swapped in meanwhile leads out of it.
package fscopy
