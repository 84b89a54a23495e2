#!/usr/bin/env bash
# cluster.sh: a real single-node Kubernetes on this machine, without Docker-in-Docker.
#
#   hack/cluster/cluster.sh check    could `up` start here? (root, free ranges and ports, packages)
#   hack/cluster/cluster.sh up       start it (idempotent); prints the kubeconfig path
#   hack/cluster/cluster.sh down     stop what `up` started, unmount, restore the host
#   hack/cluster/cluster.sh status   what runs, by recorded PID
#   hack/cluster/cluster.sh state    one word: up, down or stale
#   hack/cluster/cluster.sh import F import an image archive (docker save) into the node
#
# The parts: kube-apiserver, kube-controller-manager, kube-scheduler, kubelet,
# kube-proxy and kubectl v1.37.2 built from source (hack/install-tools.sh
# cluster), Debian's etcd, containerd, runc and CNI plugins, and CoreDNS built
# with a minimal plugin set. Everything lives under bin/cluster (state, logs,
# PKI, kubeconfig) and /run/easel-cluster (sockets); nothing is installed as a
# system service. docs/local-cluster.md explains every choice.
#
# Networking keeps every packet on this machine: pods live on their own bridge
# (easel0, POD_CIDR) without masquerading, so they can reach the host and each
# other but nothing beyond; the Service range is routed into an empty bridge
# (easel-svc0), so an unmatched ClusterIP is dropped here rather than sent to
# the default gateway; a FORWARD rule drops anything that would leave easel0 for
# another interface; NodePorts answer on 127.0.0.1 only.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN="${ROOT}/bin"
K8S_BIN="${BIN}/k8s"
DIR="${EASEL_CLUSTER_DIR:-${BIN}/cluster}"
RUN_DIR="/run/easel-cluster" # sockets: a unix socket path must stay under 108 bytes
PKI="${DIR}/pki"
PIDS="${DIR}/pids"
LOGS="${DIR}/logs"
KUBECONFIG_OUT="${DIR}/kubeconfig"

POD_CIDR="${EASEL_CLUSTER_POD_CIDR:-10.244.0.0/24}"
SERVICE_CIDR="${EASEL_CLUSTER_SERVICE_CIDR:-10.96.0.0/24}"
NODE_IP="${POD_CIDR%.*}.1"           # the pod bridge's gateway: the node's address
API_SERVICE_IP="${SERVICE_CIDR%.*}.1" # the "kubernetes" Service
DNS_IP="${SERVICE_CIDR%.*}.10"        # kube-dns
API_PORT=6443
ETCD_PORT=12379 # not 2379, so that an etcd of the machine's own keeps its port
POD_BRIDGE=easel0
SVC_BRIDGE=easel-svc0
NODE_NAME="$(hostname | tr '[:upper:]' '[:lower:]')"

# The kernel settings that the kubelet, kube-proxy or this script change; `up`
# records their values and `down` puts them back.
SYSCTLS=(
	net.ipv4.ip_forward
	net.ipv4.conf.all.route_localnet
	net.bridge.bridge-nf-call-iptables
	net.bridge.bridge-nf-call-ip6tables
	vm.overcommit_memory
	vm.panic_on_oom
	kernel.panic
	kernel.panic_on_oops
	kernel.keys.root_maxkeys
	kernel.keys.root_maxbytes
)

# Components in start order; `down` stops them in reverse.
COMPONENTS=(etcd containerd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)

log() { printf 'cluster: %s\n' "$*" >&2; }
die() {
	printf 'cluster: %s\n' "$*" >&2
	exit 1
}

kubectl() { "${K8S_BIN}/kubectl" --kubeconfig "${KUBECONFIG_OUT}" "$@"; }

# --- preconditions -----------------------------------------------------------

