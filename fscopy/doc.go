// Package fscopy copies files between the host and a container's root
// filesystem with docker cp's semantics. A path in a container is resolved
// as the container sees it: symlinks, absolute ones included, are followed
// inside its root and never out of it; and every read and write goes
// through an os.Root, so a symlink swapped in meanwhile cannot lead out of
// the root either.
package fscopy
