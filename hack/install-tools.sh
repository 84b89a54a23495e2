#!/usr/bin/env bash
# install-tools.sh installs the pinned tools the chart tests need into ./bin:
#
#   bin/helm                 helm.sh/helm/v3/cmd/helm, go install'ed
#   bin/k8s/kube-apiserver   built from k8s.io/kubernetes through hack/tools/kube
#   bin/k8s/etcd             Debian's etcd-server (symlink) or built through hack/tools/etcd
#   bin/gofakes3             hack/tools/gofakes3: the S3-compatible server the blob tests start
#                            (gofakes3 on a bbolt file behind Signature V4 checks; ~40 s cold)
#
# and, with the argument "cluster", what the local cluster (hack/cluster) runs:
#
#   bin/k8s/{kube-controller-manager,kube-scheduler,kubelet,kube-proxy,kubectl}
#                            the same wrapper module, the same version
#   bin/coredns              hack/tools/coredns: CoreDNS with kube-dns's plugins only
#   bin/traefik              hack/tools/traefik: Traefik v3.5.4
#
# Nothing here downloads a prebuilt binary: everything comes from the Go module
# proxy or Debian. A tool is only (re)built when its binary is missing, so a
# second run takes well under a second (a binary of another version than the
# pinned one is rebuilt too). Set FORCE=1 to rebuild everything.
#
# Usage: hack/install-tools.sh [helm] [kube-apiserver] [etcd] [crds] [gofakes3] [cluster]
#        (default: all but cluster)
#
# Point controller-runtime's envtest at the result with
#   export KUBEBUILDER_ASSETS="$PWD/bin/k8s"
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.22.0}"
# The Kubernetes minor version helm assumes offline (helm template, helm lint).
# helm's own Makefile sets it from its client-go version (v0.37 for helm v3.22);
# a plain go install would leave it at v1.20 and fail the chart's kubeVersion.
HELM_K8S_MINOR="${HELM_K8S_MINOR:-37}"
# Must match the k8s.io/kubernetes version required by hack/tools/kube/go.mod.
KUBE_VERSION="v1.37.2"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${ROOT}/bin"
K8S_BIN="${BIN}/k8s"
FORCE="${FORCE:-0}"

mkdir -p "${BIN}" "${K8S_BIN}"

log() { printf 'install-tools: %s\n' "$*" >&2; }

# need reports whether the binary at $1 has to be (re)built.
need() { [[ "${FORCE}" == "1" || ! -x "$1" ]]; }

# timed runs "$@" and logs how long it took, so a cold build's cost is visible in CI logs.
timed() {
	local start end
	start=$(date +%s)
	"$@"
	end=$(date +%s)
	log "  took $((end - start))s"
}

install_helm() {
	if need "${BIN}/helm" || [[ "$("${BIN}/helm" version --short 2>/dev/null)" != "${HELM_VERSION}"* ]]; then
		log "go install helm.sh/helm/v3/cmd/helm@${HELM_VERSION} -> bin/helm"
		local pkg=helm.sh/helm/v3
		local ldflags="-s -w -X ${pkg}/internal/version.version=${HELM_VERSION}"
		ldflags+=" -X ${pkg}/pkg/chartutil.k8sVersionMajor=1 -X ${pkg}/pkg/chartutil.k8sVersionMinor=${HELM_K8S_MINOR}"
		ldflags+=" -X ${pkg}/pkg/lint/rules.k8sVersionMajor=1 -X ${pkg}/pkg/lint/rules.k8sVersionMinor=${HELM_K8S_MINOR}"
		timed env GOBIN="${BIN}" GOFLAGS=-mod=mod go install -ldflags "${ldflags}" "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}"
	else
		log "bin/helm present ($("${BIN}/helm" version --short 2>/dev/null || echo unknown))"
	fi
}

