#!/usr/bin/env bash
# release.sh VERSION [ARCH...]: what `make release` runs. For each architecture (amd64, arm64,
# armv7 by default) it writes into dist/:
#   berth-VERSION-linux-ARCH          berth, static (CGO_ENABLED=0), version stamped as make build does
#   berth-VERSION-linux-ARCH.tar.gz   the offline install archive: berth, containerd and its runc shim
#                                     (cross-built at go.mod's version), Debian's runc, the systemd
#                                     unit, README and install.sh (see release/)
# and SHA256SUMS over all of them. Reproducible: -trimpath, entries sorted, every mtime the last
# commit's time (or SOURCE_DATE_EPOCH). The containerd cross builds and runc packages are cached
# (scripts/cross-containerd.sh, scripts/debian-runc.sh): only the first run builds or downloads them.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
say() { printf 'release: %s\n' "$*" >&2; }

version="${1:?usage: release.sh VERSION [ARCH...]}"
shift
arches=("$@")
[ ${#arches[@]} -gt 0 ] || arches=(amd64 arm64 armv7)
GO="${GO:-go}"
dist="${DIST:-dist}"
epoch="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}"
cdversion="$("$GO" list -m -f '{{.Version}}' github.com/containerd/containerd/v2)"
mkdir -p "$dist"

for arch in "${arches[@]}"; do
	case "$arch" in
	amd64) goarch=amd64 goarm= ;;
	arm64) goarch=arm64 goarm= ;;
	armv7) goarch=arm goarm=7 ;;
	*) say "error: unknown architecture '$arch': use amd64, arm64 or armv7"; exit 1 ;;
	esac
	bin="$dist/berth-$version-linux-$arch"
	say "berth $version for linux/$arch"
	CGO_ENABLED=0 GOOS=linux GOARCH="$goarch" GOARM="$goarm" \
		"$GO" build -trimpath -ldflags "-X main.version=$version" -o "$bin" ./cmd/berth
	cddir="$(scripts/cross-containerd.sh "$arch")"
	runcdir="$(scripts/debian-runc.sh "$arch")"
	"$GO" run ./release/mkrelease -arch "$arch" -version "$version" -berth "$bin" \
		-containerd-version "$cdversion" -containerd-dir "$cddir" -runc-dir "$runcdir" \
		-mtime "$epoch" -o "$dist" >/dev/null
done

(cd "$dist" && rm -f SHA256SUMS && LC_ALL=C sha256sum -- berth-*-linux-* | LC_ALL=C sort -k2 >SHA256SUMS.new && mv SHA256SUMS.new SHA256SUMS)
say "wrote $dist/SHA256SUMS:"
sed 's/^/  /' "$dist/SHA256SUMS" >&2
