#!/usr/bin/env bash
# cross-containerd.sh ARCH: print the directory holding containerd and containerd-shim-runc-v2
# for ARCH (amd64, arm64 or armv7) at the version go.mod uses, building them first when they are
# not cached. They are built as scripts/install-deps.sh builds the native ones (CGO_ENABLED=0,
# the same tags), cross-compiled by the Go toolchain, and cached in
# /usr/local/lib/berth/containerd-<version>-<arch> (BERTH_CROSS_CACHE overrides the parent).
# The first build of one architecture takes a few minutes; later calls only check.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { printf 'cross-containerd: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

arch="${1:-}"
case "$arch" in
amd64) goarch=amd64 goarm= ;;
arm64) goarch=arm64 goarm= ;;
armv7) goarch=arm goarm=7 ;;
*) die "unknown architecture '${arch}': use amd64, arm64 or armv7" ;;
esac
command -v go >/dev/null || die "Go is not installed: the release build needs Go"

version="$(cd "$here" && go list -m -f '{{.Version}}' github.com/containerd/containerd/v2)"
cache="${BERTH_CROSS_CACHE:-/usr/local/lib/berth}"
dest="$cache/containerd-$version-$arch"
if [ -x "$dest/containerd" ] && [ -x "$dest/containerd-shim-runc-v2" ]; then
	echo "$dest"
	exit 0
fi
mkdir -p "$dest" || die "cannot create $dest (run as root, or set BERTH_CROSS_CACHE to a writable directory)"
# One build at a time per architecture: a second make release (or test run) waits, then finds it.
exec 9>"$dest/.lock"
flock 9
if [ -x "$dest/containerd" ] && [ -x "$dest/containerd-shim-runc-v2" ]; then
	echo "$dest"
	exit 0
fi
say "building containerd $version for linux/$arch into $dest (a few minutes the first time)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# go install refuses GOBIN for a cross build; a private GOPATH puts the binaries in
# $tmp/bin/linux_<goarch>, and the shared module cache keeps downloads to the first time.
# Outside the berth module, so that go install resolves containerd's own dependencies.
modcache="$(go env GOMODCACHE)"
gocache="$(go env GOCACHE)"
(cd "$tmp" && env -u GOBIN GOPATH="$tmp/gopath" GOMODCACHE="$modcache" GOCACHE="$gocache" \
	CGO_ENABLED=0 GOOS=linux GOARCH="$goarch" GOARM="$goarm" \
	go install -trimpath -tags "no_btrfs no_devmapper no_zfs" \
	"github.com/containerd/containerd/v2/cmd/containerd@$version" \
	"github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@$version")
bin="$tmp/gopath/bin"
[ "$goarch" = "$(go env GOARCH)" ] || bin="$bin/linux_$goarch"
install -m 0755 "$bin/containerd" "$bin/containerd-shim-runc-v2" "$dest/"
echo "$dest"
