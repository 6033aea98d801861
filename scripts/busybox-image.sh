#!/usr/bin/env bash
# busybox-image.sh OUT.tar [NAME]: write an OCI image archive of Debian's busybox-static.
#
# For machines that cannot pull from Docker Hub (offline edge boxes, this project's CI): the archive
# is what `berth load -i OUT.tar` reads. NAME defaults to docker.io/library/busybox:latest, so compose
# files that say `image: busybox` work unchanged. The output is byte-identical between runs for the
# same busybox binary (fixed mtimes, sorted entries, gzip without a timestamp).
set -euo pipefail

out="${1:?usage: busybox-image.sh OUT.tar [NAME]}"
name="${2:-docker.io/library/busybox:latest}"
busybox=/bin/busybox
[ -x "$busybox" ] && "$busybox" --list >/dev/null 2>&1 || {
	echo "busybox-image.sh: $busybox is missing or not busybox-static; run scripts/install-deps.sh" >&2
	exit 1
}
. "$(dirname "${BASH_SOURCE[0]}")/lib/oci-archive.sh"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
mkdir -p "$root"/{bin,etc,tmp,root,www,var/www}
chmod 1777 "$root/tmp"
install -m 0755 "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
	[ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
printf '<h1>hello from berth</h1>\n' >"$root/www/index.html"

tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$root" -cf "$work/layer.tar" .
oci_archive "$work/layer.tar" "$out" "$name" '{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]}' \
	"scripts/busybox-image.sh (Debian busybox-static)"
