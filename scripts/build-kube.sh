#!/usr/bin/env bash
# build-kube.sh [-f] [--replaces]: build the single-node Kubernetes control plane for the cluster e2e.
#
# Builds scripts/kube (its own Go module: etcd through go.etcd.io/etcd/server/v3/embed, the
# kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy and kubectl commands of
# the k8s.io/kubernetes release its go.mod names, and CoreDNS as coredns) as one multi-call binary, berth-kube, into
# $BERTH_KUBE_DIR (default /usr/local/lib/berth/kube-<release>/) with a symlink per command.
# Skips the build when that binary is already there and answers --version, kubectl and coredns;
# -f rebuilds. Prints the build's wall time. GOCACHE is honoured: a fresh GOCACHE gives a cold build.
# Measured (k8s v1.37.2, etcd v3.7.3, CoreDNS v1.15.0, Go 1.26.8, 2 cores, nice 19, module cache
# filled, beside other e2e runs and builds): cold build (fresh GOCACHE) 507 s wall (594 s user +
# 119 s sys) at load average 3.5-6.8, 755 s wall (622 s user + 130 s sys) at 14-18; 3.3 GiB peak
# RSS (the link), 159 MiB binary; with a warm GOCACHE 10 s (7 s user). Over a GOCACHE warm with
# v1.36.3 only (most modules moved): 1127 s wall under the lead's CI run (645 s user + 119 s sys).
# Before (k8s v1.36.3, etcd v3.6.8, cluster-dns instead of CoreDNS): cold 412 s on an idle machine,
# 1243 s wall (984 s user + 357 s sys) beside a CI e2e, 138 MiB with kubectl (129 MiB without).
# --replaces prints the replace block that go.mod needs for its k8s.io/kubernetes release (each
# staging module at its published v0.Y.Z tag), for moving to another release.
set -euo pipefail

src="$(cd "$(dirname "${BASH_SOURCE[0]}")/kube" && pwd)"
cd "$src"
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=readonly -trimpath"
release="$(go list -m -f '{{.Version}}' k8s.io/kubernetes)"
[[ "$release" =~ ^v1\.([0-9]+)\.([0-9]+)$ ]] || { echo "build-kube.sh: k8s.io/kubernetes $release is not a v1.Y.Z release" >&2; exit 1; }
minor="${BASH_REMATCH[1]}"

if [ "${1:-}" = --replaces ]; then
	gomod="$(go mod download -json "k8s.io/kubernetes@$release" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')"
	echo "replace ("
	awk '$2 == "=>" && $3 ~ /^\.\/staging\// { print $1 }' "$gomod" | while read -r m; do
		if go list -m "$m@v0.$minor.${BASH_REMATCH[2]}" >/dev/null 2>&1; then
			printf '\t%s => %s v0.%s.%s\n' "$m" "$m" "$minor" "${BASH_REMATCH[2]}"
		else
			echo "build-kube.sh: $m v0.$minor.${BASH_REMATCH[2]} is not published; left out" >&2
		fi
	done
	echo ")"
	exit 0
fi

dir="${BERTH_KUBE_DIR:-/usr/local/lib/berth/kube-$release}"
bin="$dir/berth-kube"
commands=(etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl coredns)
if [ "${1:-}" != -f ] && [ -x "$bin" ] && "$bin" kube-apiserver --version >/dev/null 2>&1 &&
	"$bin" kubectl version --client >/dev/null 2>&1 && "$bin" coredns -version >/dev/null 2>&1; then
	echo "build-kube.sh: $bin is built ($release); -f rebuilds"
	exit 0
fi

# The version stamps hack/lib/version.sh sets: --version, /version and the kubelet's node status
# read them; without them they say v0.0.0-master.
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	ldflags+=" -X $pkg.gitVersion=$release -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
	ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
done

mkdir -p "$dir"
tmp="$(mktemp "$dir/.berth-kube.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
echo "build-kube.sh: building k8s.io/kubernetes $release + etcd $(go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3) into $dir (GOCACHE=$(go env GOCACHE))"
start=$SECONDS
if ! nice -n "${BERTH_KUBE_NICE:-19}" go build -ldflags "$ldflags" -o "$tmp" .; then
	echo "build-kube.sh: FAILED: go build of scripts/kube ($release) after $((SECONDS - start))s" >&2
	exit 1
fi
elapsed=$((SECONDS - start))
"$tmp" kube-apiserver --version >/dev/null || { echo "build-kube.sh: FAILED: the built binary does not run" >&2; exit 1; }
mv -f "$tmp" "$bin"
for c in "${commands[@]}"; do ln -sfn berth-kube "$dir/$c"; done
echo "build-kube.sh: built $bin ($(du -m "$bin" | cut -f1) MiB) in ${elapsed}s"