# The Kubernetes binaries cannot be go install'ed: k8s.io/kubernetes's go.mod
# replaces its staging modules with local paths. hack/tools/kube requires it
# and maps every k8s.io/<staging> module to the matching v0.Y.Z release instead.
# build_kube builds the named commands (kube-apiserver, kubelet, ...) that are
# missing or of another version, in one go build so that shared packages
# compile once.
build_kube() {
	local todo=() cmd
	for cmd in "$@"; do
		local version_args=(--version)
		[[ "${cmd}" != kubectl ]] || version_args=(version --client)
		if need "${K8S_BIN}/${cmd}" || [[ "$("${K8S_BIN}/${cmd}" "${version_args[@]}" 2>/dev/null)" != *"${KUBE_VERSION}"* ]]; then
			todo+=("k8s.io/kubernetes/cmd/${cmd}")
		fi
	done
	if [[ ${#todo[@]} -eq 0 ]]; then
		log "bin/k8s has $* (${KUBE_VERSION})"
		return
	fi
	log "building ${todo[*]##*/} ${KUBE_VERSION} from hack/tools/kube (kube-apiserver alone: ~4-15 min on a cold build cache)"
	# The version stamps kubernetes' own build sets (hack/lib/version.sh), so
	# /version reports v1.37.2 rather than v0.0.0-master.
	local v="${KUBE_VERSION#v}" ldflags="-s -w"
	local pkg
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ldflags+=" -X ${pkg}.gitVersion=${KUBE_VERSION} -X ${pkg}.gitMajor=${v%%.*}"
		ldflags+=" -X ${pkg}.gitMinor=$(cut -d. -f2 <<<"${v}") -X ${pkg}.gitTreeState=clean"
	done
	local out="${K8S_BIN}/"
	[[ ${#todo[@]} -gt 1 ]] || out="${K8S_BIN}/${todo[0]##*/}"
	timed bash -c "cd '${ROOT}/hack/tools/kube' && GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags='${ldflags}' -o '${out}' ${todo[*]}"
}

# build_module builds the main package $2 of the wrapper module hack/tools/$1
# into bin/$1, unless it is there.
build_module() {
	local name="$1" pkg="$2"
	if need "${BIN}/${name}"; then
		log "building ${name} from hack/tools/${name}"
		timed bash -c "cd '${ROOT}/hack/tools/${name}' && GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o '${BIN}/${name}' ${pkg}"
	else
		log "bin/${name} present"
	fi
}

# etcd: Debian's etcd-server (3.4) is accepted by kube-apiserver and costs no build.
# Without it, build etcd from go.etcd.io/etcd/server/v3 through hack/tools/etcd.
install_etcd() {
	if [[ "${FORCE}" != "1" && -x "${K8S_BIN}/etcd" ]]; then
		log "bin/k8s/etcd present"
		return
	fi
	if [[ -x /usr/bin/etcd ]]; then
		log "linking Debian's /usr/bin/etcd -> bin/k8s/etcd"
		ln -sf /usr/bin/etcd "${K8S_BIN}/etcd"
		return
	fi
	log "no /usr/bin/etcd (apt-get install etcd-server); building etcd from hack/tools/etcd"
	timed bash -c "cd '${ROOT}/hack/tools/etcd' && GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o '${K8S_BIN}/etcd' go.etcd.io/etcd/server/v3"
}

# The CRDs test/chart installs into the test API server come from the Go modules
# that publish them (HTTPRoute: gateway-api's experimental channel; ServiceMonitor:
# prometheus-operator). Downloading them here makes the test run need no network.
# The versions must match test/chart/apiserver_test.go.
install_crds() {
	local tmp
	tmp="$(mktemp -d)"
	(cd "${tmp}" && GOWORK=off GOFLAGS=-mod=mod go mod download \
		sigs.k8s.io/gateway-api@v1.6.3 \
		github.com/prometheus-operator/prometheus-operator@v0.85.0)
	rmdir "${tmp}"
	log "CRD modules in the module cache (gateway-api v1.6.3, prometheus-operator v0.85.0)"
}

# With arguments, install only the named tools: helm, kube-apiserver, etcd,
# crds, or cluster (what hack/cluster/cluster.sh runs: every Kubernetes
# component, kubectl, CoreDNS and Traefik).
if [[ $# -eq 0 ]]; then
	set -- helm kube-apiserver etcd crds gofakes3
fi
for tool in "$@"; do
	case "${tool}" in
	helm) install_helm ;;
	kube-apiserver) build_kube kube-apiserver ;;
	etcd) install_etcd ;;
	crds) install_crds ;;
	# The S3 server of the blob store's tests. SeaweedFS (weed server -s3)
	# was measured first: 11.4 CPU-minutes cold, and weed/server links every
	# filer store, so no trimmed main helps; see hack/tools/gofakes3/main.go.
	gofakes3)
		# Its sources live here, so it is also rebuilt when they changed.
		if [[ -x "${BIN}/gofakes3" && -n "$(find "${ROOT}/hack/tools/gofakes3" -newer "${BIN}/gofakes3" -type f)" ]]; then
			rm "${BIN}/gofakes3"
		fi
		build_module gofakes3 .
		;;
	cluster)
		build_kube kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl
		# CoreDNS with only the plugins kube-dns needs (see its main.go).
		build_module coredns .
		# Traefik v3.5.4: the newest Traefik whose dependencies the module proxy serves.
		build_module traefik github.com/traefik/traefik/v3/cmd/traefik
		;;
	*)
		log "unknown tool ${tool} (want helm, kube-apiserver, etcd, crds, gofakes3 or cluster)"
		exit 2
		;;
	esac
done
log "done: KUBEBUILDER_ASSETS=${K8S_BIN} EASEL_HELM=${BIN}/helm EASEL_GOFAKES3=${BIN}/gofakes3"