# preflight checks what `up` needs before it touches the host, and says what
# to do about each missing piece.
preflight() {
	[[ "$(uname -s)" == Linux ]] || die "a local cluster needs Linux (this is $(uname -s)); use kind (docs/kind.md) instead"
	[[ "${EUID}" -eq 0 ]] || die "the kubelet, containerd and the network setup need root: run as root (sudo make cluster-up)"
	local cidr route
	for cidr in "${POD_CIDR}" "${SERVICE_CIDR}"; do
		[[ "${cidr}" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.0/24$ ]] || die "${cidr}: want a /24 ending in .0/24 (EASEL_CLUSTER_POD_CIDR, EASEL_CLUSTER_SERVICE_CIDR)"
		# A route inside the range, or one that contains it (other than the
		# default route), means another network already uses it.
		route="$( (ip -o route show root "${cidr}"; ip -o route show match "${cidr}" | grep -v '^default') | head -1 || true)"
		[[ -z "${route}" ]] || die "${cidr} is already routed on this machine (${route}); pick a free range with EASEL_CLUSTER_POD_CIDR / EASEL_CLUSTER_SERVICE_CIDR (a /24 ending in .0/24)"
	done
	[[ "${POD_CIDR}" != "${SERVICE_CIDR}" ]] || die "the pod and Service ranges must differ (both ${POD_CIDR})"
	local port
	for port in "${ETCD_PORT}" 12380 10257 10259 10248 10249 10256 30080; do
		if ss -Hltn "sport = :${port}" | grep -q .; then
			die "port ${port} is in use ($(ss -Hltnp "sport = :${port}" | head -1)); stop whatever listens there"
		fi
	done
	local missing=() b
	for b in /usr/bin/etcd /usr/bin/containerd /usr/bin/containerd-shim-runc-v2 /usr/sbin/runc /usr/bin/ctr \
		/usr/lib/cni/bridge /usr/lib/cni/host-local /usr/lib/cni/loopback /usr/lib/cni/portmap /usr/lib/cni/firewall \
		/usr/sbin/iptables /usr/bin/openssl /usr/sbin/ip /usr/bin/curl; do
		[[ -x "${b}" ]] || missing+=("${b}")
	done
	((${#missing[@]} == 0)) || die "missing ${missing[*]}: apt-get install etcd-server containerd runc containernetworking-plugins iptables openssl iproute2 curl"
	[[ -d /sys/fs/cgroup/memory || -f /sys/fs/cgroup/cgroup.controllers ]] || die "no memory cgroup mounted at /sys/fs/cgroup: the kubelet cannot run here"
	grep -qw overlay /proc/filesystems || die "the kernel has no overlay filesystem: containerd's snapshotter needs it"
}

# preflight_binaries checks what hack/install-tools.sh cluster builds.
preflight_binaries() {
	local b
	for b in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do
		[[ -x "${K8S_BIN}/${b}" ]] || die "missing ${K8S_BIN}/${b}: run hack/install-tools.sh cluster (make cluster-up does)"
	done
	for b in coredns traefik; do
		[[ -x "${BIN}/${b}" ]] || die "missing ${BIN}/${b}: run hack/install-tools.sh cluster (make cluster-up does)"
	done
}

# check is what `make cluster-up` asks before it spends minutes building:
# could `up` start here at all?
check() {
	case "$(state)" in
	up) return 0 ;;
	stale) die_stale ;;
	esac
	preflight
}

die_stale() {
	die "a stale cluster is on this machine (components, bridges or mounts of an earlier run remain; see '$0 status'): run 'make cluster-down' first"
}

# --- process bookkeeping -----------------------------------------------------

# pid_of prints the recorded PID of component $1 if that process still runs
# the binary we started (a recycled PID is not ours).
pid_of() {
	local f="${PIDS}/$1.pid" pid exe
	[[ -f "${f}" ]] || return 1
	pid="$(cat "${f}")"
	exe="$(readlink "/proc/${pid}/exe" 2>/dev/null || true)"
	[[ -n "${exe}" && "$(basename "${exe%" (deleted)"}")" == "$(basename "$(binary_of "$1")")" ]] || return 1
	echo "${pid}"
}

binary_of() {
	case "$1" in
	etcd) echo /usr/bin/etcd ;;
	containerd) echo /usr/bin/containerd ;;
	*) echo "${K8S_BIN}/$1" ;;
	esac
}

