#!/usr/bin/env bash
# images.sh builds container images on a machine that can pull none.
#
#   hack/cluster/images.sh bases     golang:1.26 and gcr.io/distroless/static-debian12:nonroot,
#                                    the base images the repository's Dockerfile names
#   hack/cluster/images.sh easel     docker build of the repository's Dockerfile -> $IMAGE
#                                    (default easel:dev), loaded into the local cluster if it runs
#   hack/cluster/images.sh cluster   the images the local cluster itself runs (pause, CoreDNS,
#                                    Traefik, Redis), loaded into its containerd
#
# Every image is made from this machine's own files: Debian's packages, the
# installed Go toolchain and binaries built from pinned Go modules. A base
# image that already exists locally (pulled, on a machine that can) is left
# alone, so on such a machine `easel` builds exactly what users build.
#
# dockerd is started if none answers (Debian's docker.io; its log goes to
# bin/docker/dockerd.log).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN="${ROOT}/bin"
IMAGE="${IMAGE:-easel:dev}"
VERSION="${VERSION:-dev}"
# Debian's client (20.10) has BuildKit built in; a newer client without the
# buildx plugin has not, and its legacy builder cannot run RUN --mount.
DOCKER="${DOCKER:-$(command -v /usr/bin/docker || command -v docker || true)}"
GO_VERSION="$(go env GOVERSION)"
GOROOT="$(go env GOROOT)"

# TMP holds the root filesystems being imported.
TMP="$(mktemp -d)"
trap 'rm -rf "${TMP}"' EXIT

log() { printf 'images: %s\n' "$*" >&2; }
die() {
	printf 'images: %s\n' "$*" >&2
	exit 1
}

# docker_up makes sure a Docker engine answers, starting Debian's dockerd if
# none runs.
docker_up() {
	[[ -n "${DOCKER}" ]] || die "no docker client: apt-get install docker.io"
	if "${DOCKER}" info >/dev/null 2>&1; then
		return 0
	fi
	command -v dockerd >/dev/null || die "no Docker engine answers and dockerd is not installed: apt-get install docker.io"
	[[ "${EUID}" -eq 0 ]] || die "no Docker engine answers; start one (sudo dockerd) or run as root"
	mkdir -p "${BIN}/docker"
	log "starting dockerd (log: bin/docker/dockerd.log)"
	setsid dockerd >"${BIN}/docker/dockerd.log" 2>&1 </dev/null &
	echo $! >"${BIN}/docker/dockerd.pid"
	local i
	for ((i = 0; i < 120; i++)); do
		"${DOCKER}" info >/dev/null 2>&1 && return 0
		sleep 0.5
	done
	die "dockerd did not answer within 60s; see bin/docker/dockerd.log"
}

has_image() { "${DOCKER}" image inspect "$1" >/dev/null 2>&1; }

# import_rootfs ROOTFS_TAR_ARGS... -- TAG CHANGES...: docker import of a tar
# stream made by `tar -c` with the given arguments.
import_rootfs() {
	local args=()
	while [[ "$1" != "--" ]]; do
		args+=("$1")
		shift
	done
	shift
	local tag="$1" changes=()
	shift
	local c
	for c in "$@"; do
		changes+=(--change "${c}")
	done
	tar --numeric-owner -c "${args[@]}" | "${DOCKER}" import "${changes[@]}" - "${tag}" >/dev/null
	log "built ${tag}"
}

# base_files writes what every image here has: users, groups, a writable
# /tmp, CA certificates and time zones (as distroless/static has).
base_files() {
	local fs="$1"
	mkdir -p "${fs}/etc/ssl/certs" "${fs}/tmp" "${fs}/home/nonroot" "${fs}/root"
	chmod 1777 "${fs}/tmp"
	chown 65532:65532 "${fs}/home/nonroot"
	chmod 700 "${fs}/root"
	cat >"${fs}/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
redis:x:999:999:redis:/data:/sbin/nologin
EOF
	cat >"${fs}/etc/group" <<'EOF'
root:x:0:
nobody:x:65534:
nonroot:x:65532:
redis:x:999:
EOF
	cp /etc/ssl/certs/ca-certificates.crt "${fs}/etc/ssl/certs/"
	echo 'hosts: files dns' >"${fs}/etc/nsswitch.conf"
}

# bases builds the two base images the Dockerfile names, unless they exist.
bases() {
	docker_up
	local tmp="${TMP}"
	if ! has_image golang:1.26; then
		# The build stage needs a shell (RUN) and Go; busybox gives the one, the
		# installed toolchain the other.
		local fs="${tmp}/golang"
		base_files "${fs}"
		mkdir -p "${fs}/bin" "${fs}/go" "${fs}/usr/local"
		cp /bin/busybox "${fs}/bin/busybox"
		local applet
		for applet in $("${fs}/bin/busybox" --list); do
			[[ -e "${fs}/bin/${applet}" ]] || ln -s busybox "${fs}/bin/${applet}"
		done
		log "building golang:1.26 from ${GOROOT} (${GO_VERSION}) and busybox"
		import_rootfs -C "${fs}" . -C "$(dirname "${GOROOT}")" --transform "s,^$(basename "${GOROOT}"),usr/local/go," "$(basename "${GOROOT}")" \
			-C / usr/share/zoneinfo -- golang:1.26 \
			"ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
			"ENV GOPATH=/go" "ENV GOLANG_VERSION=${GO_VERSION#go}" "ENV GOTOOLCHAIN=local" "WORKDIR /go"
	fi
	if ! has_image gcr.io/distroless/static-debian12:nonroot; then
		local fs="${tmp}/static"
		base_files "${fs}"
		echo 'PRETTY_NAME="Distroless-equivalent static (built locally by easel hack/cluster/images.sh)"' >"${fs}/etc/os-release"
		log "building gcr.io/distroless/static-debian12:nonroot (CA certificates, tzdata, nonroot 65532, no shell)"
		import_rootfs -C "${fs}" . -C / usr/share/zoneinfo -- gcr.io/distroless/static-debian12:nonroot \
			"USER 65532:65532" "WORKDIR /home/nonroot"
	fi
}

