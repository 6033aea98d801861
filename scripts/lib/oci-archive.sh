# oci-archive.sh: sourced by the image scripts. Turns a root filesystem tar into an OCI image archive
# (oci-layout, index.json naming the image, gzip layer, config, manifest) that `berth load` reads.
# Deterministic: the same layer tar gives the same archive, byte for byte.

# oci_arch: sets arch and variant, as OCI names them, for the Debian architecture $deb_arch (this
# machine's when unset): amd64, arm64, armhf (arm v7).
oci_arch() {
	local d="${deb_arch:-$(dpkg --print-architecture)}"
	variant=""
	case "$d" in
		amd64) arch=amd64 ;; arm64) arch=arm64 ;; armhf) arch=arm; variant=v7 ;;
		*) arch="$d" ;;
	esac
}

# oci_archive LAYER.tar OUT.tar NAME CONFIG_JSON CREATED_BY: write the archive; CONFIG_JSON is the
# image config's "config" object (Env, Cmd, ...). Prints "OUT: NAME (sha256:MANIFEST)".
oci_archive() {
	local layer_tar="$1" out="$2" name="$3" config_obj="$4" created_by="$5"
	local work layout diffid layer layersize config configsize manifest manifestsize
	work="$(mktemp -d)"
	layout="$work/layout"
	mkdir -p "$layout/blobs/sha256"
	oci_arch
	diffid="$(sha256sum "$layer_tar" | cut -d' ' -f1)"
	gzip -n -c -6 "$layer_tar" >"$work/layer.tar.gz"
	read -r layer layersize < <(oci_blob "$work/layer.tar.gz" "$layout")
	printf '{"architecture":"%s",%s"os":"linux","created":"1970-01-01T00:00:00Z","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"%s"}]}' \
		"$arch" "${variant:+\"variant\":\"$variant\",}" "$config_obj" "$diffid" "$created_by" >"$work/config.json"
	read -r config configsize < <(oci_blob "$work/config.json" "$layout")
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
		"$config" "$configsize" "$layer" "$layersize" >"$work/manifest.json"
	read -r manifest manifestsize < <(oci_blob "$work/manifest.json" "$layout")
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
		"$manifest" "$manifestsize" "$name" "${name##*:}" >"$layout/index.json"
	printf '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
	tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$layout" -cf "$out.tmp" . && mv "$out.tmp" "$out"
	rm -rf "$work"
	echo "$out: $name (sha256:$manifest)"
}

# oci_blob FILE LAYOUT: move FILE into the layout's blobs; prints "digest size".
oci_blob() {
	local d s
	d="$(sha256sum "$1" | cut -d' ' -f1)"
	s="$(stat -c %s "$1")"
	mv "$1" "$2/blobs/sha256/$d"
	echo "$d $s"
}
