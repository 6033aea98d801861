#!/usr/bin/env bash
# kube-cluster.sh up DIR | down DIR | env DIR: a single-node Kubernetes on this machine, for the e2e tests.
#
# up brings up, with all state under DIR and a run directory /run/bk-<hash of DIR> (short: unix socket
# paths are limited to 108 bytes): certificates made here with openssl, etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler (the multi-call berth-kube binary of scripts/build-kube.sh),
# a second containerd with its CRI plugin (separate root, state, sockets and runc root from berth's own),
# kubelet on it and kube-proxy (iptables mode). It writes an admin kubeconfig to DIR/kubeconfig; `env`
# prints KUBECONFIG=… and PATH=… lines for a shell (kubectl is a command of berth-kube).
# down stops all of it and removes what it made: processes, mounts, network namespaces, the CNI bridge and
# veths, the KUBE-*/CNI-* iptables chains, CNI state under /var/lib/cni, kubelet's cgroups, and the
# sysctls it changed are put back. DIR keeps only DIR/logs. down is idempotent and cleans up after a
# half-failed up; up on failure prints the failing component's log tail, runs down (unless
# KUBE_CLUSTER_KEEP is set, to inspect) and exits 1. KUBE_CLUSTER_TIMEOUT bounds each component's start.
#
# Only one cluster runs on a machine at a time (fixed ports). Everything listens on 127.0.0.1, except
# the kube-apiserver, the kubelet and CoreDNS, which listen on the node IP: the gateway address of
# the cluster's own bridge, which up makes first (nothing binds 0.0.0.0, the machine's outside
# interfaces). The apiserver is there so that pods reach it: the default `kubernetes` Service
# (10.237.0.1:443, kubernetes.default.svc) has the node IP as its endpoint (the default lease
# reconciler), and in-cluster clients (a Job waiter's `kubectl wait`) use it with their ServiceAccount
# token. The kubeconfigs point at the node IP too.
#   etcd 127.0.0.1:23790 (peer 23800)     kube-apiserver https://10.236.0.1:16443
#   controller-manager :10457, scheduler :10459, kube-proxy healthz :10356 metrics :10349
#   kubelet NODE_IP:10350, healthz 127.0.0.1:10348    NodePorts on 127.0.0.1 and NODE_IP (30000-32767)
#   coredns NODE_IP:53 (UDP and TCP), health 127.0.0.1:10351, ready 127.0.0.1:10352
#   bridge bkube0, pods 10.236.0.0/24 (node IP 10.236.0.1), services 10.237.0.0/24; berth's own networks
#   are in 10.89.0.0/16 (netbridge.DefaultPool), so the two never overlap.
# Volumes: PersistentVolumeClaims bind through the default StorageClass "hostpath" (up applies it),
# provisioned by the controller-manager's hostpath provisioner. That plugin makes each volume in
# /tmp/hostpath_pv/<uuid>, a path it fixes; up makes /tmp/hostpath_pv a symlink to DIR/volumes, so the
# data lives under DIR, and down removes both. Volumes are root's, mode 0750 (no fsGroup on hostPath).
# Images: the sandbox (pause) image berth.local/pause:1 (busybox's sleep),
# docker.io/library/busybox:latest (scripts/busybox-image.sh) and registry.k8s.io/kubectl:<release>
# are imported offline into the CRI containerd's k8s.io namespace; more with
# KUBE_CLUSTER_IMAGES="a.tar b.tar". Pods must use imagePullPolicy IfNotPresent or Never for them.
# The kubectl image is the Job waiters' of kube/doc.go (`kubectl wait`): its /usr/local/bin/kubectl
# is berth-kube, which answers to the name it is called by; it is assembled once per berth-kube into
# BERTH_KUBE_DIR/kubectl-image.tar (about 11 s here), then only imported. KUBE_CLUSTER_KUBECTL_IMAGES="REF ..."
# gives it more names (a converter's default Job waiter image of another release).
# Registries: the CRI containerd reads its registry hosts from DIR/containerd/certs.d (not the host's
# /etc/containerd/certs.d), where a registry on a loopback port (127.0.0.1:PORT, as berth push uses
# them) is plain HTTP by default; KUBE_CLUSTER_REGISTRY="HOST:PORT ..." declares more plain-HTTP
# registries (HOST a loopback address or the node IP, which pods reach too).
# DNS: CoreDNS, built into berth-kube as its coredns command (scripts/kube/coredns.go; no registry
# serves its image here), runs on the host at NODE_IP:53 with the Corefile up writes to DIR/Corefile,
# and the kubelet's clusterDNS points at it. Its kubernetes plugin answers cluster.local (Services,
# headless Services' ready endpoints, HOST.SVC.NS.svc.cluster.local of StatefulSet pods, pod A
# records) and the reverse zones. Other names are REFUSED (there is no server block for them: tests
# must never query outside), unless KUBE_CLUSTER_DNS_UPSTREAM=ADDR:PORT is set, which adds a "." block
# that forwards there (with the loop plugin).
#
# Measured here (k8s v1.37.2 with CoreDNS; 2 cores, cgroup v1, Debian 12, beside other e2e runs and
# builds): up 14-31 s (CoreDNS ready 1 s after the scheduler; 11 s more the first time, to assemble
# the kubectl image), down 19-20 s with pods running, 17-22 s when nothing runs (each component takes
# about 2 s to stop on SIGTERM); down after kill -9 of coredns, kubelet, containerd and apiserver
# cleans up too (9 s; links, mounts, KUBE-/CNI- chains, nft tables, CNI state, cgroups, sysctls,
# processes and listeners compared before and after: the same). The e2e harness prints both times.
set -euo pipefail