# start runs component $1 with arguments in its own session, output to its log,
# and records its PID.
start() {
	local name="$1"
	shift
	log "starting ${name}"
	setsid "$(binary_of "${name}")" "$@" >"${LOGS}/${name}.log" 2>&1 </dev/null &
	echo $! >"${PIDS}/${name}.pid"
}

# wait_for polls command "$@" for up to $timeout seconds (a global set by the
# caller), naming what it waits for in $what.
wait_for() {
	local what="$1" timeout="$2"
	shift 2
	local i
	for ((i = 0; i < timeout * 4; i++)); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.25
	done
	die "${what} did not come up within ${timeout}s; see ${LOGS}/ (cluster-down cleans up)"
}

# stop_pid sends TERM to component $1, then KILL after a grace period.
stop_component() {
	local name="$1" pid i
	pid="$(pid_of "${name}")" || {
		rm -f "${PIDS}/${name}.pid"
		return 0
	}
	log "stopping ${name} (pid ${pid})"
	kill -TERM "${pid}" 2>/dev/null || true
	for ((i = 0; i < 60; i++)); do
		kill -0 "${pid}" 2>/dev/null || break
		sleep 0.25
	done
	kill -KILL "${pid}" 2>/dev/null || true
	rm -f "${PIDS}/${name}.pid"
}

