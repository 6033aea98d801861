#!/usr/bin/env bash
# install-deps.sh: install what berth needs on a Debian 12 machine (as root).
#
#   - runc, nftables, iptables and iproute2 (the container runtime, packet filter and link tools),
#   - gcc and libc6-dev (make build compiles the static probe agent, probeagent/agent.c, and
#     berth-shim, shimwrap/shim.c), and Debian's cross gcc for the other release architectures,
#   - busybox-static, mmdebstrap (test and example images made from Debian packages),
#   - skopeo and docker-registry (the pull tests push to a real registry on 127.0.0.1),
#   - curl (make demo asks the example's api for its readings),
#   - qemu-user-static and arch-test (for mmdebstrap --arch), with binfmt_misc mounted and its
#     qemu-aarch64 and qemu-arm handlers registered (flag F) when missing, so berth builds and runs
#     linux/arm64 and linux/arm/v7 images,
#   - openssl and containernetworking-plugins (scripts/kube-cluster.sh: the test cluster's
#     certificates, and its pods' bridge, host-local and portmap CNI plugins),
#   - the containerd daemon and containerd-shim-runc-v2 at the version go.mod uses, built with
#     `go install` into /usr/local/lib/berth/containerd-<version>, where berth looks for them.
#
# Idempotent: when everything is there it only checks, in well under a second.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
packages=(runc nftables iptables iproute2 gcc libc6-dev busybox-static mmdebstrap skopeo docker-registry curl qemu-user-static arch-test graphviz openssl containernetworking-plugins)
# graphviz: the unit tests check that berth graph --format dot is read by dot
# The cross compilers of the other architectures berth releases for (make release): their archives
# then carry the static probe agent and berth-shim too, as the native one does.
case "$(dpkg --print-architecture)" in
amd64) packages+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-arm-linux-gnueabihf libc6-dev-armhf-cross) ;;
arm64) packages+=(gcc-x86-64-linux-gnu libc6-dev-amd64-cross gcc-arm-linux-gnueabihf libc6-dev-armhf-cross) ;;
esac

say() { printf 'install-deps: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (berth needs root for containers and networks): sudo $0"
need_go=1.26.8 # the containerd 2.4 client and buildkit 0.34 parser berth uses require it
command -v go >/dev/null || die "Go is not installed; install Go $need_go or newer and retry"
have_go="$(go env GOVERSION | sed 's/^go//')"
if [ "$(printf '%s\n%s\n' "$need_go" "$have_go" | sort -V | head -n1)" != "$need_go" ]; then
	die "Go $have_go is too old: berth needs Go $need_go or newer"
fi

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	say "installing Debian packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	# Debian's docker-registry package starts a registry on :5000 on all interfaces; berth's
	# tests start their own on loopback, so keep the packaged one off (systemd or not).
	if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
		systemctl disable --now docker-registry >/dev/null 2>&1 || true
	elif [ -x /etc/init.d/docker-registry ]; then
		/etc/init.d/docker-registry stop >/dev/null 2>&1 || true
		update-rc.d docker-registry disable >/dev/null 2>&1 || true
	fi
fi

. "$here/scripts/lib/binfmt.sh"
binfmt_register

version="$(cd "$here" && go list -m -f '{{.Version}}' github.com/containerd/containerd/v2)"
dest="/usr/local/lib/berth/containerd-$version"
if [ ! -x "$dest/containerd" ] || [ ! -x "$dest/containerd-shim-runc-v2" ] || [ ! -x "$dest/ctr" ]; then
	say "building containerd $version into $dest (about 3 minutes the first time)"
	mkdir -p "$dest"
	tmp="$(mktemp -d)"
	trap 'rm -rf "$tmp"' EXIT
	# Outside the berth module, so that go install resolves containerd's own dependencies.
	(cd "$tmp" && CGO_ENABLED=0 GOBIN="$tmp/bin" go install -tags "no_btrfs no_devmapper no_zfs" \
		"github.com/containerd/containerd/v2/cmd/containerd@$version" \
		"github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@$version" \
		"github.com/containerd/containerd/v2/cmd/ctr@$version")
	install -m 0755 "$tmp/bin/containerd" "$tmp/bin/containerd-shim-runc-v2" "$tmp/bin/ctr" "$dest/"
fi
say "ok: Debian packages present, arm64/arm emulation registered, containerd $version in $dest"