self="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# The release is the one scripts/kube/go.mod names, whose build-kube.sh cache directory this is.
release="$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v1\./ { print $2; exit }' "$self/kube/go.mod")"
kube_dir="${BERTH_KUBE_DIR:-/usr/local/lib/berth/kube-$release}"
ctrd_dir="${BERTH_KUBE_CONTAINERD_DIR:-/usr/local/lib/berth/containerd-v2.4.2}"
runc_bin="${BERTH_KUBE_RUNC:-/usr/sbin/runc}"
cni_bin="/usr/lib/cni"
node_name="berth-kube-node"
bridge="bkube0"
net_name="berth-kube"
pod_cidr="10.236.0.0/24"
node_ip="10.236.0.1"
svc_cidr="10.237.0.0/24"
svc_ip="10.237.0.1"
etcd_port=23790 etcd_peer=23800 api_port=16443 cm_port=10457 sched_port=10459
kubelet_port=10350 kubelet_healthz=10348 proxy_healthz=10356 proxy_metrics=10349
dns_health=10351 dns_ready=10352
pause_image="berth.local/pause:1"
hostpath_pv=/tmp/hostpath_pv # where the hostpath provisioner puts volumes (fixed in its code)
timeout="${KUBE_CLUSTER_TIMEOUT:-120}"

die() { echo "kube-cluster.sh: $*" >&2; exit 1; }
log() { echo "kube-cluster.sh: $*" >&2; }