# state prints "up" when every component runs, "down" when none runs and the
# host carries nothing of ours, and "stale" otherwise.
state() {
	local running=0 c
	for c in "${COMPONENTS[@]}"; do
		if pid_of "${c}" >/dev/null; then
			running=$((running + 1))
		fi
	done
	if ((running == ${#COMPONENTS[@]})); then
		echo up
	elif ((running == 0)) && ! ip link show "${POD_BRIDGE}" >/dev/null 2>&1 && ! ip link show "${SVC_BRIDGE}" >/dev/null 2>&1 &&
		! findmnt -rn -o TARGET | grep -q -e "^${DIR}/" -e "^${RUN_DIR}/"; then
		echo down
	else
		echo stale
	fi
}

# --- PKI and kubeconfigs -----------------------------------------------------

# cert issues a client or serving certificate signed by the cluster CA:
# cert NAME CN [O] [SANs].
cert() {
	local name="$1" cn="$2" org="${3:-}" sans="${4:-}" subj="/CN=$2"
	[[ -z "${org}" ]] || subj="/O=${org}/CN=${cn}"
	[[ -f "${PKI}/${name}.crt" ]] && return 0
	openssl genrsa -out "${PKI}/${name}.key" 2048 2>/dev/null
	openssl req -new -key "${PKI}/${name}.key" -subj "${subj}" -out "${PKI}/${name}.csr" 2>/dev/null
	local ext="${PKI}/${name}.ext"
	{
		echo "basicConstraints=CA:FALSE"
		echo "keyUsage=critical,digitalSignature,keyEncipherment"
		if [[ -n "${sans}" ]]; then
			echo "extendedKeyUsage=serverAuth,clientAuth"
			echo "subjectAltName=${sans}"
		else
			echo "extendedKeyUsage=clientAuth"
		fi
	} >"${ext}"
	openssl x509 -req -in "${PKI}/${name}.csr" -CA "${PKI}/ca.crt" -CAkey "${PKI}/ca.key" -CAcreateserial \
		-days 365 -extfile "${ext}" -out "${PKI}/${name}.crt" 2>/dev/null
	rm -f "${PKI}/${name}.csr" "${ext}"
}

# kubeconfig writes a kubeconfig for the client certificate NAME.
kubeconfig() {
	local name="$1" out="$2"
	cat >"${out}" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: easel-local
  cluster:
    server: https://${NODE_IP}:${API_PORT}
    certificate-authority-data: $(base64 -w0 "${PKI}/ca.crt")
users:
- name: ${name}
  user:
    client-certificate-data: $(base64 -w0 "${PKI}/${name}.crt")
    client-key-data: $(base64 -w0 "${PKI}/${name}.key")
contexts:
- name: easel-local
  context: {cluster: easel-local, user: ${name}}
current-context: easel-local
EOF
	chmod 600 "${out}"
}

pki() {
	mkdir -p "${PKI}"
	chmod 700 "${PKI}"
	if [[ ! -f "${PKI}/ca.crt" ]]; then
		log "creating the cluster CA and certificates in ${PKI}"
		openssl genrsa -out "${PKI}/ca.key" 2048 2>/dev/null
		openssl req -x509 -new -key "${PKI}/ca.key" -subj "/CN=easel-local-ca" -days 365 -out "${PKI}/ca.crt" 2>/dev/null
		openssl genrsa -out "${PKI}/sa.key" 2048 2>/dev/null
		openssl rsa -in "${PKI}/sa.key" -pubout -out "${PKI}/sa.pub" 2>/dev/null
	fi
	cert apiserver kube-apiserver "" "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,IP:127.0.0.1,IP:${NODE_IP},IP:${API_SERVICE_IP}"
	# system:masters: the apiserver calls the kubelet (logs, exec) as this user.
	cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters
	cert admin easel-admin system:masters
	cert controller-manager system:kube-controller-manager
	cert scheduler system:kube-scheduler
	cert kube-proxy system:kube-proxy
	cert kubelet "system:node:${NODE_NAME}" system:nodes
	cert kubelet-serving "system:node:${NODE_NAME}" system:nodes "DNS:${NODE_NAME},IP:${NODE_IP},IP:127.0.0.1"
	local c
	for c in admin controller-manager scheduler kube-proxy kubelet; do
		kubeconfig "${c}" "${DIR}/${c}.kubeconfig"
	done
	cp "${DIR}/admin.kubeconfig" "${KUBECONFIG_OUT}"
}

# --- host network ------------------------------------------------------------

# FORWARD_RULE keeps pod traffic on the machine: whatever enters from the pod
# bridge may only leave through it again. It sits in the mangle table, which
# the kernel consults before the filter table, where the CNI firewall plugin
# accepts everything a pod sends (and kube-proxy and Docker insert their own
# rules at the top).
FORWARD_RULE=(-i "${POD_BRIDGE}" ! -o "${POD_BRIDGE}" -j DROP -m comment --comment "easel-cluster: pods reach nothing beyond this machine")

network_up() {
	log "network: ${POD_BRIDGE} ${NODE_IP} (pods ${POD_CIDR}), ${SVC_BRIDGE} (Services ${SERVICE_CIDR})"
	# The pod bridge is made here, not by the CNI plugin on the first pod, so
	# that the node address exists before the apiserver and kubelet bind it.
	ip link add "${POD_BRIDGE}" type bridge
	ip addr add "${NODE_IP}/${POD_CIDR#*/}" dev "${POD_BRIDGE}"
	ip link set "${POD_BRIDGE}" up
	# An empty bridge for the Service range: kube-proxy rewrites every
	# ClusterIP it knows before routing, and anything else dies here instead of
	# going out through the default route. (This kernel has no dummy module.)
	ip link add "${SVC_BRIDGE}" type bridge
	ip link set "${SVC_BRIDGE}" up
	ip route add "${SERVICE_CIDR}" dev "${SVC_BRIDGE}"
	iptables -w -t mangle -I FORWARD "${FORWARD_RULE[@]}"
	# Forwarding between pods and the host; bridged traffic must pass iptables
	# so that a pod reaching a Service backed by a pod on the same bridge is
	# un-NATed on the way back.
	sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1
}

network_down() {
	while iptables -w -t mangle -C FORWARD "${FORWARD_RULE[@]}" 2>/dev/null; do
		iptables -w -t mangle -D FORWARD "${FORWARD_RULE[@]}"
	done
	ip route del "${SERVICE_CIDR}" dev "${SVC_BRIDGE}" 2>/dev/null || true
	local br
	for br in "${SVC_BRIDGE}" "${POD_BRIDGE}"; do
		if ip link show "${br}" >/dev/null 2>&1; then
			ip link del "${br}"
		fi
	done
	# The CNI firewall and portmap plugins leave their jump rules and chains;
	# the kubelet leaves KUBE-FIREWALL (loopback protection), its canary and
	# kube-proxy's hint (kube-proxy --cleanup removed the rest of KUBE-*).
	local cmd table
	for cmd in iptables ip6tables; do
		for table in filter nat mangle; do
			drop_chains "${cmd}" "${table}" '^CNI-|^KUBE-(FIREWALL|KUBELET-CANARY|IPTABLES-HINT)$'
		done
	done
}

# drop_chains removes from one table the chains whose names match the
# extended regular expression $3, and every rule that jumps to them.
drop_chains() {
	local cmd="$1" table="$2" pattern="$3" rule chain chains
	chains="$("${cmd}" -w -t "${table}" -S 2>/dev/null | awk '$1 == "-N" {print $2}' | { grep -E "${pattern}" || true; })"
	[[ -n "${chains}" ]] || return 0
	for chain in ${chains}; do
		"${cmd}" -w -t "${table}" -S | { grep -E -- "-j ${chain}( |\$)" || true; } | sed 's/^-A /-D /' | while read -r rule; do
			eval "${cmd} -w -t ${table} ${rule}" || true # eval: the rule is quoted as iptables -S prints it
		done
	done
	for chain in ${chains}; do
		"${cmd}" -w -t "${table}" -F "${chain}" || true
	done
	for chain in ${chains}; do
		"${cmd}" -w -t "${table}" -X "${chain}" || true
	done
}

sysctl_save() {
	local k v
	: >"${DIR}/sysctl.saved"
	for k in "${SYSCTLS[@]}"; do
		if v="$(sysctl -n "${k}" 2>/dev/null)"; then
			printf '%s=%s\n' "${k}" "${v}" >>"${DIR}/sysctl.saved"
		fi
	done
	[[ -d /var/log/containers ]] && touch "${DIR}/had-var-log-containers" || rm -f "${DIR}/had-var-log-containers"
}

sysctl_restore() {
	[[ -f "${DIR}/sysctl.saved" ]] || return 0
	local line
	while read -r line; do
		sysctl -qw "${line}" 2>/dev/null || log "could not restore ${line}"
	done <"${DIR}/sysctl.saved"
	rm -f "${DIR}/sysctl.saved"
	# The kubelet makes /var/log/containers (a hard-coded path) for its log links.
	if [[ ! -f "${DIR}/had-var-log-containers" && -d /var/log/containers ]]; then
		find /var/log/containers -maxdepth 1 -type l -delete
		rmdir /var/log/containers 2>/dev/null || true
	fi
	rm -f "${DIR}/had-var-log-containers"
}

# --- configuration files -----------------------------------------------------

write_configs() {
	mkdir -p "${DIR}/cni/net.d" "${DIR}/cni/ipam" "${DIR}/containerd" "${DIR}/kubelet" "${DIR}/pod-logs" "${DIR}/etcd"
	cat >"${DIR}/containerd/config.toml" <<EOF
# containerd 1.6 for the local cluster: its own root, state and socket, so that
# it never meets Docker's containerd or a system one.
version = 2
root = "${DIR}/containerd/root"
state = "${RUN_DIR}/containerd"
[grpc]
  address = "${RUN_DIR}/containerd.sock"
[ttrpc]
  address = "${RUN_DIR}/containerd.sock.ttrpc"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "${DIR}/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  # Built locally (hack/cluster/images.sh): nothing can be pulled here.
  sandbox_image = "easel.local/pause:1"
  # REQUIRED here: the kubelet asks for oom_score_adj -998 for sandboxes, and
  # lowering it needs CAP_SYS_RESOURCE, which this machine's bounding set lacks
  # ("nsexec: failed to update /proc/self/oom_score_adj: Permission denied").
  restrict_oom_score_adj = true
  # No AppArmor on this kernel.
  disable_apparmor = true
  # Network namespaces under our state dir, so that down can unmount them all.
  netns_mounts_under_state_dir = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "/usr/sbin/runc"
        # The kubelet uses cgroupfs (no systemd runs here).
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${DIR}/cni/net.d"
EOF
	cat >"${DIR}/cni/net.d/10-easel.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "easel-local",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "${POD_BRIDGE}",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "${DIR}/cni/ipam",
        "ranges": [[{"subnet": "${POD_CIDR}", "gateway": "${NODE_IP}"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "firewall", "backend": "iptables"}
  ]
}
EOF
	cat >"${DIR}/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# REQUIRED here: this machine mounts cgroup v1 (hybrid), which kubelet 1.35+
# refuses unless told otherwise.
failCgroupV1: false
# No systemd runs here; containerd's runc options say cgroupfs too.
cgroupDriver: cgroupfs
failSwapOn: false
containerRuntimeEndpoint: unix://${RUN_DIR}/containerd.sock
# The node's address is the pod bridge's gateway: the apiserver reaches the
# kubelet there, and nothing listens on the machine's outward interface.
address: ${NODE_IP}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
tlsCertFile: ${PKI}/kubelet-serving.crt
tlsPrivateKeyFile: ${PKI}/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: ${PKI}/ca.crt}
authorization: {mode: Webhook}
clusterDomain: cluster.local
clusterDNS: [${DNS_IP}]
# Pods with dnsPolicy Default get no upstream resolver: nothing resolves
# outside the cluster.
resolvConf: ""
podLogsDir: ${DIR}/pod-logs
# Small disks: evict late, and never collect the locally built images (they
# cannot be pulled again).
evictionHard: {memory.available: 100Mi, nodefs.available: 2%, nodefs.inodesFree: 2%, imagefs.available: 2%}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
EOF
	cat >"${DIR}/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: ${DIR}/kube-proxy.kubeconfig
hostnameOverride: ${NODE_NAME}
mode: iptables
clusterCIDR: ${POD_CIDR}
# NodePorts (the ingress on 30080) answer on loopback only.
nodePortAddresses: ["127.0.0.1/32"]
# Zero: leave the host's conntrack table size and timeouts alone.
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
EOF
}

# --- up / down ---------------------------------------------------------------

up() {
	case "$(state)" in
	up)
		log "already up"
		print_kubeconfig
		return 0
		;;
	stale) die_stale ;;
	esac
	preflight
	preflight_binaries
	mkdir -p "${DIR}" "${PIDS}" "${LOGS}" "${RUN_DIR}"
	# From here on a failure takes everything down again: never half-configure the host.
	UP_DONE=0
	trap 'if [[ "${UP_DONE}" == 0 ]]; then log "up failed: tearing down what was started (logs kept in ${LOGS})"; down >/dev/null 2>&1 || true; fi' EXIT
	sysctl_save
	pki
	write_configs
	network_up
	local t0=${SECONDS}

	start etcd --name easel-local --data-dir "${DIR}/etcd" \
		--listen-client-urls "http://127.0.0.1:${ETCD_PORT}" --advertise-client-urls "http://127.0.0.1:${ETCD_PORT}" \
		--listen-peer-urls http://127.0.0.1:12380 --initial-advertise-peer-urls http://127.0.0.1:12380 \
		--initial-cluster easel-local=http://127.0.0.1:12380
	start containerd --config "${DIR}/containerd/config.toml"
	wait_for etcd 30 curl -fsS "http://127.0.0.1:${ETCD_PORT}/health"
	wait_for containerd 30 ctr --address "${RUN_DIR}/containerd.sock" version

	start kube-apiserver \
		--advertise-address "${NODE_IP}" --bind-address "${NODE_IP}" --secure-port "${API_PORT}" \
		--etcd-servers "http://127.0.0.1:${ETCD_PORT}" \
		--service-cluster-ip-range "${SERVICE_CIDR}" --service-node-port-range 30000-32767 \
		--client-ca-file "${PKI}/ca.crt" \
		--tls-cert-file "${PKI}/apiserver.crt" --tls-private-key-file "${PKI}/apiserver.key" \
		--kubelet-client-certificate "${PKI}/apiserver-kubelet-client.crt" --kubelet-client-key "${PKI}/apiserver-kubelet-client.key" \
		`# REQUIRED here: the host name resolves to 127.0.0.1, which node proxy refuses ("address not allowed").` \
		--kubelet-preferred-address-types InternalIP,Hostname \
		--service-account-issuer https://kubernetes.default.svc.cluster.local \
		--service-account-key-file "${PKI}/sa.pub" --service-account-signing-key-file "${PKI}/sa.key" \
		--authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
		--allow-privileged=true --profiling=false
	wait_for kube-apiserver 120 kubectl get --raw /readyz

	start kube-controller-manager \
		--kubeconfig "${DIR}/controller-manager.kubeconfig" \
		--authentication-kubeconfig "${DIR}/controller-manager.kubeconfig" --authorization-kubeconfig "${DIR}/controller-manager.kubeconfig" \
		--bind-address 127.0.0.1 --leader-elect=false \
		--service-account-private-key-file "${PKI}/sa.key" --root-ca-file "${PKI}/ca.crt" --use-service-account-credentials \
		--service-cluster-ip-range "${SERVICE_CIDR}" --cluster-name easel-local \
		--cluster-signing-cert-file "${PKI}/ca.crt" --cluster-signing-key-file "${PKI}/ca.key"
	start kube-scheduler \
		--kubeconfig "${DIR}/scheduler.kubeconfig" \
		--authentication-kubeconfig "${DIR}/scheduler.kubeconfig" --authorization-kubeconfig "${DIR}/scheduler.kubeconfig" \
		--bind-address 127.0.0.1 --leader-elect=false
	start kubelet --config "${DIR}/kubelet/config.yaml" --kubeconfig "${DIR}/kubelet.kubeconfig" \
		--root-dir "${DIR}/kubelet" --node-ip "${NODE_IP}" --hostname-override "${NODE_NAME}"
	start kube-proxy --config "${DIR}/kube-proxy.yaml"

	wait_for "node ${NODE_NAME} Ready" 120 bash -c "'${K8S_BIN}/kubectl' --kubeconfig '${KUBECONFIG_OUT}' get node '${NODE_NAME}' -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True"
	# Images come first: CoreDNS and the ingress controller are built here.
	bash "${ROOT}/hack/cluster/images.sh" cluster
	addons
	UP_DONE=1
	log "up in $((SECONDS - t0))s"
	print_kubeconfig
}

