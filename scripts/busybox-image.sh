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
case "$(dpkg --print-architecture)" in
	amd64) arch=amd64 ;; arm64) arch=arm64 ;; armhf) arch=arm; variant=v7 ;;
	*) arch="$(dpkg --print-architecture)" ;;
esac

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs" layout="$work/layout"
mkdir -p "$root"/{bin,etc,tmp,root,www,var/www} "$layout/blobs/sha256"
chmod 1777 "$root/tmp"
install -m 0755 "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
	[ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
printf '<h1>hello from berth</h1>\n' >"$root/www/index.html"

tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$root" -cf "$work/layer.tar" .
diffid="$(sha256sum "$work/layer.tar" | cut -d' ' -f1)"
gzip -n -9 "$work/layer.tar"
layer="$(sha256sum "$work/layer.tar.gz" | cut -d' ' -f1)"
layersize="$(stat -c %s "$work/layer.tar.gz")"
mv "$work/layer.tar.gz" "$layout/blobs/sha256/$layer"

blob() { # blob FILE -> prints "digest size" after moving FILE into the layout
	local d s
	d="$(sha256sum "$1" | cut -d' ' -f1)"
	s="$(stat -c %s "$1")"
	mv "$1" "$layout/blobs/sha256/$d"
	echo "$d $s"
}

printf '{"architecture":"%s",%s"os":"linux","created":"1970-01-01T00:00:00Z","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"scripts/busybox-image.sh (Debian busybox-static)"}]}' \
	"$arch" "${variant:+\"variant\":\"$variant\",}" "$diffid" >"$work/config.json"
read -r config configsize < <(blob "$work/config.json")

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
	"$config" "$configsize" "$layer" "$layersize" >"$work/manifest.json"
read -r manifest manifestsize < <(blob "$work/manifest.json")

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
	"$manifest" "$manifestsize" "$name" "${name##*:}" >"$layout/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"

tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$layout" -cf "$out.tmp" . && mv "$out.tmp" "$out"
echo "$out: $name (sha256:$manifest)"
