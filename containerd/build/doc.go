// Package build is berth's image builder: it executes Dockerfiles itself on
// containerd's snapshotter, diff service and content store (no BuildKit
// daemon), parsing them with buildkit's parser packages only. This first
// part holds what needs no daemon: the build context (.dockerignore, source
// selection that cannot leave the context, content hashes) and step cache
// keys.
package build