# addons installs kube-dns (CoreDNS) and the Traefik ingress controller and
# waits for both.
addons() {
	log "installing CoreDNS (kube-dns ${DNS_IP}) and Traefik (http://127.0.0.1:30080)"
	sed -e "s/@DNS_IP@/${DNS_IP}/" "${ROOT}/hack/cluster/coredns.yaml" | kubectl apply -f - >/dev/null
	kubectl apply -f "${ROOT}/hack/cluster/traefik.yaml" >/dev/null
	kubectl -n kube-system rollout status deployment/coredns --timeout 180s >/dev/null
	kubectl -n traefik rollout status deployment/traefik --timeout 180s >/dev/null
	wait_for "Traefik on 127.0.0.1:30080" 60 curl -fsS -o /dev/null http://127.0.0.1:30080/ping
}

# import loads an image archive (docker save) into the node's containerd.
import() {
	[[ "$(state)" == up ]] || die "the cluster is not up: run make cluster-up"
	ctr --address "${RUN_DIR}/containerd.sock" -n k8s.io images import --no-unpack=false "$1" >/dev/null
}

down() {
	local t0=${SECONDS}
	if [[ "$(state)" == down ]]; then
		log "nothing to stop"
		return 0
	fi
	# Stop the controllers first so that nothing recreates a pod, then let the
	# kubelet stop every pod: that tears down their networks through CNI.
	if pid_of kube-apiserver >/dev/null && pid_of kubelet >/dev/null; then
		stop_component kube-controller-manager
		stop_component kube-scheduler
		log "deleting every pod"
		kubectl delete pods --all --all-namespaces --grace-period 5 --wait=false >/dev/null 2>&1 || true
		local i
		for ((i = 0; i < 120; i++)); do
			[[ -z "$(kubectl get pods -A -o name 2>/dev/null)" ]] && break
			sleep 0.5
		done
	fi
	local c
	for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
		c="${COMPONENTS[i]}"
		stop_component "${c}"
		if [[ "${c}" == kube-proxy ]]; then
			"${K8S_BIN}/kube-proxy" --cleanup >/dev/null 2>&1 || true
		fi
	done
	# Shims outlive containerd: stop the ones of our containerd and their containers.
	local pid
	for pid in $(pgrep -f -- "-address ${RUN_DIR}/containerd.sock" || true); do
		pkill -KILL -P "${pid}" 2>/dev/null || true
		kill -KILL "${pid}" 2>/dev/null || true
	done
	unmount_all
	network_down
	sysctl_restore
	cgroups_cleanup
	rm -rf "${RUN_DIR}" "${DIR}/containerd/root/io.containerd.runtime.v2.task" "${DIR}/cni/ipam"
	log "down in $((SECONDS - t0))s"
}