usage() { die "usage: kube-cluster.sh up|down|env DIR"; }
[ $# -eq 2 ] || usage
cmd="$1"
mkdir -p "$2"
dir="$(cd "$2" && pwd)"
run="/run/bk-$(printf '%s' "$dir" | sha256sum | cut -c1-8)"
pki="$dir/pki" logs="$dir/logs"
kubectl() { "$kube_dir/berth-kube" kubectl --kubeconfig "$dir/kubeconfig" "$@"; }

# ---------------------------------------------------------------- processes
start() { # start NAME CMD...: run CMD in its own session, log to logs/NAME.log, pid in run/NAME.pid
	local name="$1"
	shift
	setsid "$@" </dev/null >>"$logs/$name.log" 2>&1 &
	echo $! >"$run/$name.pid"
}

alive() { local p; p="$(cat "$run/$1.pid" 2>/dev/null)" && kill -0 "$p" 2>/dev/null; }

# wait_for NAME PROBE...: wait until PROBE succeeds; fail with NAME's log tail when NAME exits or the
# bound passes.
wait_for() {
	local name="$1" deadline=$((SECONDS + timeout))
	shift
	until "$@" >/dev/null 2>&1; do
		if ! alive "$name"; then
			fail "$name exited during start"
		fi
		if [ $SECONDS -ge $deadline ]; then
			fail "$name did not become healthy within ${timeout}s (probe: $*)"
		fi
		sleep 1
	done
	log "$name is up ($((SECONDS - t0))s)"
}

fail() {
	echo "kube-cluster.sh: up: $1; last lines of $logs/$name.log:" >&2
	tail -n 25 "$logs/$name.log" >&2 || true
	if [ -n "${KUBE_CLUSTER_KEEP:-}" ]; then
		echo "kube-cluster.sh: up failed; KUBE_CLUSTER_KEEP is set: left running for inspection, run down DIR" >&2
		exit 1
	fi
	echo "kube-cluster.sh: up failed; cleaning up with down" >&2
	down >&2 || true
	exit 1
}

stop() { # stop NAME: SIGTERM, then SIGKILL after 15 s
	local p i
	p="$(cat "$run/$1.pid" 2>/dev/null)" || return 0
	if kill -0 "$p" 2>/dev/null; then
		kill -TERM "$p" 2>/dev/null || true
		for i in $(seq 150); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null || true
		while kill -0 "$p" 2>/dev/null; do sleep 0.1; done
	fi
	rm -f "$run/$1.pid"
}

tls_get() { curl -fsS --max-time 5 --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" "$@"; }

# ---------------------------------------------------------------- certificates
cert() { # cert NAME CN O [SAN]: a key and a certificate signed by the cluster CA
	local name="$1" cn="$2" o="$3" san="${4:-}" ext="$pki/$1.ext"
	openssl genrsa -out "$pki/$name.key" 2048 2>/dev/null
	openssl req -new -key "$pki/$name.key" -subj "/CN=$cn${o:+/O=$o}" -out "$pki/$name.csr" 2>/dev/null
	{
		echo "basicConstraints=CA:FALSE"
		echo "keyUsage=critical,digitalSignature,keyEncipherment"
		if [ -n "$san" ]; then
			echo "extendedKeyUsage=serverAuth,clientAuth"
			echo "subjectAltName=$san"
		else
			echo "extendedKeyUsage=clientAuth"
		fi
	} >"$ext"
	openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
		-days 30 -sha256 -extfile "$ext" -out "$pki/$name.crt" 2>/dev/null
	rm -f "$pki/$name.csr" "$ext"
}

make_pki() {
	mkdir -p "$pki"
	openssl genrsa -out "$pki/ca.key" 2048 2>/dev/null
	openssl req -x509 -new -key "$pki/ca.key" -subj "/CN=berth-kube-ca" -days 30 -sha256 \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
		-out "$pki/ca.crt" 2>/dev/null
	cert apiserver kube-apiserver "" \
		"IP:127.0.0.1,IP:$svc_ip,IP:$node_ip,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
	cert admin berth-kube-admin system:masters
	cert kubelet "system:node:$node_name" system:nodes
	cert kubelet-serving "system:node:$node_name" system:nodes "IP:$node_ip,DNS:$node_name"
	openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
	openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
}

kubeconfig() { # kubeconfig FILE CERTNAME
	cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: berth-kube
  cluster:
    server: https://$node_ip:$api_port
    certificate-authority: $pki/ca.crt
users:
- name: $2
  user:
    client-certificate: $pki/$2.crt
    client-key: $pki/$2.key
contexts:
- name: berth-kube
  context: {cluster: berth-kube, user: $2}
current-context: berth-kube
EOF
}

# ---------------------------------------------------------------- configuration files
containerd_config() {
	cat >"$dir/containerd/config.toml" <<EOF
# Written by scripts/kube-cluster.sh: the CRI containerd of the test cluster, apart from berth's own.
version = 3
root = "$dir/containerd/root"
state = "$run/containerd"
imports = []
disabled_plugins = ["io.containerd.nri.v1.nri"]

[grpc]
  address = "$run/containerd.sock"
[ttrpc]
  address = "$run/containerd.sock.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "$dir/containerd/opt"
[plugins."io.containerd.cri.v1.images".pinned_images]
  sandbox = "$pause_image"
[plugins."io.containerd.cri.v1.images".registry]
  config_path = "$dir/containerd/certs.d"
[plugins."io.containerd.cri.v1.runtime"]
  netns_mounts_under_state_dir = true
  # The kubelet asks for oom_score_adj -998 for sandboxes; lowering it below our own is refused
  # here ("failed to update /proc/self/oom_score_adj: Permission denied" from runc's nsexec).
  restrict_oom_score_adj = true
  cdi_spec_dirs = []
[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
  BinaryName = "$runc_bin"
  Root = "$run/runc"
  SystemdCgroup = false
[plugins."io.containerd.cri.v1.runtime".cni]
  bin_dirs = ["$cni_bin"]
  conf_dir = "$dir/cni"
  max_conf_num = 1
[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
EOF
	registry_hosts
	mkdir -p "$dir/cni"
	cat >"$dir/cni/10-berth-kube.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$net_name",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$bridge",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$dir/cni-ipam",
        "ranges": [[{"subnet": "$pod_cidr", "gateway": "$node_ip"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
}

# registry_hosts: a hosts.toml per KUBE_CLUSTER_REGISTRY entry, making it plain HTTP. A loopback
# registry without one is plain HTTP already (containerd's default for loopback hosts with a port).
registry_hosts() {
	local r
	mkdir -p "$dir/containerd/certs.d"
	for r in ${KUBE_CLUSTER_REGISTRY:-}; do
		mkdir -p "$dir/containerd/certs.d/$r"
		cat >"$dir/containerd/certs.d/$r/hosts.toml" <<EOF
# Written by scripts/kube-cluster.sh (KUBE_CLUSTER_REGISTRY): a plain-HTTP registry on this machine.
server = "http://$r"
[host."http://$r"]
  capabilities = ["pull", "resolve"]
EOF
	done
}

kubelet_config() {
	cat >"$dir/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# cgroup v1 host: the kubelet refuses it when failCgroupV1 is set; say so, whatever the default.
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: /berth-kube
cgroupsPerQOS: true
failSwapOn: false
containerRuntimeEndpoint: unix://$run/containerd.sock
address: $node_ip
port: $kubelet_port
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $kubelet_healthz
podLogsDir: $dir/pod-logs
tlsCertFile: $pki/kubelet-serving.crt
tlsPrivateKeyFile: $pki/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: AlwaysAllow}
clusterDomain: cluster.local
clusterDNS: [$node_ip]
resolvConf: /etc/resolv.conf
registerNode: true
protectKernelDefaults: false
makeIPTablesUtilChains: false
localStorageCapacityIsolation: false
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "50Mi", nodefs.available: "1%", imagefs.available: "1%"}
staticPodPath: ""
EOF
}

proxy_config() {
	cat >"$dir/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
hostnameOverride: $node_name
clientConnection: {kubeconfig: $dir/kubeconfig}
clusterCIDR: $pod_cidr
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:$proxy_healthz
metricsBindAddress: 127.0.0.1:$proxy_metrics
nodePortAddresses: ["127.0.0.0/8", "$node_ip/32"]
iptables: {localhostNodePorts: true, masqueradeAll: false}
conntrack: {maxPerCore: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF
}

# corefile: CoreDNS's configuration, kubeadm's default Corefile less prometheus, reload and
# loadbalance, bound to the node IP (bind) with health and ready on loopback. The cluster zones
# have a block of their own so that, without KUBE_CLUSTER_DNS_UPSTREAM, no other name is served
# (REFUSED) and nothing is forwarded off the machine.
corefile() {
	cat >"$dir/Corefile" <<EOF
# Written by scripts/kube-cluster.sh: the cluster DNS (berth-kube coredns).
cluster.local:53 in-addr.arpa:53 ip6.arpa:53 {
    bind $node_ip
    errors
    health 127.0.0.1:$dns_health
    ready 127.0.0.1:$dns_ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $dir/kubeconfig berth-kube
        pods insecure
        ttl 5
    }
    cache 5
}
EOF
	[ -n "${KUBE_CLUSTER_DNS_UPSTREAM:-}" ] || return 0
	cat >>"$dir/Corefile" <<EOF
.:53 {
    bind $node_ip
    errors
    cache 30
    loop
    forward . $KUBE_CLUSTER_DNS_UPSTREAM
}
EOF
}

# ---------------------------------------------------------------- host state to restore
sysctls=(net/ipv4/ip_forward net/bridge/bridge-nf-call-iptables net/ipv4/conf/all/route_localnet)

record_host() {
	local s
	: >"$dir/host.before"
	for s in "${sysctls[@]}"; do echo "$s $(cat "/proc/sys/$s")" >>"$dir/host.before"; done
	[ -d /var/lib/cni ] && echo "dir /var/lib/cni" >>"$dir/host.before"
	[ -d /var/log/containers ] && echo "dir /var/log/containers" >>"$dir/host.before"
	[ -e /run/xtables.lock ] && echo "file /run/xtables.lock" >>"$dir/host.before"
	iptables_chains >"$dir/iptables.before"
	xtables_tables >"$dir/nftables.before"
}

# iptables_chains: CMD TABLE CHAIN for every chain named KUBE-* or CNI-* in the tables kube-proxy,
# the kubelet and the CNI plugins write to, IPv4 and IPv6.
iptables_chains() {
	local x t
	for x in iptables ip6tables; do
		for t in filter nat mangle; do
			{ $x -w -t "$t" -S 2>/dev/null || true; } | awk -v x="$x" -v t="$t" '$1 == "-N" && $2 ~ /^(KUBE-|CNI-)/ { print x, t, $2 }'
		done
	done
}

# xtables_tables: the nftables tables that iptables-nft made for those tables ("ip nat", "ip6 filter").
xtables_tables() { nft list tables 2>/dev/null | awk '$2 ~ /^ip6?$/ && $3 ~ /^(filter|nat|mangle)$/ { print $2, $3 }'; }

# ---------------------------------------------------------------- images
import_images() {
	local work ctr=("$ctrd_dir/ctr" -a "$run/containerd.sock" -n k8s.io) t
	work="$(mktemp -d)"
	"$self/busybox-image.sh" "$work/busybox.tar" docker.io/library/busybox:latest >/dev/null
	# The sandbox image: any image whose command sleeps for ever. busybox's sleep as PID 1 is enough; CRI
	# stops a sandbox with SIGKILL.
	(
		exec >>"$logs/images.log"
		. "$self/lib/oci-archive.sh"
		mkdir -p "$work/pause/bin"
		install -m 0755 /bin/busybox "$work/pause/bin/busybox"
		ln -s busybox "$work/pause/bin/sleep"
		tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work/pause" -cf "$work/pause.tar" .
		oci_archive "$work/pause.tar" "$work/pause-image.tar" "$pause_image" \
			'{"Entrypoint":["/bin/sleep","2147483647"]}' "scripts/kube-cluster.sh (sandbox image)"
	)
	kubectl_image || { rm -rf "$work"; name=images; fail "assembling the kubectl image failed"; }
	for t in "$work/pause-image.tar" "$work/busybox.tar" "$kubectl_tar" ${KUBE_CLUSTER_IMAGES:-}; do
		"${ctr[@]}" images import --no-unpack=false "$t" >>"$logs/images.log" 2>&1 ||
			{ rm -rf "$work"; name=images; fail "importing $t into the CRI containerd failed"; }
	done
	# More names for the kubectl image: the Job waiters' image a converter names when it is not this
	# release's (kube.DefaultJobWaitImage, which the e2e harness passes).
	for t in ${KUBE_CLUSTER_KUBECTL_IMAGES:-}; do
		"${ctr[@]}" images tag --force "$kubectl_ref" "$t" >>"$logs/images.log" 2>&1 ||
			{ rm -rf "$work"; name=images; fail "tagging the kubectl image as $t failed"; }
	done
	# The kubelet's image GC must never take the sandbox image: CRI pins it by this label.
	"${ctr[@]}" images label "$pause_image" io.cri-containerd.pinned=pinned >>"$logs/images.log" 2>&1 || true
	rm -rf "$work"
}

# ---------------------------------------------------------------- volumes
# default_storage_class: DIR/volumes behind /tmp/hostpath_pv and the default StorageClass that
# provisions there (reclaim Delete: a deleted claim's directory goes with it).
default_storage_class() {
	mkdir -p "$dir/volumes"
	rm -f "$hostpath_pv"
	ln -s "$dir/volumes" "$hostpath_pv"
	kubectl apply -f - >>"$logs/kube-apiserver.log" 2>&1 <<EOF || fail "applying the default StorageClass failed"
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: hostpath
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: kubernetes.io/host-path
reclaimPolicy: Delete
volumeBindingMode: Immediate
EOF
}

# kubectl_image: BERTH_KUBE_DIR/kubectl-image.tar, registry.k8s.io/kubectl:<release> as the converter
# names the Job waiters' image, with berth-kube as /usr/local/bin/kubectl (static: nothing else is
# needed; kubectl wait finds the API through the pod's ServiceAccount). Remade when berth-kube is newer;
# made in DIR, each time, when BERTH_KUBE_DIR is not writable. Sets kubectl_tar and kubectl_ref.
kubectl_image() {
	local out="$kube_dir/kubectl-image.tar" release root
	[ -w "$kube_dir" ] || out="$dir/kubectl-image.tar"
	kubectl_tar="$out"
	release="$("$kube_dir/berth-kube" kubectl version --client -o json | sed -n 's/^ *"gitVersion": "\(v[^"]*\)".*/\1/p')"
	[ -n "$release" ] || { echo "kubectl version gave no gitVersion" >>"$logs/images.log"; return 1; }
	kubectl_ref="registry.k8s.io/kubectl:$release"
	[ -s "$out" ] && [ ! "$kube_dir/berth-kube" -nt "$out" ] && return 0
	root="$work/kubectl"
	mkdir -p "$root/usr/local/bin" "$root/root" "$root/etc" "$root/tmp"
	chmod 1777 "$root/tmp"
	cp "$kube_dir/berth-kube" "$root/usr/local/bin/kubectl"
	chmod 0755 "$root/usr/local/bin/kubectl"
	printf 'root:x:0:0:root:/root:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
	(
		exec >>"$logs/images.log" 2>&1
		. "$self/lib/oci-archive.sh"
		tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$root" -cf "$work/kubectl-layer.tar" .
		oci_archive "$work/kubectl-layer.tar" "$out" "$kubectl_ref" \
			'{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Entrypoint":["/usr/local/bin/kubectl"]}' \
			"scripts/kube-cluster.sh (berth-kube as kubectl)"
	) || return 1
	rm -rf "$root" "$work/kubectl-layer.tar"
	[ -s "$out" ]
}

# ---------------------------------------------------------------- up
node_ready() {
	tls_get "https://$node_ip:$api_port/api/v1/nodes/$node_name" | tr -d ' \n' | grep -q '"type":"Ready","status":"True"'
}

up() {
	t0=$SECONDS
	[ "$(id -u)" = 0 ] || die "up must run as root (it starts a kubelet and containerd)"
	[ -x "$kube_dir/berth-kube" ] || die "$kube_dir/berth-kube is not built; run make kube (scripts/build-kube.sh)"
	"$kube_dir/berth-kube" kubectl version --client >/dev/null 2>&1 ||
		die "$kube_dir/berth-kube has no kubectl command; rebuild it with scripts/build-kube.sh -f"
	[ -x "$ctrd_dir/containerd" ] || die "$ctrd_dir/containerd is missing; run scripts/install-deps.sh"
	[ -x "$runc_bin" ] || die "$runc_bin is missing; apt-get install runc"
	local r
	for r in ${KUBE_CLUSTER_REGISTRY:-}; do
		[[ "$r" =~ ^(127\.[0-9]+\.[0-9]+\.[0-9]+|localhost|\[::1\]|${node_ip//./\\.}):[0-9]+$ ]] ||
			die "KUBE_CLUSTER_REGISTRY: $r is not HOST:PORT with HOST a loopback address or the node IP $node_ip (plain HTTP is for registries on this machine only)"
	done
	[ -x "$cni_bin/bridge" ] && [ -x "$cni_bin/portmap" ] && [ -x "$cni_bin/host-local" ] ||
		die "$cni_bin has no bridge/host-local/portmap; apt-get install containernetworking-plugins"
	if ip link show "$bridge" >/dev/null 2>&1 || [ -e "$dir/host.before" ]; then
		die "a cluster is up already (bridge $bridge or $dir/host.before exists); run kube-cluster.sh down DIR first"
	fi
	local p
	for p in $etcd_port $etcd_peer $api_port $cm_port $sched_port $kubelet_port $kubelet_healthz $proxy_healthz $proxy_metrics $dns_health $dns_ready; do
		if ss -Hltn "sport = :$p" | grep -q .; then die "port $p is in use; another cluster or program holds it"; fi
	done
	# A symlink there is an earlier cluster's (only up makes one), left by a crash; a directory is not ours.
	if [ -e "$hostpath_pv" ] && [ ! -L "$hostpath_pv" ]; then
		die "$hostpath_pv exists and is not this script's symlink (another hostpath provisioner's volumes?); move it away first"
	fi
	if ss -Hlntu "sport = :53" | grep -qE "(0\.0\.0\.0|\*|$node_ip):53 "; then
		die "port 53 on $node_ip is taken (a DNS server listens on all addresses); stop it first"
	fi
	# Pods reach Services on the bridge only through kube-proxy's iptables rules, which bridged traffic meets
	# only with br_netfilter (a module on most kernels, built in on some).
	if [ ! -e /proc/sys/net/bridge/bridge-nf-call-iptables ]; then
		modprobe br_netfilter 2>/dev/null || true
		[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] ||
			die "this kernel has no br_netfilter (/proc/sys/net/bridge/bridge-nf-call-iptables is missing and modprobe br_netfilter failed); pods could not reach Services: load the module or use a kernel with CONFIG_BRIDGE_NETFILTER"
	fi
	mkdir -p "$logs" "$run" "$dir/containerd" "$dir/kubelet" "$dir/pod-logs" "$dir/etcd"
	record_host
	make_pki
	kubeconfig "$dir/kubeconfig" admin
	kubeconfig "$dir/kubelet.kubeconfig" kubelet

	# The bridge is made here, not by the CNI plugin at the first pod, so that the kubelet has its node IP.
	ip link add "$bridge" type bridge
	ip addr add "$node_ip/24" dev "$bridge"
	ip link set "$bridge" up
	echo 1 >/proc/sys/net/ipv4/ip_forward
	# Pod -> Service -> pod on the same bridge goes through kube-proxy's iptables rules only with this.
	echo 1 >/proc/sys/net/bridge/bridge-nf-call-iptables

	# cgroupRoot must exist in every v1 hierarchy before the kubelet starts.
	local c
	for c in /sys/fs/cgroup/*/; do
		[ -e "$c/cgroup.procs" ] || continue
		mkdir -p "$c/berth-kube"
		if [ -e "$c/cpuset.cpus" ]; then
			cat "$c/cpuset.cpus" >"$c/berth-kube/cpuset.cpus"
			cat "$c/cpuset.mems" >"$c/berth-kube/cpuset.mems"
		fi
	done

	local k="$kube_dir/berth-kube" name
	name=etcd
	start etcd "$k" etcd --name berth-kube --data-dir "$dir/etcd" \
		--listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
		--listen-peer-urls "http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
		--initial-cluster "berth-kube=http://127.0.0.1:$etcd_peer" --listen-metrics-urls ""
	wait_for etcd curl -fsS --max-time 3 "http://127.0.0.1:$etcd_port/health"

	name=kube-apiserver
	start kube-apiserver "$k" kube-apiserver --bind-address "$node_ip" --secure-port "$api_port" \
		--advertise-address "$node_ip" --etcd-servers "http://127.0.0.1:$etcd_port" \
		--service-cluster-ip-range "$svc_cidr" --service-node-port-range 30000-32767 \
		--tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
		--client-ca-file "$pki/ca.crt" --kubelet-client-certificate "$pki/admin.crt" \
		--kubelet-client-key "$pki/admin.key" --kubelet-preferred-address-types InternalIP \
		--service-account-issuer https://kubernetes.default.svc.cluster.local \
		--service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
		--authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
		--allow-privileged=true
	wait_for kube-apiserver tls_get "https://$node_ip:$api_port/readyz"
	default_storage_class

	name=kube-controller-manager
	start kube-controller-manager "$k" kube-controller-manager --kubeconfig "$dir/kubeconfig" \
		--authentication-kubeconfig "$dir/kubeconfig" --authorization-kubeconfig "$dir/kubeconfig" \
		--bind-address 127.0.0.1 --secure-port "$cm_port" --leader-elect=false \
		--service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
		--use-service-account-credentials --service-cluster-ip-range "$svc_cidr" \
		--cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
		--enable-hostpath-provisioner
	wait_for kube-controller-manager curl -fsSk --max-time 3 "https://127.0.0.1:$cm_port/healthz"

	name=kube-scheduler
	start kube-scheduler "$k" kube-scheduler --kubeconfig "$dir/kubeconfig" \
		--authentication-kubeconfig "$dir/kubeconfig" --authorization-kubeconfig "$dir/kubeconfig" \
		--bind-address 127.0.0.1 --secure-port "$sched_port" --leader-elect=false
	wait_for kube-scheduler curl -fsSk --max-time 3 "https://127.0.0.1:$sched_port/healthz"

	name=coredns
	corefile
	start coredns "$k" coredns -conf "$dir/Corefile"
	# ready answers 200 once the kubernetes plugin has synced Services and EndpointSlices.
	wait_for coredns curl -fsS --max-time 3 "http://127.0.0.1:$dns_ready/ready"

	name=containerd
	containerd_config
	start containerd "$ctrd_dir/containerd" --config "$dir/containerd/config.toml"
	wait_for containerd "$ctrd_dir/ctr" -a "$run/containerd.sock" version
	import_images

	name=kubelet
	kubelet_config
	start kubelet "$k" kubelet --config "$dir/kubelet/config.yaml" --kubeconfig "$dir/kubelet.kubeconfig" \
		--root-dir "$dir/kubelet" --hostname-override "$node_name" --node-ip "$node_ip" --v 1
	wait_for kubelet node_ready

	name=kube-proxy
	proxy_config
	start kube-proxy "$k" kube-proxy --config "$dir/kube-proxy.yaml"
	wait_for kube-proxy curl -fsS --max-time 3 "http://127.0.0.1:$proxy_healthz/healthz"

	log "up in $((SECONDS - t0))s; KUBECONFIG=$dir/kubeconfig"
}

# ---------------------------------------------------------------- down
down() {
	local t=$SECONDS pid m
	mkdir -p "$logs"
	# Pods first, while the kubelet can still tear their sandboxes down through CNI (veths, IPs,
	# portmap rules). Controllers stop first so that nothing recreates them.
	stop kube-proxy
	stop kube-controller-manager
	stop kube-scheduler
	if alive kube-apiserver && alive kubelet; then
		kubectl delete pods --all --all-namespaces --force --grace-period=0 --wait=false >>"$logs/down.log" 2>&1 || true
		local deadline=$((SECONDS + 60))
		while [ -n "$(ls -A "$dir/cni-ipam/$net_name" 2>/dev/null | grep -v '^last_reserved_ip\|^lock$')" ] && [ $SECONDS -lt $deadline ]; do
			sleep 0.5
		done
	fi
	stop kubelet
	if alive containerd; then
		local ctr=("$ctrd_dir/ctr" -a "$run/containerd.sock" -n k8s.io)
		for c in $("${ctr[@]}" tasks ls -q 2>/dev/null); do "${ctr[@]}" tasks kill -s KILL "$c" >/dev/null 2>&1 || true; done
	fi
	stop containerd
	# The runc shims of this containerd outlive it; they are ours by their -address.
	for pid in $(pgrep -f -- "containerd-shim-runc-v2 .*-address $run/containerd.sock( |$)" || true); do
		kill -KILL "$pid" 2>/dev/null || true
	done
	# Container processes outlive killed shims (a crashed containerd or kubelet); they are the pods'
	# and live in kubelet's cgroups, nowhere else.
	for pid in $(find /sys/fs/cgroup/*/berth-kube -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u); do
		kill -KILL "$pid" 2>/dev/null || true
	done
	for m in $(seq 50); do
		[ -z "$(find /sys/fs/cgroup/*/berth-kube -name cgroup.procs -exec cat {} + 2>/dev/null)" ] && break
		sleep 0.1
	done
	stop coredns
	stop kube-apiserver
	stop etcd
	# Clients of this cluster that outlive their caller (a kubectl a killed test had started) name its
	# kubeconfig or files on their command line.
	for pid in $(pgrep -f -- "$run/|$dir/" || true); do
		[ "$pid" = $$ ] || [ "$pid" = "$PPID" ] || kill -KILL "$pid" 2>/dev/null || true
	done
	# kube-proxy's own cleanup removes its KUBE-* chains in every mode.
	if [ -x "$kube_dir/berth-kube" ] && [ -e "$dir/host.before" ]; then
		"$kube_dir/berth-kube" kube-proxy --cleanup >>"$logs/down.log" 2>&1 || true
	fi

	# Mounts under DIR and the run dir (sandbox shm, rootfs, netns, kubelet volumes), deepest first.
	for m in $(awk '{ print $5 }' /proc/self/mountinfo | grep -E "^($dir|$run)/" | sort -r); do
		umount -l "$m" 2>/dev/null || true
	done
	# veths on the bridge (left when a sandbox was not torn down), then the bridge.
	if ip link show "$bridge" >/dev/null 2>&1; then
		for m in $(ip -o link show master "$bridge" | awk -F': ' '{ print $2 }' | cut -d@ -f1); do
			ip link del "$m" 2>/dev/null || true
		done
		ip link del "$bridge"
	fi
	cleanup_iptables
	[ "$(readlink "$hostpath_pv" 2>/dev/null)" = "$dir/volumes" ] && rm -f "$hostpath_pv"
	# CNI's result cache is not configurable through containerd; ours are named after the network.
	rm -rf /var/lib/cni/results/"$net_name"-* /var/lib/cni/networks/"$net_name"
	# cgroups: the pods', the QoS classes', then the root, deepest first.
	for m in /sys/fs/cgroup/*/berth-kube; do
		[ -d "$m" ] && find "$m" -depth -type d -exec rmdir {} \; 2>/dev/null || true
	done
	restore_host
	local rc=0
	leftovers || rc=1
	rm -rf "$run"
	find "$dir" -mindepth 1 -maxdepth 1 ! -name logs -exec rm -rf {} +
	log "down in $((SECONDS - t))s"
	return $rc
}

# cleanup_iptables removes the KUBE-* and CNI-* chains that did not exist before up (and the rules
# that jump to them), which kube-proxy --cleanup and CNI DEL leave only after a crash, then the
# tables iptables-nft made for them if they did not exist before and hold no rule.
cleanup_iptables() {
	[ -e "$dir/iptables.before" ] || return 0
	local x t c rule f
	new_chains | while read -r x t c; do
		{ $x -w -t "$t" -S | grep -E -- "-j $c( |$)" || true; } | while read -r rule; do
			eval "$x -w -t $t ${rule/-A /-D }" 2>/dev/null || true
		done
		$x -w -t "$t" -F "$c" 2>/dev/null || true
	done
	new_chains | while read -r x t c; do
		$x -w -t "$t" -X "$c" 2>/dev/null || true
	done
	# The bridge plugin's masquerade rules name the network in their comment.
	for t in nat filter; do
		{ iptables -w -t "$t" -S | grep -F "name: \\\"$net_name\\\"" || true; } | while read -r rule; do
			eval "iptables -w -t $t ${rule/-A /-D }" 2>/dev/null || true
		done
	done
	[ -e "$dir/nftables.before" ] || return 0
	xtables_tables | { grep -vxF -f "$dir/nftables.before" || true; } | while read -r f t; do
		x=iptables
		[ "$f" = ip6 ] && x=ip6tables
		if ! $x -w -t "$t" -S 2>/dev/null | grep -q -- '^-[AN] '; then
			nft delete table "$f" "$t" 2>/dev/null || true
		fi
	done
}

new_chains() { iptables_chains | { grep -vxF -f "$dir/iptables.before" || true; }; }

restore_host() {
	[ -e "$dir/host.before" ] || return 0
	local k v
	while read -r k v; do
		case "$k" in
		dir | file) ;;
		*) echo "$v" >"/proc/sys/$k" ;;
		esac
	done <"$dir/host.before"
	grep -qx "dir /var/lib/cni" "$dir/host.before" || rm -rf /var/lib/cni
	grep -qx "dir /var/log/containers" "$dir/host.before" || rm -rf /var/log/containers
	grep -qx "file /run/xtables.lock" "$dir/host.before" || rm -f /run/xtables.lock
}

# leftovers reports what down could not remove; it is an error.
leftovers() {
	local bad=()
	pgrep -f -- "$run/|$dir/" >/dev/null && bad+=("processes: $(pgrep -f -- "$run/|$dir/" | tr '\n' ' ')")
	grep -qE " ($dir|$run)/" /proc/self/mountinfo && bad+=("mounts under $dir or $run")
	ip link show "$bridge" >/dev/null 2>&1 && bad+=("bridge $bridge")
	[ "$(readlink "$hostpath_pv" 2>/dev/null)" = "$dir/volumes" ] && bad+=("symlink $hostpath_pv")
	ls -d /sys/fs/cgroup/*/berth-kube >/dev/null 2>&1 && bad+=("cgroups $(ls -d /sys/fs/cgroup/*/berth-kube | tr '\n' ' ')")
	ls -d /var/lib/cni/results/"$net_name"-* >/dev/null 2>&1 && bad+=("CNI results in /var/lib/cni/results")
	[ -e "$dir/iptables.before" ] && [ -n "$(new_chains)" ] && bad+=("iptables chains: $(new_chains | tr '\n' ' ')")
	if [ ${#bad[@]} -gt 0 ]; then
		printf 'kube-cluster.sh: down left: %s\n' "${bad[@]}" >&2
		return 1
	fi
}

case "$cmd" in
up) up ;;
down) down ;;
env) printf 'KUBECONFIG=%s\nPATH=%s:%s\n' "$dir/kubeconfig" "$kube_dir" "$PATH" ;;
*) usage ;;
esac