# easel builds the repository's Dockerfile and loads the image into the local
# cluster when one runs.
easel() {
	bases
	log "docker build -t ${IMAGE} (the repository's Dockerfile)"
	local t0=${SECONDS}
	DOCKER_BUILDKIT=1 "${DOCKER}" build --build-arg "VERSION=${VERSION}" -t "${IMAGE}" "${ROOT}"
	log "built ${IMAGE} in $((SECONDS - t0))s"
	if [[ "$(bash "${ROOT}/hack/cluster/cluster.sh" state 2>/dev/null)" == up ]]; then
		load "${IMAGE}"
	fi
}

# load copies docker images into the local cluster's containerd.
load() {
	local tar="${TMP}/images.tar"
	"${DOCKER}" save -o "${tar}" "$@"
	bash "${ROOT}/hack/cluster/cluster.sh" import "${tar}"
	rm -f "${tar}"
	log "loaded $* into the local cluster"
}

# Images the cluster runs. Their tags say where they come from.
PAUSE_IMAGE=easel.local/pause:1
COREDNS_IMAGE=easel.local/coredns:v1.15.0
TRAEFIK_IMAGE=easel.local/traefik:v3.5.4
REDIS_IMAGE="easel.local/redis:$(dpkg-query -W -f '${Version}' redis-server 2>/dev/null | sed 's/^[0-9]*://; s/[^A-Za-z0-9_.-]/_/g')"

cluster() {
	docker_up
	local tmp="${TMP}"
	local built=()
	if ! has_image "${PAUSE_IMAGE}"; then
		mkdir -p "${tmp}/pause"
		(cd "${ROOT}" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "${tmp}/pause/pause" ./hack/cluster/pause)
		import_rootfs -C "${tmp}/pause" pause -- "${PAUSE_IMAGE}" 'ENTRYPOINT ["/pause"]' "USER 65535:65535"
	fi
	built+=("${PAUSE_IMAGE}")
	local name bin
	for name in coredns traefik; do
		bin="${BIN}/${name}"
		[[ -x "${bin}" ]] || die "missing ${bin}: run hack/install-tools.sh cluster"
		local tag="${COREDNS_IMAGE}"
		[[ "${name}" == traefik ]] && tag="${TRAEFIK_IMAGE}"
		if ! has_image "${tag}"; then
			local fs="${tmp}/${name}"
			base_files "${fs}"
			cp "${bin}" "${fs}/${name}"
			import_rootfs -C "${fs}" . -- "${tag}" "ENTRYPOINT [\"/${name}\"]" "USER 65532:65532"
		fi
		built+=("${tag}")
	done
	if ! has_image "${REDIS_IMAGE}"; then
		# Debian's redis-server and redis-cli with the libraries they link, and
		# busybox for the chart's `sh -c` and its probes' grep.
		[[ -x /usr/bin/redis-server && -x /usr/bin/redis-cli ]] || die "missing redis-server: apt-get install redis-server redis-tools"
		local fs="${tmp}/redis" lib
		base_files "${fs}"
		mkdir -p "${fs}/bin" "${fs}/usr/bin" "${fs}/data"
		chown 999:999 "${fs}/data"
		cp /bin/busybox "${fs}/bin/busybox"
		for name in sh grep cat; do ln -s busybox "${fs}/bin/${name}"; done
		cp -L /usr/bin/redis-server /usr/bin/redis-cli "${fs}/usr/bin/"
		for lib in $(ldd /usr/bin/redis-server /usr/bin/redis-cli | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// && $1 !~ /:$/ {print $1}' | sort -u); do
			mkdir -p "${fs}$(dirname "${lib}")"
			cp -L "${lib}" "${fs}${lib}"
		done
		import_rootfs -C "${fs}" . -- "${REDIS_IMAGE}" "ENV PATH=/usr/bin:/bin" "USER 999:999" "WORKDIR /data" 'CMD ["redis-server"]'
	fi
	built+=("${REDIS_IMAGE}")
	if [[ "$(bash "${ROOT}/hack/cluster/cluster.sh" state 2>/dev/null)" == up ]]; then
		load "${built[@]}"
	else
		log "the local cluster is not up: built ${built[*]} without loading them"
	fi
}

case "${1:-}" in
bases) bases ;;
easel) easel ;;
cluster) cluster ;;
redis-image) echo "${REDIS_IMAGE}" ;;
*)
	echo "usage: $0 bases|easel|cluster|redis-image" >&2
	exit 2
	;;
esac