# unmount_all unmounts everything under our directories, deepest first.
unmount_all() {
	local m
	findmnt -rn -o TARGET | { grep -e "^${DIR}/" -e "^${RUN_DIR}/" || true; } | sort -r | while read -r m; do
		umount "${m}" 2>/dev/null || umount -l "${m}" 2>/dev/null || log "could not unmount ${m}"
	done
}

# cgroups_cleanup removes the (empty) cgroups the kubelet made.
cgroups_cleanup() {
	local d
	for d in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/*/kubepods.slice /sys/fs/cgroup/unified/kubepods; do
		[[ -d "${d}" ]] || continue
		find "${d}" -depth -type d -exec rmdir {} \; 2>/dev/null || true
	done
}

status() {
	local c pid
	echo "state: $(state)"
	for c in "${COMPONENTS[@]}"; do
		if pid="$(pid_of "${c}")"; then
			printf '  %-24s pid %s\n' "${c}" "${pid}"
		else
			printf '  %-24s stopped\n' "${c}"
		fi
	done
	[[ "$(state)" != up ]] || print_kubeconfig
}

print_kubeconfig() {
	echo "kubeconfig: ${KUBECONFIG_OUT}"
	echo "  export KUBECONFIG=${KUBECONFIG_OUT}"
	echo "ingress:    http://127.0.0.1:30080 (Traefik, IngressClass traefik)"
}

case "${1:-}" in
state) state ;;
check) check ;;
up) up ;;
down) down ;;
status) status ;;
import)
	[[ $# -eq 2 ]] || die "usage: $0 import IMAGE.tar"
	import "$2"
	;;
*)
	echo "usage: $0 check|up|down|status|state|import IMAGE.tar" >&2
	exit 2
	;;
esac
