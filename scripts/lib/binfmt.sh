# binfmt.sh: sourced by install-deps.sh. Makes sure the kernel runs arm64 and armhf binaries through
# Debian's qemu-user-static, so berth can build and run images for those platforms on this machine.
#
# binfmt_register [DIR] [CONFDIR]: mount binfmt_misc on DIR (default /proc/sys/fs/binfmt_misc) when
# it is not mounted, then register qemu-aarch64 and qemu-arm from CONFDIR/qemu-*.conf (default
# /usr/lib/binfmt.d, installed by qemu-user-static) when they are missing. Handlers already there are
# left alone (others may rely on them). The F flag (open the interpreter at registration) is added
# when the .conf lacks it, so containers whose root has no qemu binary still run foreign binaries.
binfmt_register() {
	local dir="${1:-/proc/sys/fs/binfmt_misc}" confdir="${2:-/usr/lib/binfmt.d}" h conf line flags
	if [ ! -e "$dir/register" ]; then
		mount -t binfmt_misc binfmt_misc "$dir" || {
			echo "install-deps: error: cannot mount binfmt_misc on $dir" >&2
			return 1
		}
	fi
	for h in qemu-aarch64 qemu-arm; do
		[ -e "$dir/$h" ] && continue
		conf="$confdir/$h.conf"
		[ -r "$conf" ] || {
			echo "install-deps: error: $conf is missing; apt-get install qemu-user-static" >&2
			return 1
		}
		line="$(grep -v '^#' "$conf" | head -n1)"
		# The line is :name:type:offset:magic:mask:interpreter:flags; make sure flags hold F.
		flags="${line##*:}"
		case "$flags" in *F*) ;; *) line="${line}F" ;; esac
		printf '%s' "$line" >"$dir/register" || {
			echo "install-deps: error: cannot register $h in $dir/register" >&2
			return 1
		}
		echo "install-deps: registered $h in binfmt_misc (flags ${line##*:})" >&2
	done
}
