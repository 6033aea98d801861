#!/usr/bin/env bash
# debian-runc.sh ARCH: print the directory holding runc for ARCH (amd64, arm64 or armv7), taken
# from Debian's runc package for that architecture (arm64, armhf), downloading it first when it is
# not cached. apt fetches it with a private configuration (its own lists, no dpkg architecture
# added to this machine) from the suite this machine runs, so the signed Release file and the
# package's checksum are verified as apt always does. Cached in
# /usr/local/lib/berth/runc-<debian version>-<arch> (BERTH_CROSS_CACHE overrides the parent),
# with the .deb's name and SHA256 in runc.source.
#
# Debian's runc is linked against libc6 and libseccomp2; the release archive's README says so.
set -euo pipefail

say() { printf 'debian-runc: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

arch="${1:-}"
case "$arch" in
amd64) debarch=amd64 ;;
arm64) debarch=arm64 ;;
armv7) debarch=armhf ;;
*) die "unknown architecture '${arch}': use amd64, arm64 or armv7" ;;
esac
suite="${BERTH_DEBIAN_SUITE:-$(. /etc/os-release && echo "${VERSION_CODENAME:-}")}"
[ -n "$suite" ] || die "cannot tell which Debian suite this machine runs: set BERTH_DEBIAN_SUITE (e.g. bookworm)"
mirror="${BERTH_DEBIAN_MIRROR:-http://deb.debian.org}"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || die "$keyring is missing: apt-get install debian-archive-keyring"
cache="${BERTH_CROSS_CACHE:-/usr/local/lib/berth}"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/deb"
touch "$tmp/status"
cat >"$tmp/sources.list" <<LIST
deb [signed-by=$keyring] $mirror/debian $suite main
deb [signed-by=$keyring] $mirror/debian $suite-updates main
deb [signed-by=$keyring] $mirror/debian-security $suite-security main
LIST
apt=(-qq -o APT::Architecture="$debarch" -o APT::Architectures::="$debarch"
	-o Dir::State="$tmp" -o Dir::State::Lists="$tmp/lists" -o Dir::State::status="$tmp/status"
	-o Dir::Cache="$tmp/cache" -o Dir::Etc::SourceList="$tmp/sources.list" -o Dir::Etc::SourceParts=/dev/null
	-o Acquire::Languages=none -o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false
	-o APT::Sandbox::User=root -o Debug::NoLocking=1)
# An index apt could not fetch (a mirror in mid-sync) is left out, and said; what apt did fetch
# is verified, so the newest runc among those is still Debian's signed package.
apt-get "${apt[@]}" update >&2 || say "warning: apt-get update for $debarch did not fetch every index (above); using those it fetched"
version="$(apt-cache "${apt[@]}" show "runc:$debarch" | sed -n 's/^Version: //p' | sort -V | tail -n1)"
[ -n "$version" ] || die "Debian $suite has no runc for $debarch"
dest="$cache/runc-$version-$arch"
if [ -x "$dest/runc" ] && [ -f "$dest/runc.source" ]; then
	echo "$dest"
	exit 0
fi
say "downloading Debian's runc $version for $debarch into $dest"
(cd "$tmp/deb" && apt-get "${apt[@]}" download "runc:$debarch=$version" >&2)
deb="$(ls "$tmp"/deb/*.deb)"
dpkg-deb -x "$deb" "$tmp/x"
mkdir -p "$dest" || die "cannot create $dest (run as root, or set BERTH_CROSS_CACHE to a writable directory)"
install -m 0755 "$tmp/x/usr/sbin/runc" "$dest/runc"
printf '%s %s\n' "$(sha256sum "$deb" | cut -d' ' -f1)" "$(basename "$deb")" >"$dest/runc.source"
echo "$dest"
