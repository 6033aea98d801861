#!/usr/bin/env bash
# debian-image.sh [--arch arm64|armhf|amd64] OUT.tar [NAME]: write an OCI image archive of a slim
# Debian 12 (bookworm) root filesystem, made from Debian packages with mmdebstrap, like
# debian:bookworm-slim.
#
# --arch makes the image for another architecture (its config says linux/arm64 or linux/arm/v7):
# mmdebstrap runs the packages' scripts under qemu user emulation, so qemu-user-static and its
# binfmt_misc handlers must be there (scripts/install-deps.sh). That takes about 7 minutes on 2
# cores, once; the archive is cached under its own key like the native one.
#
# For machines that cannot pull from Docker Hub (offline edge boxes, this project's CI): the archive
# is what `berth load -i OUT.tar` reads. NAME defaults to docker.io/library/debian:bookworm-slim, so
# Dockerfiles that say `FROM debian:bookworm-slim` work unchanged. Making the root filesystem takes
# about 30 s; the archive is cached in $BERTH_IMAGE_CACHE (default /var/cache/berth/images) under
# the recipe's hash, so later runs take about a second. The mirror is $DEBIAN_MIRROR (default
# http://deb.debian.org/debian).
set -euo pipefail

usage="usage: debian-image.sh [--arch arm64|armhf|amd64] OUT.tar [NAME]"
deb_arch="$(dpkg --print-architecture)"
native="$deb_arch"
case "${1:-}" in
	--arch) deb_arch="${2:?$usage}"; shift 2 ;;
	--arch=*) deb_arch="${1#--arch=}"; shift ;;
esac
case "$deb_arch" in
	amd64 | arm64 | armhf) ;;
	*) echo "debian-image.sh: unknown architecture \"$deb_arch\": use amd64, arm64 or armhf" >&2; exit 2 ;;
esac
out="${1:?$usage}"
name="${2:-docker.io/library/debian:bookworm-slim}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
cache="${BERTH_IMAGE_CACHE:-/var/cache/berth/images}"
command -v mmdebstrap >/dev/null || {
	echo "debian-image.sh: mmdebstrap is missing; run scripts/install-deps.sh" >&2
	exit 1
}
. "$(dirname "${BASH_SOURCE[0]}")/lib/oci-archive.sh"
if [ "$deb_arch" != "$native" ]; then
	qemu="qemu-aarch64"
	[ "$deb_arch" = armhf ] && qemu="qemu-arm"
	[ "$deb_arch" = amd64 ] && qemu="qemu-x86_64"
	if [ ! -e "/proc/sys/fs/binfmt_misc/$qemu" ]; then
		echo "debian-image.sh: making a $deb_arch image on this $native machine needs qemu user emulation: run scripts/install-deps.sh (binfmt_misc handler $qemu is not registered)" >&2
		exit 1
	fi
fi

# What the image holds: change any of it and the cache key changes.
epoch=1735689600 # 2025-01-01: fixed times make the archive byte-identical between runs
opts=(
	--variant=minbase --mode=root --format=tar --components=main
	--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
	--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright'
	--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*'
	--dpkgopt='path-exclude=/usr/share/groff/*' --dpkgopt='path-exclude=/usr/share/lintian/*'
	--dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias'
	--customize-hook='rm -f "$1"/etc/hostname "$1"/etc/resolv.conf'
	--customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/log/*.log'
)
created_by="scripts/debian-image.sh (mmdebstrap bookworm minbase)"
if [ "$deb_arch" != "$native" ]; then
	# Only for a foreign architecture, so the native image (and its cache key) stays as it was.
	opts=(--arch="$deb_arch" "${opts[@]}")
	created_by="scripts/debian-image.sh (mmdebstrap bookworm $deb_arch minbase)"
fi
config='{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["bash"]}'
oci_arch
key="$(printf '%s\n' "bookworm" "$mirror" "$arch" "$epoch" "$name" "$config" "${opts[@]}" | sha256sum | cut -c1-16)"
cached="$cache/debian-bookworm-slim-$arch-$key.tar"
if [ -s "$cached" ]; then
	cp "$cached" "$out.tmp" && mv "$out.tmp" "$out"
	echo "$out: $name (cached)"
	exit 0
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/berth-debian.XXXXXX")"
trap 'rm -rf "$work"' EXIT
if [ "$deb_arch" = "$native" ]; then
	echo "debian-image.sh: making a Debian bookworm root filesystem with mmdebstrap (about 30 s, once)" >&2
else
	echo "debian-image.sh: making a Debian bookworm $deb_arch root filesystem with mmdebstrap under qemu (about 7 minutes, once)" >&2
fi
# /usr/bin first: a python3 shim earlier in PATH slows mmdebstrap's per-package filter a lot.
PATH="/usr/sbin:/usr/bin:/sbin:/bin" SOURCE_DATE_EPOCH="$epoch" TMPDIR="${BERTH_MMDEBSTRAP_TMP:-/dev/shm}" \
	mmdebstrap --quiet "${opts[@]}" bookworm "$work/rootfs.tar" "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
	>"$work/mmdebstrap.log" 2>&1 || {
	cat "$work/mmdebstrap.log" >&2
	echo "debian-image.sh: mmdebstrap failed (is $mirror reachable? set DEBIAN_MIRROR to change it)" >&2
	exit 1
}
oci_archive "$work/rootfs.tar" "$out" "$name" "$config" "$created_by"
mkdir -p "$cache"
cp "$out" "$cached.tmp" && mv "$cached.tmp" "$cached"
