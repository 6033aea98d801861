#!/usr/bin/env bash
# release.sh VERSION [ARCH...]: what `make release` runs. For each architecture (amd64, arm64,
# armv7 by default) it writes into dist/:
#   berth-VERSION-linux-ARCH          berth, static (CGO_ENABLED=0), version stamped as make build does,
#                                     without the symbol table and DWARF (-s -w: 38 MB instead of 54 on
#                                     amd64; panics and goroutine dumps still name functions and lines)
#   berth-VERSION-linux-ARCH.tar.gz   the offline install archive: berth, its probe agent and
#                                     berth-shim (where a static gcc for ARCH is installed),
#                                     containerd and its runc shim (cross-built at go.mod's
#                                     version), Debian's runc, the systemd unit, README and
#                                     install.sh (see release/)
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
cbins="$(mktemp -d)"
trap 'rm -rf "$cbins"' EXIT

# probe_cc is the C compiler that builds the static C programs installed beside berth for an
# architecture, the probe agent and berth-shim: Debian's (cross) gcc. Without it the release has
# neither: berth probes healthchecks by exec there, and its containers run under containerd's runc
# shim by name. probe_pkgs are the Debian packages that give it.
cflags=(-static -Os -s -Wall -Wextra -Werror)
probe_cc() {
	case "$1" in
	amd64) echo x86_64-linux-gnu-gcc ;;
	arm64) echo aarch64-linux-gnu-gcc ;;
	armv7) echo arm-linux-gnueabihf-gcc ;;
	esac
}
probe_pkgs() {
	case "$1" in
	amd64) echo "gcc libc6-dev (on amd64; gcc-x86-64-linux-gnu libc6-dev-amd64-cross elsewhere)" ;;
	arm64) echo "gcc-aarch64-linux-gnu libc6-dev-arm64-cross" ;;
	armv7) echo "gcc-arm-linux-gnueabihf libc6-dev-armhf-cross" ;;
	esac
}

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
		"$GO" build -trimpath -ldflags "-s -w -X main.version=$version" -o "$bin" ./cmd/berth
	probe= shim=
	cc="$(probe_cc "$arch")"
	if command -v "$cc" >/dev/null; then
		"$cc" "${cflags[@]}" -o "$cbins/berth-probe-$arch" probeagent/agent.c && probe="$cbins/berth-probe-$arch"
		"$cc" "${cflags[@]}" -o "$cbins/berth-shim-$arch" shimwrap/shim.c && shim="$cbins/berth-shim-$arch"
	fi
	[ -n "$probe" ] || say "no static $cc: the $arch release has no probe agent (healthchecks run as execs there): apt-get install $(probe_pkgs "$arch")"
	[ -n "$shim" ] || say "no static $cc: the $arch release has no berth-shim (containers run under containerd's runc shim there): apt-get install $(probe_pkgs "$arch")"
	cddir="$(scripts/cross-containerd.sh "$arch")"
	runcdir="$(scripts/debian-runc.sh "$arch")"
	"$GO" run ./release/mkrelease -arch "$arch" -version "$version" -berth "$bin" -probe-agent "$probe" -shim-wrapper "$shim" \
		-containerd-version "$cdversion" -containerd-dir "$cddir" -runc-dir "$runcdir" \
		-mtime "$epoch" -o "$dist" >/dev/null
done

(cd "$dist" && rm -f SHA256SUMS && LC_ALL=C sha256sum -- berth-*-linux-* | LC_ALL=C sort -k2 >SHA256SUMS.new && mv SHA256SUMS.new SHA256SUMS)
say "wrote $dist/SHA256SUMS:"
sed 's/^/  /' "$dist/SHA256SUMS" >&2
